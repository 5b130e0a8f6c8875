"""Kafka as a source: a consumer group, offsets owned by the state store, a dead-letter topic.

The dead-letter side (topic check, cut letters, waiting for acknowledgements) lives in
``monitor.sources.dlq``.

Offsets live in SQLite with the state they produced (the source of truth); they are also
committed to Kafka after each batch, for lag monitoring and tooling. On assignment each
partition is moved to the offset the state store holds, so state and input never disagree.

Records leave in event-time order across the assigned partitions (``sources/alignment.py``):
each is decoded as it is fetched, waits in its partition's lane, and partitions that run
ahead are paused. The consumer joins as a static member (``kafka.group_instance_id``), so a
restarted daemon gets its partitions back at once instead of after the session timeout.
"""

from __future__ import annotations

import inspect
import logging
import socket
import time
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kafka import ConsumerRebalanceListener, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from kafka.record import util as kafka_record
from kafka.structs import OffsetAndMetadata

from monitor.decode import DecodeError
from monitor.obs.metrics import Metrics
from monitor.settings import KafkaSettings
from monitor.sources.alignment import Aligner, AlignSettings
from monitor.sources.base import Decoder, Record
from monitor.sources.dlq import HEADER_PREFIX, DeadLetters, letter_for
from monitor.sources.membership import instance_id, membership

__all__ = ["HEADER_PREFIX", "KafkaSource"]

log = logging.getLogger("monitor.kafka")
RETRY_FIRST_S = 0.5
BOOTSTRAP_TIMEOUT_MS = 5_000  # kafka-python 3 blocks in the constructor until bootstrapped
CHECK_TIMEOUT_MS = 5_000  # asking the broker for log ends, when a partition may be idle


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
    partition_fetch_bytes = 1_048_576  # at least this much of a partition a fetch (max.partition.fetch.bytes)

    def __init__(
        self, settings: KafkaSettings, metrics: Metrics | None = None,
        sleep: Callable[[float], None] = time.sleep, *,
        decoder: Callable[[Record], Any] | None = None, state_dir: Path | None = None,
    ) -> None:
        self.settings = settings
        self.name = settings.topic
        self.metrics = metrics
        self.sleep = sleep
        self.decoder: Callable[[Record], Any] = decoder or Decoder(settings.max_message_bytes)
        self.membership = membership(instance_id(settings, state_dir))  # static, where it can be
        self.lanes = Aligner(AlignSettings(idle_timeout_s=settings.idle_timeout_s,
                                           max_records=max(512, 2 * settings.max_poll_records),
                                           max_bytes=max(16 * 1_048_576, 4 * settings.max_message_bytes)))
        self.stored: dict[int, int] = {}  # partition -> next offset, from the state store
        self._unread: dict[int, int] = {}  # partition -> first offset dropped from its lane, not stored
        self.connected: bool | None = None
        self.dead_letters = DeadLetters(settings, metrics, sleep)
        self._consumer: KafkaConsumer | None = None
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
            self.dead_letters.connect(self.settings.bootstrap_servers.split(","), self.settings.client_id,
                                      _bootstrap_timeout(KafkaConsumer))
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
            max_partition_fetch_bytes=max(self.partition_fetch_bytes, s.max_message_bytes * 2),
            fetch_max_bytes=max(52_428_800, s.max_message_bytes * 4),
            reconnect_backoff_max_ms=int(s.reconnect_backoff_max_s * 1000),
            **_bootstrap_timeout(KafkaConsumer), **self.membership,
        )
        consumer.subscribe([s.topic], listener=_Rebalance(self))
        return consumer

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
        """Partitions assigned, the broker reachable, dead letters accepted (for /readyz)."""
        return (bool(self.connected) and self._consumer is not None and bool(self._consumer.assignment())
                and self.dead_letters.failing is None)

    @property
    def problem(self) -> str | None:
        """Why the source is not ready, in a few words (for /readyz)."""
        if self.dead_letters.failing is not None:
            return (f"dead-letter topic {self.dead_letters.topic} refuses records "
                    f"({self.dead_letters.failing}): {self.dead_letters.waiting} wait, offsets held")
        if not self.connected:
            return "kafka unreachable"
        return None if self.ready else "no partitions assigned"

    @property
    def alive_at(self) -> float:
        """When a wait for dead-letter acknowledgements last looked up (it is alive, not stuck)."""
        return self.dead_letters.alive_at

    def interrupt(self) -> None:
        """Stop waiting for the dead-letter topic: the batch in hand is left uncommitted."""
        self.dead_letters.stopping.set()

    def seek(self, offsets: Mapping[int, int]) -> None:
        """Remember where the state store stands; applied as partitions are assigned."""
        self.stored = dict(offsets)

    @property
    def caught_up(self) -> bool:
        """Connected, nothing buffered, and every assigned partition done to its last known end."""
        consumer = self._consumer
        if consumer is None or not self.connected or self.lanes.buffered:
            return False
        assignment = consumer.assignment()
        for tp in assignment:
            high = consumer.highwater(tp)
            if high is None or self.stored.get(tp.partition, 0) < high:
                return False
        return bool(assignment)

    def poll(self, max_records: int, timeout_s: float) -> list[Record]:
        """Up to ``max_records`` records, in event-time order across the assigned partitions."""
        consumer = self._connect(timeout_s)
        if consumer is None:
            return []
        deadline = time.monotonic() + timeout_s
        while True:
            now = time.monotonic()
            wait = 0.0 if self.lanes.ready() else min(deadline - now, self.lanes.due_in(now))
            if not self._fetch(consumer, max(0.0, wait), timeout_s):
                return []
            self._check_idle(consumer)
            out = self.lanes.release(max_records, time.monotonic())
            self._pace(consumer)
            if out or time.monotonic() >= deadline:
                self._update_lag()
                return out

    def _fetch(self, consumer: KafkaConsumer, wait_s: float, timeout_s: float) -> bool:
        """Poll kafka-python once; every record is decoded here, for its event time."""
        try:
            batches = consumer.poll(timeout_ms=int(wait_s * 1000), max_records=self.settings.max_poll_records)
        except KafkaError as exc:
            self._set_connected(False, str(exc))
            self.sleep(min(1.0, timeout_s))
            return False
        self._set_connected(bool(batches) or _reachable(consumer), "broker connection lost")
        fetched = []
        for tp, records in batches.items():
            for r in records:
                stamp = datetime.fromtimestamp(r.timestamp / 1000, UTC) if (r.timestamp or 0) > 0 else None
                raw = Record(tp.topic, tp.partition, r.offset, r.value, stamp, r.key, tuple(r.headers or ()))
                fetched.append(replace(raw, decoded=self.decoder(raw)))
        self.lanes.add(fetched, time.monotonic())
        return True

    def _check_idle(self, consumer: KafkaConsumer) -> None:
        """Ask the broker whether the empty partitions that hold the others back are at their end."""
        silent = self.lanes.blocking(time.monotonic())
        if not silent:
            return
        tps = [TopicPartition(self.settings.topic, p) for p in silent]
        try:
            ends = consumer.end_offsets(tps, **_timeout(consumer.end_offsets))
            done = {tp.partition for tp in tps
                    if (consumer.position(tp, **_timeout(consumer.position)) or 0) >= ends[tp]}
        except (KafkaError, KeyError) as exc:  # the broker cannot say: keep waiting, ask again later
            log.debug("kafka_end_offsets_failed", extra={"detail": str(exc)[:200]})
            done = set()
        self.lanes.checked(done, set(silent) - done, time.monotonic())

    def _pace(self, consumer: KafkaConsumer) -> None:
        """Pause the partitions that ran ahead in event time; resume those that drained."""
        full = {TopicPartition(self.settings.topic, p) for p in self.lanes.full()}
        paused = set(consumer.paused())
        with suppress(KafkaError):  # a partition revoked in between
            if full - paused:
                consumer.pause(*(full - paused))
            if paused - full:
                consumer.resume(*(paused - full))

    def reject(self, record: Record, error: DecodeError) -> None:
        """Send the original key, bytes and headers to the dead-letter topic, the reason in headers."""
        self.dead_letters.add(letter_for(record, error))

    def flush(self) -> None:
        """Wait until the broker holds every dead letter of the batch: before its offsets are stored.

        Retries while the topic refuses (no offset passes a record that is not there); raises
        ``monitor.sources.dlq.Interrupted`` when asked to stop first."""
        self.dead_letters.settle()

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
        self._close_clients()

    def _close_clients(self) -> None:
        consumer = self._consumer
        self._consumer = None
        self.lanes.reset()  # a new consumer starts again from the stored offsets
        with suppress(Exception):  # closing a client that never connected
            if consumer is not None:
                consumer.close(timeout_ms=5000)
        self.dead_letters.close()

    # --- rebalances -----------------------------------------------------------------------
    def on_revoked(self, revoked: list[TopicPartition]) -> None:
        """Offsets are committed, to the state store and to Kafka, after every batch, so nothing is
        left to commit here (kafka-python 3 runs listeners on its IO thread, where a blocking
        commit raises); what the lanes buffered is read again from the stored offsets."""
        log.info("partitions_revoked", extra={"partitions": sorted(tp.partition for tp in revoked)})
        dropped = self.lanes.revoke(tp.partition for tp in revoked)
        self._unread.update({p: o for p, o in dropped.items() if p not in self.stored})

    def on_assigned(self, assigned: list[TopicPartition]) -> None:
        log.info("partitions_assigned", extra={"partitions": sorted(tp.partition for tp in assigned)})
        assert self._consumer is not None
        self.lanes.assign((tp.partition for tp in assigned), time.monotonic())
        for tp in assigned:  # a partition kept over a rebalance keeps its position: move it back
            offset = self.stored.get(tp.partition, self._unread.pop(tp.partition, None))
            if offset is not None:
                self._consumer.seek(tp, offset)

    def _update_lag(self) -> None:
        if self.metrics is None or self._consumer is None or time.monotonic() - self._last_lag < 5:
            return
        self._last_lag = time.monotonic()
        for tp in self._consumer.assignment():
            high = self._consumer.highwater(tp)
            position: Any = self.stored.get(tp.partition)
            if high is not None and position is not None:
                self.metrics.consumer_lag.labels(partition=str(tp.partition)).set(max(0, high - position))
        self._report_watermarks()

    def _report_watermarks(self) -> None:
        assert self.metrics is not None
        for partition, watermark in self.lanes.watermarks().items():
            self.metrics.partition_watermark.labels(partition=str(partition)).set(watermark)


def _timeout(method: Callable[..., Any]) -> dict[str, int]:
    """A bounded wait for the blocking consumer calls, where kafka-python takes one."""
    return {"timeout_ms": CHECK_TIMEOUT_MS} if "timeout_ms" in inspect.signature(method).parameters else {}


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
