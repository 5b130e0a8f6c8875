"""Alerts as readable text on the terminal: the notifier when no Slack is configured."""

from __future__ import annotations

import sys
from typing import TextIO

from monitor.model import Alert
from monitor.notify.base import Delivery
from monitor.rules.durations import format_duration

SEVERITY_MARK = {"info": "INFO", "warning": "WARNING", "high": "HIGH", "critical": "CRITICAL"}
MAX_HEADLINES = 8


def render_text(alert: Alert) -> str:
    """Severity, rule, story, numbers, why it fired, what changed, and the headlines."""
    when = alert.at.strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"[{SEVERITY_MARK[alert.severity]}] {alert.rule} · {alert.kind} · {when}"]
    if alert.description:
        lines.append(f"  {alert.description}")
    lines.append(f"  {alert.summary}")
    if alert.story != alert.rule:
        lines.append(f"  story: {alert.story}")
    if alert.actors:
        lines.append(f"  actors: {', '.join(alert.actors)}")
    if alert.keywords:
        lines.append(f"  keywords: {', '.join(alert.keywords)}")
    if alert.count is not None and alert.threshold is not None and alert.window_s:
        lines.append(
            f"  count: {alert.count} (threshold {alert.threshold} in {format_duration(alert.window_s)})"
        )
    lines.append(f"  why: {alert.reason}")
    for kind, reason in list(zip(alert.kinds, alert.reasons, strict=False))[1:]:
        lines.append(f"  also {kind}: {reason}")  # the other signals of the same story-moment
    changes = alert.changes
    if changes is not None:
        for label, items in (("new actors", changes.new_actors), ("rising", changes.rising),
                             ("fading", changes.fading)):
            if items:
                lines.append(f"  {label}: {', '.join(i.term for i in items)}")
                lines.extend(f"      {i.term}: “{i.context}”" for i in items if i.context)
    shown = alert.articles[-MAX_HEADLINES:]
    for ref in shown:
        source = f" ({ref.source})" if ref.source else ""
        source += f" [{ref.why}]" if ref.why else ""
        url = f"\n      {ref.url}" if ref.url else ""
        lines.append(f"    - {ref.published_at:%m-%d %H:%M} {ref.title}{source}{url}")
    if len(alert.articles) > len(shown):
        lines.append(f"    … and {len(alert.articles) - len(shown)} earlier articles")
    return "\n".join(lines)


class ConsoleNotifier:
    """Prints each alert; used when no Slack token or webhook is set."""

    name = "console"

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout

    def send(self, alert: Alert, *, maybe_sent: bool = False) -> Delivery:
        print(render_text(alert), file=self.out, flush=True)
        print(file=self.out, flush=True)
        return Delivery()


class CollectingNotifier:
    """Keeps alerts in a list: backtests and tests."""

    name = "collect"

    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    def send(self, alert: Alert, *, maybe_sent: bool = False) -> Delivery:
        self.alerts.append(alert)
        return Delivery()
