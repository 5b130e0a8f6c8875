"""The run loop: poll, decode, pipeline, commit state with offsets, then wake the sender.

One thread owns the state. Scheduled jobs and signal handlers only hand work to it
through ``call_soon``; it runs that work between batches.

Time: after every batch the detectors are ticked at the watermark (event time), for every
source, as a backtest does; a wall-clock tick moves event time only for a live feed that
is caught up (``detect/watermark.py``), so a backlog, a pause, an outage or a restart
changes no alert.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from monitor.decode import DecodeError, Intake
from monitor.detect.watermark import LiveClock
from monitor.errors import Interrupted
from monitor.loopturn import LoopTurns
from monitor.model import Alert, Article
from monitor.obs.metrics import Metrics
from monitor.pipeline import Pipeline
from monitor.sources.base import Decoder, Record, Source
from monitor.state.store import Store

log = logging.getLogger("monitor.runner")


@dataclass(frozen=True)
class LoopSettings:
    max_records: int = 256
    max_batch_s: float = 2.0  # aim: a batch takes at most this long, so alerts wait at most this long
    poll_timeout_s: float = 1.0
    tick_interval_s: float = 30.0
    max_bytes: int = 1_048_576
    future_tolerance_s: float = 300.0  # wall-clock sources refuse articles dated further ahead
    live_lag_s: float = 3600.0  # see detect/watermark.py


class BatchSizer:
    """How many records to take next so that a batch takes about ``max_batch_s``.

    A batch's alerts are sent once it is committed, so an alert waits for every article
    polled with the one that completes it. Full batches of 256 long articles through the
    model take 12 s; 256 headlines, or articles the prefilter skips, under one. The
    poll size follows the seconds per record of recent batches, between 1 and
    ``max_records``: backlog drains in batches of about ``max_batch_s``. The price is the
    per-batch work (the SQLite commit rewrites the stories of every rule the batch
    touched, 15 ms of JSON for 10 busy clustered rules, and the offset commit): 2-3% of
    end-to-end throughput at 2 s against batches of 256 (docs/profile.md).
    """

    FIRST = 32  # before any batch was timed

    def __init__(self, max_records: int, max_batch_s: float) -> None:
        self.max_records = max_records
        self.max_batch_s = max_batch_s
        self.per_record_s: float | None = None

    def observe(self, records: int, seconds: float) -> None:
        if records <= 0:
            return
        per = seconds / records
        self.per_record_s = per if self.per_record_s is None else 0.5 * (self.per_record_s + per)

    def next(self) -> int:
        if self.per_record_s is None:
            return min(self.max_records, self.FIRST)
        if self.per_record_s <= 0:
            return self.max_records
        return max(1, min(self.max_records, int(self.max_batch_s / self.per_record_s)))


class Runner(LoopTurns):
    """Drives a source through the pipeline into the store, committing after each batch."""

    def __init__(
        self, source: Source, pipeline: Pipeline, store: Store, metrics: Metrics,
        settings: LoopSettings | None = None, on_commit: Callable[[int], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(metrics)
        self.source = source
        self.pipeline = pipeline
        self.store = store
        self.settings = s = settings or LoopSettings()
        self.on_commit = on_commit or (lambda queued: None)
        self.clock = clock
        wall = source.clock == "wall"
        self.decoder = Decoder(s.max_bytes, s.future_tolerance_s if wall else None, clock)
        self.live = LiveClock(s.live_lag_s)
        self.sizer = BatchSizer(self.settings.max_records, self.settings.max_batch_s)
        self.intake = Intake(self.settings.max_bytes)
        self._last_tick = time.monotonic()

    def restore(self) -> None:
        """Load windows and detector state, then resume the source where the state left it."""
        fingerprints = {r.id: r.state_fingerprint for r in self.pipeline.ruleset.enabled}
        restored = self.store.restore(fingerprints)
        engine = self.pipeline.engine
        engine.restore(restored.events, restored.states, restored.stories, restored.watermark,
                       restored.feed, restored.moments)
        self.live.observe(self.clock(), engine.watermark)  # as if the newest article came now
        self.source.seek(self.store.offsets(self.source.name))

    def run(self) -> None:
        """Until stopped or the source is exhausted."""
        while not self.stop_event.is_set():
            self.turn()
            records = self.source.poll(self._poll_size(), self.settings.poll_timeout_s)
            if records:
                self.process(records)
            elif self.source.exhausted:
                break
            due = time.monotonic() - self._last_tick >= self.settings.tick_interval_s
            if self.source.clock == "wall" and due:
                self.tick(self.clock())

    def _poll_size(self) -> int:
        """Sized by time on the wall clock; on the articles' clock (a file, a backtest)
        always ``max_records``, so that what comes out never depends on the machine."""
        return self.sizer.next() if self.source.clock == "wall" else self.settings.max_records

    def process(self, records: list[Record]) -> int:
        """One batch: everything it causes is durable before its offsets count as done."""
        started = time.perf_counter()
        articles: list[Article] = []
        came_from: dict[int, Record] = {}
        for record in records:
            result = self.intake.check(self.decoder(record))
            if isinstance(result, DecodeError):
                self.metrics.decode_errors.labels(reason=result.reason).inc()
                self.source.reject(record, result)
            else:
                articles.append(result)
                came_from[id(result)] = record

        def reject(article: Article, why: str) -> None:
            self.metrics.decode_errors.labels(reason="annotate_failed").inc()
            self.source.reject(came_from[id(article)], DecodeError("annotate_failed", why))

        alerts = self.pipeline.run(articles, reject)
        if articles:  # event time moved: what it brings, as a backtest sees it
            engine = self.pipeline.engine
            alerts += self.pipeline.tick(engine.watermark)
            self.live.observe(self.clock(), engine.watermark)
        queued = self.commit(records, alerts)
        seconds = time.perf_counter() - started
        self.metrics.batch_seconds.observe(seconds)
        self.sizer.observe(len(records), seconds)
        return queued

    def commit(self, records: list[Record], alerts: list[Alert]) -> int:
        offsets: dict[tuple[str, int], int] = {}
        for r in records:
            key = (r.source, r.partition)
            offsets[key] = max(offsets.get(key, 0), r.offset + 1)
        try:
            self.source.flush()
        except Interrupted:  # stopping: nothing of this batch is stored, it is read again on restart
            log.warning("batch_not_committed", extra={"records": len(records), "why": "dead letters unacked"})
            return 0
        queued = self.store.commit(offsets, self.pipeline.engine.take_delta(), alerts)
        self.source.commit(offsets)
        self.metrics.stories.set(len(self.pipeline.engine.states))
        if queued:
            self.on_commit(queued)
        return queued

    def flush(self) -> int:
        """Release the alerts held for their story-moment, committed like a batch."""
        queued = self.store.commit({}, self.pipeline.engine.take_delta(), self.pipeline.flush())
        if queued:
            self.on_commit(queued)
        return queued

    def tick(self, now: float) -> int:
        """A wall-clock tick at ``now``: for a live feed, caught up and quiet, event time moves
        on with the wall clock (silence, resolving windows), committed like a batch; for
        anything else it leaves time alone (``detect/watermark.py``)."""
        self._last_tick = time.monotonic()
        engine = self.pipeline.engine
        target = self.live.now(now, caught_up=self.source.caught_up, watermark=engine.watermark)
        if target is None:
            return 0
        engine.advance(target)
        alerts = self.pipeline.tick(target)
        queued = self.store.commit({}, engine.take_delta(), alerts)
        if queued:
            self.on_commit(queued)
        return queued
