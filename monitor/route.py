"""The route stage: what the detectors raised, less what analysts silenced, deduplicated by key."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from monitor.model import Alert
from monitor.rules.schema import RuleSet

log = logging.getLogger("monitor.route")


class Router:
    """Drops silenced alerts and repeated keys; returns the rest in order, with a reason per drop."""

    def __init__(self, ruleset: RuleSet) -> None:
        self.silences = ruleset.silences

    def route(self, alerts: Iterable[Alert]) -> tuple[list[Alert], list[tuple[Alert, str]]]:
        kept: list[Alert] = []
        dropped: list[tuple[Alert, str]] = []
        seen: set[str] = set()
        for alert in alerts:
            if alert.key in seen:
                dropped.append((alert, "duplicate_key"))
                continue
            seen.add(alert.key)
            silence = next((s for s in self.silences
                            if s.covers(alert.rule, alert.story, alert.kind, alert.at)), None)
            if silence is not None:
                log.info("alert_silenced", extra={"key": alert.key, "until": silence.until.isoformat(),
                                                  "silence": silence.origin, "why": silence.reason})
                dropped.append((alert, "silenced"))
                continue
            kept.append(alert)
        return kept, dropped
