"""kafka-python checks every record's CRC-32C: in C with the crc32c dependency, else in Python."""

from __future__ import annotations

import logging

import pytest
from kafka.record import util as kafka_record

from monitor.settings import KafkaSettings
from monitor.sources.kafka import KafkaSource, c_crc32c


def test_the_installed_kafka_python_checks_crcs_in_c() -> None:
    assert c_crc32c()
    record = b"story monitor" * 250  # the C and the Python implementation agree
    assert kafka_record.calc_crc32c(record) == kafka_record.crc32c_py(record)


@pytest.mark.parametrize("c", [True, False])
def test_a_source_without_the_c_crc_says_so_once_at_start(
    c: bool, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    if not c:
        monkeypatch.setattr(kafka_record, "crc32c_c", None)
    caplog.set_level(logging.WARNING, logger="monitor.kafka")
    source = KafkaSource(KafkaSettings(bootstrap_servers="127.0.0.1:1"))
    try:
        warned = [r for r in caplog.records if r.getMessage() == "kafka_crc32c_missing"]
        assert len(warned) == (0 if c else 1)
        if warned:
            assert "pip install 'kafka-python[crc32c]'" in warned[0].detail  # type: ignore[attr-defined]
    finally:
        source.close()
