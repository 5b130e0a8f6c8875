"""What the HTTP endpoints answer: liveness, readiness and the metrics text, read from the app."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from prometheus_client import generate_latest

from monitor.obs.metrics import Metrics
from monitor.service.ports import DeliveryCounts, ProbeHost


@dataclass(frozen=True)
class Status:
    """A probe's answer: ok or not, a short reason, and details for the JSON body."""

    ok: bool
    reason: str
    details: dict[str, object] = field(default_factory=dict)


class SendCounts:
    """Copies the sender's delivery results into ``story_monitor_slack_sends_total{result}``."""

    def __init__(self, sender: DeliveryCounts, metrics: Metrics) -> None:
        self.sender = sender
        self.metrics = metrics
        self._seen: dict[str, int] = {}
        self._lock = threading.Lock()

    def sync(self) -> None:
        with self._lock:
            now = dict(self.sender.results)  # a copy: the sender thread keeps counting
            for result, count in now.items():
                new = count - self._seen.get(result, 0)
                if new > 0:
                    self.metrics.slack_sends.labels(result=result).inc(new)
            self._seen = now


class AppProbe:
    """Answers /healthz, /readyz and /metrics from a running daemon; safe from any thread."""

    def __init__(self, app: ProbeHost, stall_after_s: float, sends: SendCounts,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.app = app
        self.stall_after_s = stall_after_s
        self.sends = sends
        self.clock = clock

    def live(self) -> Status:
        """The main loop turned recently: it is not stuck."""
        # a loop waiting for the dead-letter topic retries on its own: alive, not ready
        turned = max(self.app.runner.last_turn, getattr(self.app.source, "alive_at", 0.0))
        age = round(self.clock() - turned, 3)
        details: dict[str, object] = {"loop_age_s": age, "stall_after_s": self.stall_after_s}
        if age > self.stall_after_s:
            return Status(False, f"main loop stalled for {age:.0f}s", details)
        return Status(True, "ok", details)

    def ready(self) -> Status:
        """Alive, rules loaded, and the source ready (with Kafka: partitions assigned, broker up)."""
        live = self.live()
        if not live.ok:
            return live
        ruleset = self.app.pipeline.ruleset
        source_ready = getattr(self.app.source, "ready", True)
        if callable(source_ready):
            source_ready = source_ready()
        details = {**live.details, "rules": len(ruleset.enabled), "source_ready": bool(source_ready)}
        feed_status = getattr(self.app.pipeline, "feed_status", None)
        if feed_status is not None:  # whether the input runs at its usual rate: a detail, not a failure
            details["feed"] = feed_status()
        if not ruleset.files:
            return Status(False, "no rules loaded", details)
        if not source_ready:
            return Status(False, getattr(self.app.source, "problem", None) or "source not ready", details)
        return Status(True, "ok", details)

    def metrics(self) -> bytes:
        self.sends.sync()
        return generate_latest(self.app.metrics.registry)
