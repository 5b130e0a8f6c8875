"""``story-monitor run``: assemble the App for a file or Kafka, run it, shut down cleanly."""

from __future__ import annotations

import logging
from pathlib import Path

from monitor.app import App, make_notifier
from monitor.notify.base import Notifier
from monitor.obs.metrics import Metrics
from monitor.rules import load_rules
from monitor.rules.guard import RuleLimits
from monitor.settings import Settings
from monitor.sources.base import Source

log = logging.getLogger("monitor.daemon")


def open_source(settings: Settings, path: str | None, follow: bool, metrics: Metrics) -> Source:
    if path is not None:
        from monitor.sources.jsonl import JsonlSource

        return JsonlSource(Path(path), follow=follow)
    from monitor.sources.base import Decoder
    from monitor.sources.kafka import KafkaSource

    decoder = Decoder(settings.kafka.max_message_bytes, settings.detect.future_tolerance_s)
    return KafkaSource(settings.kafka, metrics, decoder=decoder, state_dir=settings.state.dir)


def run(
    settings: Settings, *, source: str | None = None, follow: bool = False, progress: bool = False
) -> int:
    """``progress``: a bar on stderr for a file run (``--source``)."""
    ruleset = load_rules([settings.rules.path], RuleLimits.of(settings.rules))
    notifier = make_notifier(settings)
    _check_notifier(notifier)
    metrics = Metrics()
    opened = open_source(settings, source, follow, metrics)
    if progress and source is not None:
        from monitor.sources.progress import ProgressSource, count_lines

        opened = ProgressSource(opened, None if follow else count_lines(Path(source)))
    app = App(settings, ruleset, opened, notifier,
              metrics=metrics, background_sender=notifier.name != "console")
    _attach_services(app)
    app.install_signals()
    log.info("started", extra={"rules": len(ruleset.enabled), "source": app.source.name,
                               "notifier": notifier.name})
    try:
        app.run()
        delivered = app.finish(None if source and not follow else settings.kafka.drain_timeout_s)
        parked = app.outbox.counts().get("parked", 0)
    finally:
        app.close()
    if not delivered:
        log.warning("shutdown_with_undelivered_alerts", extra={"hint": "they are kept and sent on restart"})
    if parked:
        log.error("alerts_parked", extra={"count": parked, "hint": "fix it, then story-monitor outbox retry"})
    log.info("stopped")
    # a file run promises an empty outbox; the daemon keeps undelivered alerts for its next start
    return 0 if source is None or (delivered and not parked) else 1


def _check_notifier(notifier: Notifier) -> None:
    """A rejected token stops the start; Slack merely unreachable only delays alerts."""
    check = getattr(notifier, "check", None)
    if check is None:
        return
    from monitor.notify.slack import SlackUnreachable

    try:
        check()
    except SlackUnreachable as exc:
        log.warning("slack_unreachable_at_start", extra={"detail": str(exc)[:200],
                                                         "hint": "alerts wait in the outbox"})


def _attach_services(app: App) -> None:
    """HTTP health and metrics, and the scheduler, when their modules are present."""
    try:
        from monitor.service import attach
    except ImportError:
        return
    attach(app)
