"""The development broker of scripts/kafka: a real Kafka that kafka-python can use, whose
topics, records and committed group offsets survive a stop/start on the same address."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka_broker import SCRIPT, KafkaBroker

pytestmark = pytest.mark.kafka

TOPIC = "broker-selftest"
GROUP = "broker-selftest-group"
PARTITIONS = 3


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    kafka = KafkaBroker(tmp_path_factory.mktemp("kafka-state"))
    kafka.start()  # a broker that cannot start fails here, with its log in the message
    try:
        yield kafka
    finally:
        kafka.destroy()


def consumer(broker: KafkaBroker, **configs: object) -> KafkaConsumer:
    return KafkaConsumer(
        bootstrap_servers=broker.bootstrap,
        group_id=GROUP,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        client_id="broker-selftest-consumer",
        **configs,
    )


def drain(c: KafkaConsumer, want: int, timeout: float = 60.0) -> list[tuple[int, int, bytes]]:
    """Poll until ``want`` records arrived; (partition, offset, value) sorted."""
    got: list[tuple[int, int, bytes]] = []
    deadline = time.monotonic() + timeout
    while len(got) < want and time.monotonic() < deadline:
        for tp, records in c.poll(timeout_ms=500).items():
            got.extend((tp.partition, r.offset, r.value) for r in records)
    # One more short poll: nothing beyond what was asked for may show up.
    for tp, records in c.poll(timeout_ms=500).items():
        got.extend((tp.partition, r.offset, r.value) for r in records)
    return sorted(got)


def committed(c: KafkaConsumer) -> dict[int, int | None]:
    return {p: c.committed(TopicPartition(TOPIC, p)) for p in range(PARTITIONS)}


def test_start_is_idempotent_and_status_reports_the_broker(broker: KafkaBroker) -> None:
    first = broker.bootstrap
    assert first.startswith("127.0.0.1:")
    assert broker.start() == first  # already running: same broker, same address
    assert broker.is_running()
    state = Path(broker.state_dir)
    assert (state / "pid").is_file() and (state / "server.properties").is_file()
    assert SCRIPT.is_file()


def test_offsets_and_records_survive_a_broker_restart(broker: KafkaBroker) -> None:
    broker.create_topic(TOPIC, partitions=PARTITIONS)

    producer = KafkaProducer(
        bootstrap_servers=broker.bootstrap,
        acks="all",
        retries=20,
        retry_backoff_ms=200,
        client_id="broker-selftest-producer",
    )
    try:
        for i in range(30):
            producer.send(TOPIC, key=b"k%d" % i, value=b"m%d" % i, partition=i % PARTITIONS)
        producer.flush(timeout=60)

        c = consumer(broker)
        c.subscribe([TOPIC])
        try:
            records = drain(c, 30)
            assert len(records) == 30, records
            assert sorted(v for _, _, v in records) == sorted(b"m%d" % i for i in range(30))
            assert {p for p, _, _ in records} == set(range(PARTITIONS))
            c.commit()
            assert committed(c) == dict.fromkeys(range(PARTITIONS), 10)
        finally:
            c.close()

        bootstrap = broker.bootstrap
        broker.stop()
        assert not broker.is_running()
        assert broker.start() == bootstrap  # same port, same data

        # The producer from before the restart reconnects to the same address.
        for i in range(30, 36):
            producer.send(TOPIC, key=b"k%d" % i, value=b"m%d" % i, partition=i % PARTITIONS)
        producer.flush(timeout=60)
    finally:
        producer.close(timeout=10)

    c = consumer(broker)
    try:
        # Committed before the restart: still there.
        assert committed(c) == dict.fromkeys(range(PARTITIONS), 10), broker.log_tail()
        c.subscribe([TOPIC])
        # Resumes from the committed offsets: only the six new records, none of the old.
        records = drain(c, 6)
        assert [(p, o) for p, o, _ in records] == [
            (p, o) for p in range(PARTITIONS) for o in (10, 11)
        ], records
        assert sorted(v for _, _, v in records) == sorted(b"m%d" % i for i in range(30, 36))
        c.commit()
        assert committed(c) == dict.fromkeys(range(PARTITIONS), 12)
    finally:
        c.close()


def test_cluster_ids_never_start_with_a_dash() -> None:
    # One random id in 64 began with "-", and the storage tool's parser then read it as an
    # option: "--cluster-id: expected one argument", and the broker did not start (a CI run
    # lost five tests to it). 2,000 draws hit that case with certainty on the old code.
    import subprocess

    script = (
        'source <(sed -n "/^new_cluster_id()/,/^}/p" "$1")\n'
        "for _ in $(seq 2000); do new_cluster_id; done\n"
    )
    out = subprocess.run(
        ["bash", "-c", script, "bash", str(SCRIPT)], capture_output=True, text=True, check=True
    ).stdout.split()
    assert len(out) == 2000
    assert all(len(i) == 22 and not i.startswith("-") for i in out), [i for i in out if i.startswith("-")][:3]
    assert all(set(i) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") for i in out)
    assert len(set(out)) == 2000
