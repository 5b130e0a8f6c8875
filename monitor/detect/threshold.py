"""Threshold: at least ``count`` matching articles within ``window``, on the rising edge."""

from __future__ import annotations

import math

from monitor.detect.base import Signal, cooled, mark_fired
from monitor.detect.state import Event, StoryState
from monitor.rules.durations import format_duration
from monitor.rules.schema import Rule

RESOLVE_FRACTION = 0.5  # the story must fall to half the threshold to re-arm: no flapping


class ThresholdDetector:
    """Fires when the count crosses the threshold; re-arms only after it falls well below."""

    kind = "threshold"

    def observe(self, rule: Rule, state: StoryState, event: Event, now: float) -> list[Signal]:
        return self._evaluate(rule, state, now)

    def tick(self, rule: Rule, state: StoryState, now: float) -> list[Signal]:
        return self._evaluate(rule, state, now, fire=False)

    def _evaluate(self, rule: Rule, state: StoryState, now: float, *, fire: bool = True) -> list[Signal]:
        window = rule.threshold.window.total_seconds()
        need = rule.threshold.count
        slot = state.slot(self.kind)
        count = state.count(now - window, now)
        signals: list[Signal] = []
        if slot.get("active") and count < max(1, math.ceil(need * RESOLVE_FRACTION)):
            slot["active"] = False
            if rule.notify_resolved:
                signals.append(Signal(
                    "resolved", now, "fell_below_threshold",
                    f"down to {count} article{'s' if count != 1 else ''} in {format_duration(window)}",
                    count=count, threshold=need, window_s=window,
                ))
        if not fire or slot.get("active") or count < need:
            return signals
        slot["active"] = True  # even inside the cooldown: only a fresh rise may alert later
        if not cooled(state, self.kind, now, rule.cooldown.total_seconds()):
            slot["suppressed"] = int(slot.get("suppressed", 0)) + 1
            return signals
        mark_fired(state, self.kind, now)
        events = tuple(state.between(now - window, now))
        signals.append(Signal(
            self.kind, now, "rising_edge",
            f"{count} articles in {format_duration(window)} reached the threshold of {need}",
            events=events, count=count, threshold=need, window_s=window,
        ))
        return signals
