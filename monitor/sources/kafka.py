"""Kafka as a source: a consumer group, offsets owned by the state store, a dead-letter topic.

Offsets live in SQLite with the state they produced (the source of truth); they are also
committed to Kafka after each batch, for lag monitoring and tooling. On assignment each
partition is moved to the offset the state store holds, so state and input never disagree.
"""

from __future__ import annotations

import logging
import socket
import time
from collections import Counter
from collections.abc import Callable, Mapping
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any

from kafka import ConsumerRebalanceListener, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError
from kafka.record import util as kafka_record
from kafka.structs import OffsetAndMetadata

from monitor.decode import DecodeError
from monitor.errors import SourceError
from monitor.obs.metrics import Metrics
from monitor.settings import KafkaSettings
from monitor.sources.base import Record

log = logging.getLogger("monitor.kafka")
HEADER_PREFIX = "story-monitor."
RETRY_FIRST_S = 0.5
BOOTSTRAP_TIMEOUT_MS = 5_000  # kafka-python 3 blocks in the constructor until bootstrapped


def c_crc32c() -> bool:
    """Whether kafka-python checks record CRC-32Cs in C (the ``crc32c`` package) or in Python."""
    return kafka_record.crc32c_c is not None


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, source: KafkaSource) -> None:
        self.source = source

    def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        self.source.on_revoked(revoked)

    def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        self.source.on_assigned(assigned)


class KafkaSource:
    """The articles topic in consumer group ``group_id``, auto-commit off, sized for slow NLP."""

    clock = "wall"

    def __init__(
        self, settings: KafkaSettings, metrics: Metrics | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.name = settings.topic
        self.metrics = metrics
        self.sleep = sleep
        self.stored: dict[int, int] = {}  # partition -> next offset, from the state store
        self.connected: bool | None = None
        self.rejected = 0
        self._unflushed: Counter[str] = Counter()  # dead letters by reason, since the last flush
        self._consumer: KafkaConsumer | None = None
        self._producer: KafkaProducer | None = None
        self._last_lag = 0.0
        self._retry_at = 0.0
        self._delay = RETRY_FIRST_S
        if not c_crc32c():
            log.warning("kafka_crc32c_missing", extra={
                "detail": "kafka-python checks record CRCs in pure Python (about 0.5 ms per 3 KB "
                          "record); install the crc32c package (pip install 'kafka-python[crc32c]')"})

    # --- connection, with backoff and one log line per change of state -----------------
    def _connect(self, wait_s: float) -> KafkaConsumer | None:
        """One attempt when due, else None after waiting at most ``wait_s``: the loop stays
        responsive to signals while Kafka is away."""
        if self._consumer is not None:
            return self._consumer
        pause = self._retry_at - time.monotonic()
        if pause > 0:
            self.sleep(min(pause, wait_s))
            return None
        try:
            _probe(self.settings.bootstrap_servers)  # no client (and no IO thread) left behind
            self._consumer = self._new_consumer()
            self._producer = self._new_producer()
        except (KafkaError, OSError) as exc:  # 2.x NoBrokersAvailable, 3.x KafkaTimeoutError
            self._close_clients()
            self._set_connected(False, str(exc))
            self._retry_at = time.monotonic() + self._delay
            self._delay = min(self._delay * 2, self.settings.reconnect_backoff_max_s)
            return None
        self._delay = RETRY_FIRST_S
        return self._consumer

    def _new_consumer(self) -> KafkaConsumer:
        s = self.settings
        consumer = KafkaConsumer(
            bootstrap_servers=s.bootstrap_servers.split(","), group_id=s.group_id, client_id=s.client_id,
            enable_auto_commit=False, auto_offset_reset="earliest",
            max_poll_records=s.max_poll_records, max_poll_interval_ms=s.max_poll_interval_ms,
            session_timeout_ms=s.session_timeout_ms, heartbeat_interval_ms=s.heartbeat_interval_ms,
            max_partition_fetch_bytes=max(1_048_576, s.max_message_bytes * 2),
            fetch_max_bytes=max(52_428_800, s.max_message_bytes * 4),
            reconnect_backoff_max_ms=int(s.reconnect_backoff_max_s * 1000),
            **_bootstrap_timeout(KafkaConsumer),
        )
        consumer.subscribe([s.topic], listener=_Rebalance(self))
        return consumer

    def _new_producer(self) -> KafkaProducer:
        s = self.settings
        return KafkaProducer(
            bootstrap_servers=s.bootstrap_servers.split(","), client_id=f"{s.client_id}-dlq", acks="all",
            linger_ms=5, retries=10, max_request_size=max(1_048_576, s.max_message_bytes * 2),
            **_bootstrap_timeout(KafkaProducer),
        )

    def _set_connected(self, up: bool, detail: str = "") -> None:
        if self.connected is up:
            return
        self.connected = up
        if up:
            log.info("kafka_connected", extra={"bootstrap": self.settings.bootstrap_servers})
        else:
            log.warning("kafka_unreachable", extra={"bootstrap": self.settings.bootstrap_servers,
                                                     "detail": detail[:200]})

    # --- the Source contract ------------------------------------------------------------
    @property
    def exhausted(self) -> bool:
        return False

    @property
    def ready(self) -> bool:
        """Partitions assigned and the broker reachable (for /readyz)."""
        return bool(self.connected) and self._consumer is not None and bool(self._consumer.assignment())

    def seek(self, offsets: Mapping[int, int]) -> None:
        """Remember where the state store stands; applied as partitions are assigned."""
        self.stored = dict(offsets)

    def poll(self, max_records: int, timeout_s: float) -> list[Record]:
        consumer = self._connect(timeout_s)
        if consumer is None:
            return []
        try:
            batches = consumer.poll(timeout_ms=int(timeout_s * 1000), max_records=max_records)
        except KafkaError as exc:
            self._set_connected(False, str(exc))
            self.sleep(min(1.0, timeout_s))
            return []
        self._set_connected(bool(batches) or _reachable(consumer), "broker connection lost")
        out: list[Record] = []
        for tp, records in batches.items():
            for r in records:
                stamp = datetime.fromtimestamp(r.timestamp / 1000, UTC) if (r.timestamp or 0) > 0 else None
                out.append(Record(tp.topic, tp.partition, r.offset, r.value, stamp, r.key,
                                  tuple(r.headers or ())))
        self._update_lag()
        return out

    def reject(self, record: Record, error: DecodeError) -> None:
        """Send the original key and bytes to the dead-letter topic with the reason in headers."""
        assert self._producer is not None
        value = record.value.encode() if isinstance(record.value, str) else record.value
        headers = [
            (HEADER_PREFIX + "reason", error.reason.encode()),
            (HEADER_PREFIX + "detail", error.detail[:1000].encode()),
            (HEADER_PREFIX + "origin.topic", record.source.encode()),
            (HEADER_PREFIX + "origin.partition", str(record.partition).encode()),
            (HEADER_PREFIX + "origin.offset", str(record.offset).encode()),
        ]
        self._producer.send(self.settings.dead_letter_topic, key=record.key, value=value,
                            headers=list(record.headers) + headers)
        self.rejected += 1
        self._unflushed[error.reason] += 1

    def flush(self) -> None:
        """Make dead-letter records durable: called before the batch's offsets are stored."""
        if self._producer is not None:
            try:
                self._producer.flush(timeout=self.settings.drain_timeout_s * 2)
            except KafkaError as exc:  # nothing of this batch is committed: it comes back on restart
                raise SourceError(
                    f"kafka: dead-letter records could not be written to {self.settings.dead_letter_topic}"
                    f" ({type(exc).__name__}); stopping without committing the batch, nothing is lost"
                ) from None
        if self._unflushed:  # one line per batch with the counts, not one per record
            log.warning("records_dead_lettered", extra={"topic": self.settings.dead_letter_topic,
                                                        "count": self._unflushed.total(),
                                                        "reasons": dict(self._unflushed)})
            self._unflushed.clear()

    def commit(self, offsets: Mapping[tuple[str, int], int]) -> None:
        for (_, partition), offset in offsets.items():
            self.stored[partition] = offset
        if self._consumer is None or not offsets:
            return
        try:
            self._consumer.commit({
                TopicPartition(topic, p): OffsetAndMetadata(o, "", -1) for (topic, p), o in offsets.items()
            })
        except KafkaError as exc:  # the state store has them; Kafka's copy catches up next time
            log.warning("kafka_commit_failed", extra={"detail": str(exc)[:200]})

    def close(self) -> None:
        if self._producer is not None:
            self._producer.flush(timeout=10)
        self._close_clients()

    def _close_clients(self) -> None:
        consumer, producer = self._consumer, self._producer
        self._consumer = self._producer = None
        with suppress(Exception):  # closing a client that never connected
            if consumer is not None:
                consumer.close(timeout_ms=5000)
        with suppress(Exception):
            if producer is not None:
                producer.close(timeout=5)

    # --- rebalances -----------------------------------------------------------------------
    def on_revoked(self, revoked: list[TopicPartition]) -> None:
        """State is committed after every batch, so only Kafka's copy of offsets needs a push."""
        log.info("partitions_revoked", extra={"partitions": sorted(tp.partition for tp in revoked)})
        held = self.stored
        self.commit({(tp.topic, tp.partition): held[tp.partition] for tp in revoked if tp.partition in held})

    def on_assigned(self, assigned: list[TopicPartition]) -> None:
        log.info("partitions_assigned", extra={"partitions": sorted(tp.partition for tp in assigned)})
        assert self._consumer is not None
        for tp in assigned:
            if tp.partition in self.stored:
                self._consumer.seek(tp, self.stored[tp.partition])

    def _update_lag(self) -> None:
        if self.metrics is None or self._consumer is None or time.monotonic() - self._last_lag < 5:
            return
        self._last_lag = time.monotonic()
        for tp in self._consumer.assignment():
            high = self._consumer.highwater(tp)
            position: Any = self.stored.get(tp.partition)
            if high is not None and position is not None:
                self.metrics.consumer_lag.labels(partition=str(tp.partition)).set(max(0, high - position))


def _probe(bootstrap_servers: str) -> None:
    """Raise OSError unless some bootstrap server accepts a TCP connection."""
    error: OSError = OSError(f"no bootstrap server in {bootstrap_servers!r}")
    for server in bootstrap_servers.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            socket.create_connection((host.strip("[]") or "localhost", int(port)), timeout=5).close()
            return
        except (OSError, ValueError) as exc:
            error = exc if isinstance(exc, OSError) else OSError(str(exc))
    raise error


def _bootstrap_timeout(client: type) -> dict[str, int]:
    """A bounded first contact where the client has the option (kafka-python 3)."""
    return {"bootstrap_timeout_ms": BOOTSTRAP_TIMEOUT_MS} if "bootstrap_timeout_ms" in getattr(
        client, "DEFAULT_CONFIG", {}) else {}


def _reachable(consumer: KafkaConsumer) -> bool:
    """Whether the client holds a live broker connection. kafka-python 3's
    ``bootstrap_connected()`` only says a bootstrap is in progress, so look at its connections."""
    manager = getattr(getattr(consumer, "_client", None), "_manager", None)
    conns = getattr(manager, "_conns", None)
    if conns is None:  # kafka-python 2.x
        return bool(consumer.bootstrap_connected())
    return any(getattr(c, "connected", False) for c in list(conns.values()))
