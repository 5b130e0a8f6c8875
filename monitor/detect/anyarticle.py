"""Any: every matching article, at most one alert per ``min_interval`` per story."""

from __future__ import annotations

from monitor.detect.base import Signal, cooled, mark_fired
from monitor.detect.state import Event, StoryState
from monitor.rules.schema import Rule


class AnyDetector:
    """Forwards each matching article, rate-limited; the rest are counted as suppressed."""

    kind = "any"

    def observe(self, rule: Rule, state: StoryState, event: Event, now: float) -> list[Signal]:
        if event.at < now:
            return []  # a late article: the story has moved on since
        if not cooled(state, self.kind, event.at, rule.any.min_interval.total_seconds()):
            slot = state.slot(self.kind)
            slot["suppressed"] = int(slot.get("suppressed", 0)) + 1
            return []
        mark_fired(state, self.kind, event.at)
        return [Signal(self.kind, event.at, "matching_article", "a new matching article", events=(event,))]

    def tick(self, rule: Rule, state: StoryState, now: float) -> list[Signal]:
        return []
