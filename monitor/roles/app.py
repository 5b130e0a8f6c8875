"""Wiring for one stage of a scaled deployment: ``run --role annotate`` or ``run --role detect``.

``--role all`` is the ``App`` of ``monitor/app.py``, unchanged. A role app has what the
probes, the rule reloader and the scheduler read of an app (``settings``, ``source``,
``runner``, ``pipeline.ruleset``, ``metrics``, ``sender``, ``build_rules``/``apply_rules``).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections import Counter
from contextlib import suppress
from types import FrameType
from typing import Any

from monitor.app import UNPACED, App, build_annotator, build_engine, loop_settings, make_notifier, refuse
from monitor.notify.base import Notifier
from monitor.notify.outbox import Outbox
from monitor.notify.sender import Pacing, Sender
from monitor.obs.metrics import Metrics
from monitor.pipeline import PreparedRules
from monitor.roles.annotate import AnnotateRunner, MatchesProducer
from monitor.roles.detect import DetectRunner
from monitor.roles.matches_source import MatchesSource
from monitor.rules.schema import RuleSet
from monitor.settings import KafkaSettings, Settings
from monitor.sources.base import Decoder
from monitor.sources.kafka import KafkaSource
from monitor.state.db import open_db
from monitor.state.store import Store

log = logging.getLogger("monitor.roles")
ROLES = ("all", "annotate", "detect")


def group_settings(settings: Settings, role: str) -> KafkaSettings:
    """The Kafka side of a role: its topic, its consumer group and its dead-letter topic."""
    k = settings.kafka
    if role == "annotate":
        return k.model_copy(update={"group_id": f"{k.group_id}-annotate"})
    return k.model_copy(update={"topic": k.matches, "group_id": f"{k.group_id}-detect",
                                "dlq_topic": f"{k.matches}.dlq"})


class NoSends:
    """The annotate role sends nothing to Slack: no delivery results to count."""

    results: Counter[str] = Counter()


class RoleApp:
    """One role's source, loop, state and delivery, started and stopped as the daemon's App is."""

    def __init__(self, settings: Settings, ruleset: RuleSet, role: str,
                 notifier: Notifier | None = None) -> None:
        self.settings = settings
        self.role = role
        self.metrics = Metrics()
        self.services: list[Any] = []
        self.state_dir = settings.state.dir
        self.state_dir.mkdir(parents=True, exist_ok=True)  # the HTTP port file, Kafka's member id
        self.background_sender = True
        self.stop_requested_at: float | None = None
        self.sender: Sender | None = None
        self.outbox: Outbox | None = None
        self.store: Store | None = None
        self.producer: MatchesProducer | None = None
        self.runner: AnnotateRunner | DetectRunner
        if role == "annotate":
            self._annotate(ruleset)
        else:
            self._detect(ruleset, notifier or make_notifier(settings))
        self.pipeline = self.runner  # what the probes read: ``ruleset``

    def _annotate(self, ruleset: RuleSet) -> None:
        s = self.settings
        decoder = Decoder(s.kafka.max_message_bytes, s.detect.future_tolerance_s)
        # offsets in Kafka alone; a partition back after a rebalance resumes where this worker
        # left it, or earlier (what it reads twice, the detect role counts once)
        self.source: KafkaSource | MatchesSource = KafkaSource(
            group_settings(s, "annotate"), self.metrics, decoder=decoder, state_dir=s.state.dir)
        self.producer = MatchesProducer(s.kafka, threading.Event())
        self.runner = AnnotateRunner(self.source, build_annotator(s, ruleset), PreparedRules.of(ruleset),
                                     self.producer, self.metrics, loop_settings(s))

    def _detect(self, ruleset: RuleSet, notifier: Notifier) -> None:
        s = self.settings
        where = s.state.location
        db = open_db(where)
        self.store = Store(db)
        self.outbox = Outbox(where)
        pacing = UNPACED if notifier.name == "console" else Pacing(
            rate=s.slack.rate_per_s, burst=s.slack.burst, retry_max_s=s.slack.retry_max_s)
        self.sender = sender = Sender(self.outbox, notifier, pacing,
                                      on_waiting=self.metrics.outbox_waiting.set)
        self.source = MatchesSource(group_settings(s, "detect"), s.kafka, self.metrics)
        self.runner = DetectRunner(self.source, db, ruleset, self.metrics, lambda rs: build_engine(s, rs),
                                   loop_settings(s), on_commit=lambda queued: sender.notify())

    # --- rules (the reloader's entry points) ---------------------------------------------------
    def build_rules(self) -> PreparedRules | list[str]:
        return App.build_rules(self)  # type: ignore[arg-type]  # reads ``settings`` only

    def apply_rules(self, built: PreparedRules | list[str]) -> bool:
        if not isinstance(built, PreparedRules):
            return refuse(self.metrics, built)
        dropped = self.runner.use_rules(built)
        if self.store is not None:
            self.store.remember_rules({r.id: r.state_fingerprint for r in built.ruleset.enabled})
        self.metrics.rules_reloads.inc()
        log.info("rules_reloaded", extra={"rules": len(built.ruleset.enabled), "reset": sorted(dropped)})
        return True

    # --- life --------------------------------------------------------------------------------------
    def run(self) -> int:
        if self.sender is not None:
            self.sender.start()
        for service in self.services:
            service.start()
        try:
            self.runner.run()
        finally:
            for service in reversed(self.services):
                with suppress(Exception):
                    service.stop()
        return 0

    def finish(self, timeout_s: float) -> bool:
        """Deliver what waits, within the drain limit counted from the shutdown request."""
        if self.sender is None:
            return True
        since = 0.0 if self.stop_requested_at is None else time.monotonic() - self.stop_requested_at
        left = max(0.0, timeout_s - since - 2.0)
        self.sender.stop(timeout_s=min(5.0, left))
        return self.sender.drain(left)

    def close(self) -> None:
        close_workers = getattr(getattr(self.runner, "annotator", None), "close", None)
        if close_workers is not None:
            close_workers()
        self.source.close()
        for closing in (self.producer, self.store, self.outbox):
            if closing is not None:
                with suppress(Exception):
                    closing.close()

    def install_signals(self) -> None:
        def stop(signum: int, frame: FrameType | None) -> None:
            log.info("shutdown_requested", extra={"signal": signal.Signals(signum).name, "role": self.role})
            self.stop_requested_at = self.stop_requested_at or time.monotonic()
            self.runner.stop()
            self.source.interrupt()

        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, stop)
            signal.signal(signal.SIGINT, stop)
