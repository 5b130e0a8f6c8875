"""The detect role's run loop: matches in, each claimed partition's detection, one transaction out.

Per batch: every record goes to the ``Part`` of its partition; each part counts its feed and
detects, one publication time at a time, then is ticked at its watermark (as one process
does after every batch); then the state of every part the batch touched, its alerts and
its matches-topic offsets are written in one transaction, and only then are the offsets
committed to Kafka (for lag monitoring). A part is claimed with a session advisory lock
named after its partition (``matches_source.py``), so no two workers write one partition.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from monitor.decode import DecodeError
from monitor.detect.engine import Engine
from monitor.errors import Interrupted
from monitor.loopturn import LoopTurns
from monitor.model import Alert
from monitor.obs.metrics import Metrics
from monitor.pipeline import PreparedRules, count_signals, route_counted
from monitor.roles.matches_source import MatchesSource
from monitor.roles.parts import Part, load_part, scope_of
from monitor.roles.records import FeedRecord, MatchRecord
from monitor.route import Router
from monitor.rules.schema import RuleSet
from monitor.runner import LoopSettings
from monitor.sources.base import Record
from monitor.state.db import Db
from monitor.state.store import Store

log = logging.getLogger("monitor.roles.detect")
Offsets = dict[tuple[str, int], int]
STATUS_INTERVAL_S = 60.0
GATHER_S = 0.5  # at most this long collecting one batch
GATHER_POLLS = 8  # a batch holds up to this many polls' worth (kafka.max_poll_records each)


class DetectRunner(LoopTurns):
    """Drives the matches topic through the claimed partitions into the shared store."""

    def __init__(self, source: MatchesSource, db: Db, ruleset: RuleSet, metrics: Metrics,
                 make_engine: Callable[[RuleSet], Engine], loop: LoopSettings,
                 on_commit: Callable[[int], None] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(metrics)
        self.source = source
        self.db = db
        self.make_engine = make_engine
        self.loop = loop
        self.on_commit = on_commit or (lambda queued: None)
        self.clock = clock
        self.parts: dict[int, Part] = {}
        self.use_rules(PreparedRules.of(ruleset))
        self._last_tick = time.monotonic()
        self._last_status = time.monotonic()
        self._counted: dict[int, Counter[str]] = {}
        self._waiting: set[int] = set()  # partitions whose lock another worker still holds

    # --- rules, shared with the services --------------------------------------------------
    def use_rules(self, prepared: PreparedRules) -> set[str]:
        self.ruleset = prepared.ruleset
        self.router: Router = prepared.router
        self.metrics.rules_loaded.set(len(self.ruleset.enabled))
        dropped: set[str] = set()
        for part in self.parts.values():
            dropped |= part.engine.use_rules(self.ruleset)
        return dropped

    # --- the loop ----------------------------------------------------------------------------
    def run(self) -> None:
        while not self.stop_event.is_set():
            self._turn()
            records = self._gather()
            if records:
                self.process(records)
            if time.monotonic() - self._last_tick >= self.loop.tick_interval_s:
                self.tick(self.clock())
            if time.monotonic() - self._last_status >= STATUS_INTERVAL_S:
                self._last_status = time.monotonic()
                log.info("detect_status", extra=self.source.status())
        self._release(set(self.parts))

    def _gather(self) -> list[Record]:
        """A batch of up to ``GATHER_POLLS`` polls of ``max_records``: matches are cheap and each
        batch is a transaction, so what is already there (within ``GATHER_S``) joins it."""
        most = self.loop.max_records * GATHER_POLLS
        records = self.source.poll(most, self.loop.poll_timeout_s)
        until = time.monotonic() + GATHER_S
        while records and len(records) < most and time.monotonic() < until:
            more = self.source.poll(most - len(records), 0.0)
            if not more:
                break
            records += more
        return records

    def _turn(self) -> None:
        self.turn()
        self._release(self.source.take_revoked())
        self._claim()

    def _release(self, partitions: set[int]) -> None:
        for p in sorted(partitions):
            if self.parts.pop(p, None) is not None:
                self.db.unlock(self._lock(p))
                log.info("partition_released", extra={"partition": p})

    def _claim(self) -> None:
        unclaimed = self.source.unclaimed()
        if not unclaimed:
            return
        partitions = self.source.partitions()
        for p in unclaimed:
            if p in self.parts or not self.db.try_lock(self._lock(p)):
                if p not in self._waiting:
                    log.info("partition_lock_waiting", extra={"partition": p})
                    self._waiting.add(p)
                continue
            self._waiting.discard(p)
            store = Store(self.db, scope=scope_of(self.source.name, p))
            part = load_part(p, store, self.ruleset, partitions, self.make_engine, self.loop.live_lag_s)
            offset = store.offsets(self.source.name).get(p)
            if not self.source.claim(p, offset):
                self.db.unlock(self._lock(p))
                continue
            self.parts[p] = part
            log.info("partition_claimed", extra={"partition": p, "offset": offset,
                                                  "stories": len(part.engine.states)})

    def _lock(self, partition: int) -> str:
        return f"detect:{scope_of(self.source.name, partition)}"

    # --- a batch ------------------------------------------------------------------------------
    def process(self, records: list[Record]) -> int:
        started = time.perf_counter()
        per: dict[int, list[FeedRecord | MatchRecord]] = {}
        offsets: Offsets = {}
        for r in records:
            if r.partition not in self.parts:  # claimed by nobody here: its owner reads it
                self.metrics.dropped.labels(reason="partition_not_claimed").inc()
                continue
            key = (r.source, r.partition)
            offsets[key] = max(offsets.get(key, 0), r.offset + 1)
            if isinstance(r.decoded, DecodeError):
                self.metrics.decode_errors.labels(reason=r.decoded.reason).inc()
                self.source.reject(r, r.decoded)
                continue
            per.setdefault(r.partition, []).append(r.decoded)
        alerts: dict[int, list[Alert]] = {}
        for p, found in per.items():
            part = self.parts[p]
            raised = part.detect(found, self.metrics)
            raised += part.engine.tick(part.engine.watermark)
            part.live.observe(self.clock(), part.engine.watermark)
            alerts[p] = self._route(part, raised)
        queued = self._commit(self.source.committable(offsets), alerts, {p for _, p in offsets})
        self.metrics.batch_seconds.observe(time.perf_counter() - started)
        return queued

    def _commit(self, offsets: Offsets, alerts: dict[int, list[Alert]], touched: set[int]) -> int:
        try:
            self.source.flush()
        except Interrupted:  # stopping: nothing of this batch is stored, it is read again
            log.warning("batch_not_committed", extra={"why": "dead letters unacked"})
            return 0
        queued = 0
        with self.db.write_transaction():
            for p in sorted(touched):
                part = self.parts[p]
                mine = {k: o for k, o in offsets.items() if k[1] == p}
                queued += part.write(mine, part.engine.take_delta(), alerts.get(p, []))
        self.source.commit(offsets)
        self.metrics.stories.set(sum(len(part.engine.states) for part in self.parts.values()))
        if queued:
            self.on_commit(queued)
        return queued

    def tick(self, now: float) -> int:
        """A wall-clock tick: each live, caught-up part moves on in event time (``LiveClock``)."""
        self._last_tick = time.monotonic()
        alerts: dict[int, list[Alert]] = {}
        caught_up = self.source.caught_up
        for p, part in self.parts.items():
            target = part.live.now(now, caught_up=caught_up, watermark=part.engine.watermark)
            if target is not None:
                part.engine.advance(target)
                alerts[p] = self._route(part, part.engine.tick(target))
        return self._commit({}, alerts, set(alerts)) if alerts else 0

    def evict(self) -> int:
        """Forget expired window state of every part (the maintenance job)."""
        gone = 0
        rules = {r.id: r for r in self.ruleset.enabled}
        cutoffs: dict[str, float] = {}
        for part in self.parts.values():
            engine = part.engine
            if engine.watermark == float("-inf"):
                continue
            gone += engine.evict(engine.watermark)
            for rule in (rules[rid] for rid in {k[0] for k in engine.states} if rid in rules):
                cutoffs[rule.id] = engine.watermark - rule.longest_window.total_seconds() - engine.grace_s
        self._commit({}, {}, set(self.parts))
        Store(self.db).evict_events(cutoffs)
        return gone

    def _route(self, part: Part, alerts: list[Alert]) -> list[Alert]:
        """As ``Pipeline.route``: count what the detectors raised and suppressed, keep what is
        neither silenced nor repeated. The feed's notices are told by partition 0's owner only
        (every partition counts the same feed)."""
        counted = self._counted.setdefault(part.partition, Counter())
        count_signals(self.metrics, part.engine.counters, counted)
        # the engine's drops, no reason part
        for head in ("late", "duplicate", "syndicated_copy", "lone_held"):
            new = part.engine.counters[head] - counted[head]
            if new > 0:
                counted[head] += new
                self.metrics.dropped.labels(reason=head).inc(new)
        notices, part.engine.notices = part.engine.notices, []
        for n in notices if part.partition == 0 else ():
            self.metrics.feed_notices.labels(kind=n.kind).inc()
            self.metrics.feed_degraded.set(1 if n.kind == "degraded" else 0)
            log.warning(f"feed_{n.kind}", extra={"at": n.at, "count": n.count,
                                                 "expected": round(n.expected, 1)})
        return route_counted(self.metrics, self.router, alerts)

    def status(self) -> dict[str, Any]:
        return {"partitions": sorted(self.parts), "waiting_for_lock": sorted(self._waiting)}
