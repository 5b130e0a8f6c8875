"""Scheduled jobs: APScheduler's thread only hands work to the main loop, which owns the state.

Ticks are not among them: the loop ticks itself every ``detect.tick_interval_s`` on the
wall clock (``Runner.run``), the one path by which time passes without articles.

Each job's work runs on the loop thread between batches (``Runner.call_soon``), so no
lock guards the windows, the rules or the SQLite connection. A job whose previous hand-off
has not run yet is skipped, so a stalled loop does not pile up work.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler

from monitor.obs.metrics import rss_bytes
from monitor.service.digest import Digest
from monitor.service.ports import JobsHost
from monitor.service.probes import SendCounts
from monitor.service.reload import Reloader

log = logging.getLogger("monitor.service.scheduler")
FLUSH_INTERVAL_S = 15.0  # the sender wakes itself; this nudge is a safety net
FLUSH_DRAIN_S = 5.0
DIGEST_POLL_S = 60.0


@dataclass(frozen=True)
class Job:
    """A name, how often, and the work to run on the loop thread."""

    name: str
    interval_s: float
    work: Callable[[], object]
    on_loop: bool = True  # False: work that touches no loop state runs on the scheduler's thread


class Handoff:
    """What APScheduler calls: queue the job's work on the loop unless it is still waiting."""

    def __init__(self, job: Job, call_soon: Callable[[Callable[[], None]], None]) -> None:
        self.job = job
        self.call_soon = call_soon
        self._waiting = threading.Event()

    def __call__(self) -> None:
        if self._waiting.is_set():
            return
        self._waiting.set()
        self.call_soon(self.run)

    def run(self) -> None:
        self._waiting.clear()
        try:
            self.job.work()
        except Exception:  # one failing job must not stop the loop or the other jobs
            log.exception("job_failed", extra={"job": self.job.name})


def _at_once(work: Callable[[], None]) -> None:
    work()


class Scheduler:
    """APScheduler's background thread, firing each job's hand-off at its interval."""

    def __init__(self, jobs: list[Job], call_soon: Callable[[Callable[[], None]], None]) -> None:
        self.jobs = jobs
        self.call_soon = call_soon
        self._scheduler: BackgroundScheduler | None = None

    def start(self) -> None:
        scheduler = BackgroundScheduler(
            timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
        )
        for job in self.jobs:
            run = Handoff(job, self.call_soon) if job.on_loop else Handoff(job, _at_once)
            scheduler.add_job(run, "interval", seconds=job.interval_s, id=job.name, name=job.name)
        scheduler.start()
        self._scheduler = scheduler
        log.info("scheduler_started", extra={"jobs": {j.name: j.interval_s for j in self.jobs}})

    def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None


class Maintenance:
    """Evicts expired window state, checkpoints the WAL, and now and then vacuums the file."""

    def __init__(self, app: JobsHost, vacuum_interval_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.app = app
        self.vacuum_interval_s = vacuum_interval_s
        self.clock = clock
        self._last_vacuum = clock()

    def run(self) -> dict[str, int]:
        """Event time decides what expired: the newest article seen, not the wall clock."""
        engine = self.app.pipeline.engine
        done = {"evicted": 0, "deleted": 0, "pruned": 0, "vacuumed": 0}
        if math.isfinite(engine.watermark):
            done["evicted"] = engine.evict(engine.watermark)
            cutoffs = {r.id: engine.watermark - r.longest_window.total_seconds() - engine.grace_s
                       for r in self.app.pipeline.ruleset.enabled}
            self.app.store.commit({}, engine.take_delta(), [])
            done["deleted"] = self.app.store.evict_events(cutoffs)
        retention = self.app.settings.state.outbox_retention_s
        done["pruned"] = self.app.store.prune_outbox(time.time() - retention)
        vacuum = self.clock() - self._last_vacuum >= self.vacuum_interval_s
        if self.app.store.maintain(vacuum) and vacuum:  # deferred when another connection is busy
            self._last_vacuum = self.clock()
            done["vacuumed"] = 1
        log.info("maintenance", extra=done)
        return done


class Jobs:
    """The work behind each scheduled job; every method runs on the loop thread."""

    def __init__(self, app: JobsHost, reloader: Reloader, sends: SendCounts,
                 digest: Digest | None = None) -> None:
        self.app = app
        self.reloader = reloader
        self.sends = sends
        self.digest = digest
        self.maintenance = Maintenance(app, app.settings.state.vacuum_interval_s)

    def schedule(self) -> list[Job]:
        s = self.app.settings
        jobs = [
            Job("rules_reload", s.rules.reload_interval_s, self.reloader.poll, on_loop=False),
            Job("outbox_flush", FLUSH_INTERVAL_S, self.flush),
            Job("maintenance", s.state.maintenance_interval_s, self.maintenance.run),
            Job("heartbeat", s.log.heartbeat_interval_s, self.heartbeat),
        ]
        if self.digest is not None:
            jobs.append(Job("digest", DIGEST_POLL_S, self.digest.run))
        return jobs

    def flush(self) -> None:
        if self.app.background_sender:
            self.app.sender.notify()
        else:
            self.app.sender.drain(FLUSH_DRAIN_S)

    def heartbeat(self) -> None:
        engine = self.app.pipeline.engine
        waiting = self.app.store.outbox_pending()
        self.app.metrics.outbox_waiting.set(waiting)
        self.sends.sync()
        watermark = (datetime.fromtimestamp(engine.watermark, UTC).isoformat()
                     if math.isfinite(engine.watermark) else None)
        log.info("heartbeat", extra={
            "rules": len(self.app.pipeline.ruleset.enabled), "stories": len(engine.states),
            "outbox_waiting": waiting, "watermark": watermark, "rss_mb": round(rss_bytes() / 2**20, 1),
        })
