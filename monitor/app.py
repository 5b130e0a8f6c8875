"""Wiring: the one place where settings, rules, stages, state and delivery are put together."""

from __future__ import annotations

import logging
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import Any

from monitor.annotate.annotator import Annotator
from monitor.annotate.model import load_model
from monitor.annotate.parallel import ParallelAnnotator
from monitor.detect.engine import Delta, Engine
from monitor.detect.feed import FeedParams
from monitor.detect.moments import MomentParams
from monitor.errors import RuleError
from monitor.model import Alert, Annotated, Article
from monitor.notify.base import Notifier
from monitor.notify.console import CollectingNotifier, ConsoleNotifier
from monitor.notify.outbox import Outbox
from monitor.notify.sender import Pacing, Sender
from monitor.obs.metrics import Metrics
from monitor.pipeline import Pipeline, PreparedRules
from monitor.rules import load_rules
from monitor.rules.guard import RuleLimits
from monitor.rules.schema import RuleSet
from monitor.runner import LoopSettings, Runner
from monitor.settings import Settings
from monitor.sources.base import Source
from monitor.sources.jsonl import JsonlSource
from monitor.state.store import Store

log = logging.getLogger("monitor.app")
_MODELS: dict[str, Any] = {}
# Slack's pacing would hold the loop a second per alert; printing or collecting needs none.
LOCAL_NOTIFIERS = frozenset({"console", "collect"})
UNPACED = Pacing(rate=1e9, burst=1_000_000)
CLOSE_RESERVE_S = 2.0  # of kafka.drain_timeout_s, for closing the Kafka clients and the state


def model_for(name: str) -> Any | None:
    """Load each spaCy model once per process."""
    if name not in _MODELS:
        _MODELS[name] = load_model(name)
    return _MODELS[name]


def build_engine(settings: Settings, ruleset: RuleSet) -> Engine:
    """The window-state and detect stages as the settings want them (every role the same)."""
    f = settings.detect.feed
    feed = FeedParams(window=timedelta(seconds=f.window_s), baseline=timedelta(seconds=f.baseline_s),
                      fraction=f.fraction, min_expected=f.min_expected, step_s=f.step_s,
                      bucket_s=min(300.0, f.window_s / 12))
    return Engine(ruleset, grace_s=settings.detect.grace_s, feed=feed,
                  moments=MomentParams(hold_s=settings.detect.merge_hold_s))


def build_pipeline(settings: Settings, ruleset: RuleSet, metrics: Metrics, nlp: Any = "load") -> Pipeline:
    annotator = build_annotator(settings, ruleset, nlp)
    return Pipeline(ruleset, annotator, build_engine(settings, ruleset), metrics)


def build_annotator(settings: Settings, ruleset: RuleSet, nlp: Any = "load") -> Annotator | ParallelAnnotator:
    """The annotate stage: on ``nlp.workers`` processes when more than one and a model is loaded."""
    model = model_for(settings.nlp.model) if nlp == "load" else nlp
    annotator = Annotator(
        ruleset, model, batch_size=settings.nlp.batch_size, batch_chars=settings.nlp.batch_chars,
        prefilter=settings.nlp.prefilter, max_chars=settings.nlp.max_chars,
    )
    if settings.nlp.workers > 1 and nlp == "load" and model is not None:
        return ParallelAnnotator(annotator, settings.nlp, settings.nlp.workers)
    return annotator


def make_notifier(settings: Settings) -> Notifier:
    """Slack when a token or webhook is set, else the console."""
    if settings.slack.configured:
        from monitor.notify.slack import SlackNotifier

        return SlackNotifier.from_settings(settings.slack, settings.state.location)
    return ConsoleNotifier()


def loop_settings(settings: Settings) -> LoopSettings:
    return LoopSettings(
        max_records=settings.kafka.max_poll_records,
        max_batch_s=settings.kafka.max_batch_s,
        tick_interval_s=settings.detect.tick_interval_s,
        max_bytes=settings.kafka.max_message_bytes,
        future_tolerance_s=settings.detect.future_tolerance_s,
        live_lag_s=settings.detect.live_lag_s,
    )


def refuse(metrics: Metrics, errors: list[str]) -> bool:
    """A rule set that did not build: counted, each error logged; the rules in force stay."""
    metrics.rules_reload_failures.inc()
    for line in errors:
        log.error("rules_reload_rejected", extra={"error": line})
    return False


@dataclass
class App:
    """A daemon assembled from settings: start it, run it, stop it."""

    settings: Settings
    ruleset: RuleSet
    source: Source
    notifier: Notifier
    metrics: Metrics = field(default_factory=Metrics)
    nlp: Any = "load"
    state_dir: Path | None = None
    background_sender: bool = True
    clock: Callable[[], float] = time.time  # the wall clock of the run loop

    def __post_init__(self) -> None:
        where = self.state_dir or self.settings.state.location  # a backtest keeps its own
        self.store = Store(where)
        self.outbox = Outbox(where)
        pacing = UNPACED if self.notifier.name in LOCAL_NOTIFIERS else Pacing(
            rate=self.settings.slack.rate_per_s, burst=self.settings.slack.burst,
            retry_max_s=self.settings.slack.retry_max_s)
        self.sender = Sender(self.outbox, self.notifier, pacing, on_waiting=self.metrics.outbox_waiting.set)
        self.pipeline = build_pipeline(self.settings, self.ruleset, self.metrics, self.nlp)
        def on_commit(queued: int) -> None:
            if self.background_sender:
                self.sender.notify()
            else:
                self.sender.drain()

        self.runner = Runner(self.source, self.pipeline, self.store, self.metrics,
                             loop_settings(self.settings), on_commit=on_commit, clock=self.clock)
        self.services: list[Any] = []
        self.stop_requested_at: float | None = None  # monotonic; the drain's limit counts from it

    def reload_rules(self) -> bool:
        """Build and validate the whole new set, then swap; on any error keep the old set."""
        return self.apply_rules(self.build_rules())

    def build_rules(self) -> PreparedRules | list[str]:
        """The new set ready to swap in, or its errors; reads files only, so any thread may build."""
        path = self.settings.rules.path
        try:
            return PreparedRules.of(load_rules([path], RuleLimits.of(self.settings.rules)))
        except RuleError as exc:
            return exc.errors
        except Exception as exc:  # whatever the files did to the loader, they are refused, not fatal
            return [f"{path}:1: cannot load the rules: {type(exc).__name__}: {str(exc)[:300]}"]

    def apply_rules(self, built: PreparedRules | list[str]) -> bool:
        """On the loop thread: swap in a built set (cheap), or count and log why it was refused."""
        if not isinstance(built, PreparedRules):
            return refuse(self.metrics, built)
        ruleset = built.ruleset
        dropped = self.pipeline.use_rules(built)
        self.ruleset = ruleset
        self.store.remember_rules({r.id: r.state_fingerprint for r in ruleset.enabled})
        self.metrics.rules_reloads.inc()
        log.info("rules_reloaded", extra={"rules": len(ruleset.enabled), "reset": sorted(dropped)})
        return True

    def _reload_quietly(self) -> None:
        self.reload_rules()

    def run(self) -> int:
        """Run until the source ends or a signal stops it; returns the exit code."""
        self.runner.restore()
        if self.background_sender:
            self.sender.start()
        for service in self.services:
            service.start()
        try:
            self.runner.run()
            if self.source.clock == "event" and self.source.exhausted:
                self.runner.flush()  # event time stops with the file: nothing more can join a moment
        finally:
            for service in reversed(self.services):
                with suppress(Exception):
                    service.stop()
        return 0

    def finish(self, timeout_s: float | None = None) -> bool:
        """Deliver what is waiting; True when the outbox is empty.

        ``timeout_s`` counts from the shutdown request (SIGTERM), less a reserve for closing
        the clients, so that the whole shutdown keeps ``kafka.drain_timeout_s``."""
        if timeout_s is not None:
            since = 0.0 if self.stop_requested_at is None else time.monotonic() - self.stop_requested_at
            timeout_s = max(0.0, timeout_s - since - CLOSE_RESERVE_S)
        if self.background_sender:
            self.sender.stop(timeout_s=min(5.0, timeout_s if timeout_s is not None else 5.0))
        return self.sender.drain(timeout_s)

    def close(self) -> None:
        close_workers = getattr(self.pipeline.annotator, "close", None)
        if close_workers is not None:
            close_workers()
        self.source.close()
        self.store.close()
        self.outbox.close()

    def install_signals(self) -> None:
        def stop(signum: int, frame: FrameType | None) -> None:
            log.info("shutdown_requested", extra={"signal": signal.Signals(signum).name})
            self.stop_requested_at = self.stop_requested_at or time.monotonic()
            self.runner.stop()
            interrupt = getattr(self.source, "interrupt", None)  # a wait for the dead-letter topic
            if interrupt is not None:
                interrupt()

        def reload(signum: int, frame: FrameType | None) -> None:
            self.runner.call_soon(self._reload_quietly)

        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, stop)
            signal.signal(signal.SIGINT, stop)
            with suppress(AttributeError):
                signal.signal(signal.SIGHUP, reload)


@dataclass(frozen=True)
class Backtest:
    """What a backtest saw: its alerts, and the volumes the report draws them against."""

    alerts: list[Alert]
    feed: list[float]  # published_at (epoch seconds) of every article read
    matches: list[tuple[str, str, float]]  # (rule, story, published_at) of every match


def backtest(settings: Settings, ruleset: RuleSet, articles: Path, nlp: Any = "load") -> list[Alert]:
    """The run pipeline over a file with the articles' own clock; alerts are returned, not sent."""
    return backtest_run(settings, ruleset, articles, nlp).alerts


def backtest_run(
    settings: Settings, ruleset: RuleSet, articles: Path, nlp: Any = "load", *, progress: bool = False
) -> Backtest:
    """``backtest``, with the feed's and the matches' volumes, and a bar on stderr if ``progress``."""
    collector = CollectingNotifier()
    feed: list[float] = []
    matches: list[tuple[str, str, float]] = []
    source: Source = JsonlSource(articles)
    if progress:
        from monitor.sources.progress import ProgressSource, count_lines

        source = ProgressSource(source, count_lines(articles))
    with tempfile.TemporaryDirectory(prefix="story-monitor-backtest-") as directory:
        app = App(settings, ruleset, source, collector, nlp=nlp, state_dir=Path(directory),
                  background_sender=False)
        _observe(app, feed, matches)
        try:
            app.run()
            app.finish()
        finally:
            app.close()
    order = {a.key: i for i, a in enumerate(collector.alerts)}
    alerts = sorted(collector.alerts, key=lambda a: (a.at, order[a.key]))
    return Backtest(alerts, feed, matches)


def _observe(app: App, feed: list[float], matches: list[tuple[str, str, float]]) -> None:
    """Record what the pipeline saw, for the report, without changing what it does."""
    annotate, take_delta = app.pipeline.annotator.annotate, app.pipeline.engine.take_delta

    def annotate_seen(batch: Sequence[Article]) -> list[Annotated]:
        feed.extend(a.published_at.timestamp() for a in batch)
        return annotate(batch)

    def delta_seen() -> Delta:
        delta = take_delta()
        matches.extend((rule, story, event.at) for rule, story, event in delta.events)
        return delta

    app.pipeline.annotator.annotate = annotate_seen  # type: ignore[method-assign,assignment]
    app.pipeline.engine.take_delta = delta_seen  # type: ignore[method-assign]
