"""Any: every matching article about the story, at most one alert per ``min_interval`` per story.

An article that matches the rule but is not about its story (``Event.central``: most of the
rule's requirements in the headline or the lead) is counted as ``any:off_story`` and not
forwarded: a health-bill piece with a one-line jibe about tax returns is no tax-returns news.
"""

from __future__ import annotations

from collections import Counter

from monitor.detect.base import Signal, cooled, mark_fired
from monitor.detect.state import Event, StoryState
from monitor.rules.schema import Rule

OFF_STORY = "off_story"


class AnyDetector:
    """Forwards each matching article, rate-limited; the rest are counted as suppressed."""

    kind = "any"

    def __init__(self, counters: Counter[str] | None = None) -> None:
        self.counters: Counter[str] = counters if counters is not None else Counter()

    def _count(self, reason: str) -> None:
        self.counters[f"{self.kind}:{reason}"] += 1

    def observe(self, rule: Rule, state: StoryState, event: Event, now: float) -> list[Signal]:
        if event.at < now:
            return []  # a late article: the story has moved on since
        if not event.central:  # it names the story, but in passing: not an article about it
            self._count(OFF_STORY)
            return []
        if not cooled(state, self.kind, event.at, rule.any.min_interval.total_seconds()):
            slot = state.slot(self.kind)
            slot["suppressed"] = int(slot.get("suppressed", 0)) + 1
            return []
        mark_fired(state, self.kind, event.at)
        return [Signal(self.kind, event.at, "matching_article", "a new matching article", events=(event,))]

    def tick(self, rule: Rule, state: StoryState, now: float) -> list[Signal]:
        return []
