"""Threshold: at least ``count`` matching articles within ``window``, on the rising edge.

After an alert resolves, a new rise is a new alert only when the count stayed below the
resolve level for a whole ``window`` in between (the story calmed down), or when it reaches
twice the last alert's peak; otherwise it is the same development going on: counted as
``repeat_not_calmed``, not sent. With day-dated articles a count dipping for a day does not
re-fire the next day.

A count is coverage of the story only when enough of its articles are about it: at least
``CENTRAL_SHARE`` of the window's distinct articles must have most requirements of the rule
in the headline or the lead (``Event.central``). A count made of articles that meet the
rule's level by repeated mentions deep in the text (the rule's keyword in a speech on
everything, a piece on another story that names the rule's actor four times) does not
fire: counted as ``threshold:off_story`` for each article that reaches the count without it.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter

from monitor.detect.base import Signal
from monitor.detect.lifecycle import FIRED, REPEAT, RESOLVED, Lifecycle, Reading, leaving
from monitor.detect.state import Event, StoryState
from monitor.rules.durations import format_duration
from monitor.rules.schema import Rule

RESOLVE_FRACTION = 0.5  # the story must fall to half the threshold to re-arm: no flapping
CENTRAL_SHARE = 1 / 2  # of the window's distinct articles, at least half central: most of the coverage
OFF_STORY = "off_story"


class ThresholdDetector:
    """Fires when the count crosses the threshold; re-arms only after it falls well below."""

    kind = "threshold"

    def __init__(self, drops: Counter[str] | None = None) -> None:
        self.drops: Counter[str] = drops if drops is not None else Counter()

    def observe(self, rule: Rule, state: StoryState, event: Event, now: float) -> list[Signal]:
        life = self._life(rule)
        signals = self._advance(rule, state, now, inclusive=False)
        reading = self._read(rule, state, now)
        if reading.level >= rule.threshold.count and not reading.fire:
            self.drops[f"{self.kind}:{OFF_STORY}"] += 1
        fresh = life.fresh(state, now, reading, lambda start: self._moments(rule, state, start, now),
                           lambda t: self._read(rule, state, t))
        done = life.step(state, now, reading, fresh=fresh)
        if done == REPEAT:
            self.drops[f"{self.kind}:{REPEAT}"] += 1
        return signals + self._signals(rule, state, now, done)

    def tick(self, rule: Rule, state: StoryState, now: float) -> list[Signal]:
        return self._advance(rule, state, now, inclusive=True)

    def _life(self, rule: Rule) -> Lifecycle:
        window = rule.threshold.window.total_seconds()
        return Lifecycle(self.kind, rule.threshold.pending.total_seconds(), rule.cooldown.total_seconds(),
                         calm_s=window)

    def _read(self, rule: Rule, state: StoryState, t: float) -> Reading:
        window = rule.threshold.window.total_seconds()
        count = state.count(t - window, t)
        fire = count >= rule.threshold.count and _central(state.between(t - window, t), count)
        return Reading(fire=fire, hold=count >= _resolve_level(rule), level=count)

    def _moments(self, rule: Rule, state: StoryState, start: float, end: float) -> list[float]:
        """When the count may change in (start, end): articles arriving and leaving the window."""
        arrivals = state.times[bisect.bisect_right(state.times, start):bisect.bisect_left(state.times, end)]
        return arrivals + leaving(state.times, start, end, (rule.threshold.window.total_seconds(),))

    def _advance(self, rule: Rule, state: StoryState, now: float, *, inclusive: bool) -> list[Signal]:
        window = rule.threshold.window.total_seconds()
        start = float(state.slot(self.kind).get("checked", float("-inf")))
        moments = leaving(state.times, start, now, (window,))
        done = self._life(rule).advance(
            state, now, moments, lambda t: self._read(rule, state, t), inclusive=inclusive
        )
        return [s for t, d in done for s in self._signals(rule, state, t, d)]

    def _signals(self, rule: Rule, state: StoryState, t: float, done: str | None) -> list[Signal]:
        window = rule.threshold.window.total_seconds()
        need = rule.threshold.count
        count = state.count(t - window, t)
        if done == FIRED:
            return [Signal(
                self.kind, t, "rising_edge",
                f"{count} article{'s' if count != 1 else ''} in {format_duration(window)}"
                f" reached the threshold of {need}",
                events=tuple(state.between(t - window, t)), count=count, threshold=need, window_s=window,
            )]
        if done == RESOLVED and rule.notify_resolved:
            return [Signal(
                "resolved", t, "fell_below_threshold",
                f"down to {count} article{'s' if count != 1 else ''} in {format_duration(window)}",
                count=count, threshold=need, window_s=window, extra={"of": self.kind},
            )]
        return []


def _central(events: list[Event], count: int) -> bool:
    """Enough of the distinct articles carry the rule's story centrally (copies count once)."""
    central = {e.copy_of or e.id for e in events if e.central}
    return len(central) >= max(1, math.ceil(count * CENTRAL_SHARE))


def _resolve_level(rule: Rule) -> int:
    return max(1, math.ceil(rule.threshold.count * RESOLVE_FRACTION))
