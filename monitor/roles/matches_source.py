"""The matches topic as the detect role's source: partitions claimed with their state, records
lined up in event time by the articles partition they came from.

Several annotate workers write into each matches partition, each at its own pace in event
time; lined up by matches partition alone, a worker running ahead would make another's
matches late. So each record waits in the lane of (matches partition, articles
partition), and leaves in event-time order across all lanes, as one process reads the
articles topic (``sources/alignment.py``). Feed records reach every partition, so every
lane hears of every article time. A lane with nothing buffered is left out (idle) only when
nothing more can come into it: its matches partition is at its log end *and* the annotate
group has committed its articles partition to the end (annotate commits only what the
broker holds), so a lane whose annotate worker died is waited for, not skipped.

Assignment (Kafka's "offsets stored outside Kafka"): an assigned partition is paused until
the run loop claims it (an advisory lock on the partition, so its last owner has committed
its last batch, then its state and offset read from the store); then it is sought to that
offset and resumed. A revoked partition is handed back to the run loop, which drops its
state and the lock after the batch in hand is committed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Collection, Mapping
from contextlib import suppress
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, OffsetAndMetadata, TopicPartition
from kafka.errors import KafkaError

from monitor.decode import DecodeError
from monitor.obs.metrics import Metrics
from monitor.roles.records import Decoded, decode
from monitor.settings import KafkaSettings
from monitor.sources.alignment import Aligner, AlignSettings
from monitor.sources.base import Record
from monitor.sources.kafka import KafkaSource, _timeout

log = logging.getLogger("monitor.roles.matches")
LANES = 1 << 16  # lane = matches partition * LANES + articles partition
BROKEN = LANES - 1  # the lane of a record that is not a matches record (it leaves at once)


def lane_of(record: Record) -> int:
    decoded = record.decoded
    origin = getattr(decoded, "origin", None)
    return record.partition * LANES + (BROKEN if origin is None else origin.partition)


def decode_record(record: Record) -> Decoded | DecodeError:
    return decode(record.value)


class MatchesSource(KafkaSource):
    """Consumer group ``<group_id>-detect`` on the matches topic; see the module."""

    partition_fetch_bytes = 8 * 1_048_576  # small records, many: a backlog in few fetches

    def __init__(self, settings: KafkaSettings, articles: KafkaSettings,
                 metrics: Metrics | None = None) -> None:
        super().__init__(settings, metrics, decoder=decode_record, state_dir=None)
        self.articles = articles  # the articles topic and the annotate group: what may still come
        self.lanes = Aligner(AlignSettings(idle_timeout_s=settings.idle_timeout_s,
                                           max_records=1 << 30, max_bytes=1 << 40), lane=lane_of)
        self._guard = threading.Lock()  # the rebalance listener runs on kafka-python's IO thread
        self._unclaimed: set[int] = set()
        self._revoked: set[int] = set()
        self.claimed: set[int] = set()
        self._admin: Any = None
        self._released: dict[int, int] = {}  # partition -> next offset after the newest released

    # --- claims, between the listener and the run loop ----------------------------------
    def on_assigned(self, assigned: list[TopicPartition]) -> None:
        log.info("partitions_assigned", extra={"partitions": sorted(tp.partition for tp in assigned)})
        assert self._consumer is not None
        self._consumer.pause(*assigned)
        with self._guard:
            self._unclaimed |= {tp.partition for tp in assigned}

    def on_revoked(self, revoked: list[TopicPartition]) -> None:
        log.info("partitions_revoked", extra={"partitions": sorted(tp.partition for tp in revoked)})
        gone = {tp.partition for tp in revoked}
        with self._guard:
            self._unclaimed -= gone
            self._revoked |= gone & self.claimed
            self.claimed -= gone
        self._drop_lanes(gone)

    def unclaimed(self) -> list[int]:
        with self._guard:
            return sorted(self._unclaimed)

    def take_revoked(self) -> set[int]:
        with self._guard:
            gone, self._revoked = self._revoked, set()
            return gone

    def claim(self, partition: int, offset: int | None) -> bool:
        """Seek a paused, assigned partition to the stored offset and start reading it."""
        consumer = self._consumer
        with self._guard:
            if consumer is None or partition not in self._unclaimed:
                return False  # revoked meanwhile
            self._unclaimed.discard(partition)
            self.claimed.add(partition)
        tp = TopicPartition(self.settings.topic, partition)
        self._drop_lanes({partition})
        self._released[partition] = offset or 0
        if offset is not None:
            consumer.seek(tp, offset)
            self.stored[partition] = offset
        else:  # nothing of it applied yet: from its beginning, whatever was fetched meanwhile
            consumer.seek_to_beginning(tp)
        self.lanes.assign((partition * LANES + ap for ap in self._article_partitions()), time.monotonic())
        with suppress(KafkaError):
            consumer.resume(tp)
        return True

    def committable(self, offsets: dict[tuple[str, int], int]) -> dict[tuple[str, int], int]:
        """The offsets to store for a released batch: a partition's lanes leave in event time, not
        in offset order, so a partition is done only up to the first record still waiting in any
        of its lanes (what a restart reads again past that, the detect role counts once)."""
        waiting: dict[int, int] = {}
        for lane_id, lane in self.lanes.lanes.items():
            if lane.queue:
                p, first = lane_id // LANES, lane.queue[0][1].offset
                waiting[p] = min(first, waiting.get(p, first))
        out = {}
        for (topic, p), offset in offsets.items():
            high = self._released[p] = max(offset, self._released.get(p, 0))  # released past it before
            out[(topic, p)] = min(high, waiting.get(p, high))
        return out

    def commit(self, offsets: Mapping[tuple[str, int], int]) -> None:
        """The store holds the offsets, committed with their batch; Kafka's copy is for lag
        monitors alone, so it is sent without waiting for the broker's answer."""
        for (_, partition), offset in offsets.items():
            self.stored[partition] = offset
        if self._consumer is None or not offsets:
            return
        try:
            self._consumer.commit_async({TopicPartition(topic, p): OffsetAndMetadata(o, "", -1)
                                         for (topic, p), o in offsets.items()}, callback=_committed)
        except KafkaError as exc:  # the next batch's commit carries them
            log.warning("kafka_commit_failed", extra={"detail": str(exc)[:200]})

    def status(self) -> dict[str, object]:
        """For the heartbeat: what each claimed partition has waiting, and which are paused."""
        consumer = self._consumer
        waiting: dict[int, int] = {}
        for lane_id, lane in self.lanes.lanes.items():
            waiting[lane_id // LANES] = waiting.get(lane_id // LANES, 0) + len(lane.queue)
        idle = sorted(lane_id for lane_id, lane in self.lanes.lanes.items() if lane.idle)
        paused = sorted(tp.partition for tp in consumer.paused()) if consumer is not None else []
        return {"claimed": sorted(self.claimed), "buffered": waiting, "paused": paused, "idle_lanes": idle,
                "stored": dict(self.stored)}

    def partitions(self) -> int:
        """How many partitions the matches topic has (rules are keyed to them)."""
        consumer = self._consumer
        found = consumer.partitions_for_topic(self.settings.topic) if consumer is not None else None
        return len(found) if found else 0

    def _article_partitions(self) -> list[int]:
        consumer = self._consumer
        found = consumer.partitions_for_topic(self.articles.topic) if consumer is not None else None
        return sorted(found or ())

    def _drop_lanes(self, partitions: Collection[int]) -> None:
        self.lanes.revoke([lane for lane in list(self.lanes.lanes) if lane // LANES in partitions])

    # --- what the base source does per partition, per lane here -----------------------
    def _fetch(self, consumer: KafkaConsumer, wait_s: float, timeout_s: float) -> bool:
        if not super()._fetch(consumer, wait_s, timeout_s):
            return False
        for lane in [lane for lane in self.lanes.lanes if lane // LANES not in self.claimed]:
            self.lanes.revoke([lane])  # fetched before the pause took: read again once claimed
        return True

    def _check_idle(self, consumer: KafkaConsumer) -> None:
        silent = self.lanes.blocking(time.monotonic())
        if not silent:
            return
        try:
            # first what annotate committed, then the log ends: a commit comes after its
            # records are in the log, so an end read later holds them
            annotated = self._annotated(consumer)
            tps = [TopicPartition(self.settings.topic, p) for p in {lane // LANES for lane in silent}]
            ends = consumer.end_offsets(tps, **_timeout(consumer.end_offsets))
            at_end = {tp.partition for tp in tps
                      if (consumer.position(tp, **_timeout(consumer.position)) or 0) >= ends[tp]}
        except (KafkaError, KeyError, OSError) as exc:  # the broker cannot say: ask again later
            log.debug("kafka_end_offsets_failed", extra={"detail": str(exc)[:200]})
            at_end, annotated = set(), set()
        done = {lane for lane in silent
                if lane // LANES in at_end and (lane % LANES in annotated or lane % LANES == BROKEN)}
        self.lanes.checked(done, set(silent) - done, time.monotonic())

    def _annotated(self, consumer: KafkaConsumer) -> set[int]:
        """Articles partitions that the annotate group has committed to their log end."""
        if self._admin is None:
            self._admin = KafkaAdminClient(bootstrap_servers=self.settings.bootstrap_servers.split(","),
                                           client_id=f"{self.settings.client_id}-detect-admin")
        group = f"{self.articles.group_id}-annotate"
        if hasattr(self._admin, "list_group_offsets"):  # kafka-python 3
            committed = self._admin.list_group_offsets(group).get(group, {})
        else:  # kafka-python 2
            committed = self._admin.list_consumer_group_offsets(group)
        tps = [TopicPartition(self.articles.topic, ap) for ap in self._article_partitions()]
        ends = consumer.end_offsets(tps, **_timeout(consumer.end_offsets))
        done = set()
        for tp in tps:
            meta = committed.get(tp)
            if (meta.offset if meta is not None and meta.offset >= 0 else 0) >= ends[tp]:
                done.add(tp.partition)
        return done

    def _pace(self, consumer: KafkaConsumer) -> None:
        """Nothing paused for running ahead: a lane's partition may hold the very records another
        lane of it waits for (the claimed partitions are resumed by ``claim``)."""

    def _report_watermarks(self) -> None:
        """Not per partition here: the lanes are (matches partition, articles partition) pairs."""

    def _close_clients(self) -> None:
        super()._close_clients()
        admin, self._admin = self._admin, None
        with suppress(Exception):
            if admin is not None:
                admin.close()
        with self._guard:  # a new consumer is assigned afresh
            self._revoked |= self.claimed
            self.claimed, self._unclaimed = set(), set()


def _committed(offsets: Any, response: Any) -> None:
    if isinstance(response, Exception):  # the next batch's commit carries them
        log.warning("kafka_commit_failed", extra={"detail": str(response)[:200]})
