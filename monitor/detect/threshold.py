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

A threshold is news only when new articles about the story reach it. The count that fires
leaves out the articles an earlier message of the story already carried (every article up to
the story's last ``any``, threshold or spike alert, ``TOLD_BY``): yesterday's alerted piece
plus one new one is not "2 articles in 2d" again (``threshold:already_told``). And a count
completed by a piece that names the story in passing fires only when an article about it
(``Event.central``) is among the newest, in the last ``FRESH_SHARE`` of the window: a passing
mention does not set off an alert for news days old (``threshold:passing_trigger``).
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
ALREADY_TOLD = "already_told"
PASSING_TRIGGER = "passing_trigger"
FRESH_SHARE = 1 / 2  # an article about the story within this share of the window: the news is fresh
TOLD_BY = ("any", "threshold", "spike")  # kinds whose alerts carry the story's articles


class ThresholdDetector:
    """Fires when the count crosses the threshold; re-arms only after it falls well below."""

    kind = "threshold"

    def __init__(self, drops: Counter[str] | None = None) -> None:
        self.drops: Counter[str] = drops if drops is not None else Counter()

    def observe(self, rule: Rule, state: StoryState, event: Event, now: float) -> list[Signal]:
        life = self._life(rule)
        note_told(state, state.slot(self.kind))
        signals = self._advance(rule, state, now, inclusive=False)
        reading = self._read(rule, state, now)
        if reading.level >= rule.threshold.count and life.phase(state) == "idle":
            why = self._held_back(rule, state, now, reading, event)
            if why:
                self.drops[f"{self.kind}:{why}"] += 1
        fresh = life.fresh(state, now, reading, lambda start: self._moments(rule, state, start, now),
                           lambda t: self._read(rule, state, t))
        done = life.step(state, now, reading, fresh=fresh, may_start=_news_fresh(rule, state, event, now))
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
        new = state.count(max(t - window, told_until(state, t)), t)
        fire = new >= rule.threshold.count and _central(state.counted(t - window, t), count)
        return Reading(fire=fire, hold=count >= _resolve_level(rule), level=count)

    def _held_back(self, rule: Rule, state: StoryState, t: float, reading: Reading, event: Event) -> str:
        """Why a count at the threshold does not fire now ('' when it does)."""
        window = rule.threshold.window.total_seconds()
        if state.count(max(t - window, told_until(state, t)), t) < rule.threshold.count:
            return ALREADY_TOLD
        if not reading.fire:
            return OFF_STORY
        return "" if _news_fresh(rule, state, event, t) else PASSING_TRIGGER

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
        if done == FIRED:  # the articles no earlier message carried
            since = max(t - window, told_until(state, t))
            new = state.count(since, t)
            return [Signal(
                self.kind, t, "rising_edge",
                f"{new} article{'s' if new != 1 else ''} in {format_duration(window)}"
                f" reached the threshold of {need}",
                events=tuple(state.counted(since, t)), count=new, threshold=need, window_s=window,
            )]
        if done == RESOLVED and rule.notify_resolved:
            return [Signal(
                "resolved", t, "fell_below_threshold",
                f"down to {count} article{'s' if count != 1 else ''} in {format_duration(window)}",
                count=count, threshold=need, window_s=window, extra={"of": self.kind},
            )]
        return []


def note_told(state: StoryState, slot: dict[str, object]) -> None:
    """Keep the last two alert times of each ``TOLD_BY`` kind of the story (an alert of this
    moment overwrites ``fired_at``; the one before it is what the desk already has)."""
    seen = slot.setdefault("told", {})
    assert isinstance(seen, dict)
    for kind in TOLD_BY:
        fired = state.slot(kind).get("fired_at")
        last = seen.get(kind, [None, None])
        if fired is not None and float(fired) != last[1]:
            seen[kind] = [last[1], float(fired)]


def told_until(state: StoryState, t: float) -> float:
    """The time of the story's last message before ``t`` that carried its articles."""
    seen = state.slot(ThresholdDetector.kind).get("told", {})
    times = (f for pair in seen.values() for f in pair if f is not None and f < t)
    return max(times, default=float("-inf"))


def _news_fresh(rule: Rule, state: StoryState, event: Event, now: float) -> bool:
    """An article about the story is among the newest of the count: the one observed, or one
    of the last ``FRESH_SHARE`` of the window (its ends included: day-dated articles arrive at
    once, in no order that means anything)."""
    recent = FRESH_SHARE * rule.threshold.window.total_seconds()
    return (event.central and event.id not in state.held) or any(
        e.central for e in state.counted(now - recent - 1e-6, now))


def _central(events: list[Event], count: int) -> bool:
    """Enough of the distinct articles carry the rule's story centrally (copies count once),
    and one has it in its headline or throughout: a count of pieces that each recall the
    story in a line of their lead is background, not coverage."""
    if not any(e.headlined for e in events):
        return False
    need, central = max(1, math.ceil(count * CENTRAL_SHARE)), set()
    for e in events:
        if e.central:
            central.add(e.copy_of or e.id)
            if len(central) >= need:
                return True
    return False


def _resolve_level(rule: Rule) -> int:
    return max(1, math.ceil(rule.threshold.count * RESOLVE_FRACTION))
