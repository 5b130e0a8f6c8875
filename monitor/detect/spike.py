"""Spike: the recent rate of a story against its own usual rate, once its baseline is trusted.

At time t, with ``recent`` R, ``baseline`` B and the story first seen at ``since``:

    r        = articles in (t - R, t]
    b        = articles in (t - R - B, t - R]
    span     = min(B, max(t - R - since, warmup))   # a young story's age counts as >= warmup
    expected = b * R / span                         # the usual number of articles per R
    level    = max(min_count, factor * expected)

``since`` is the first article after a gap longer than R + B (the story's current run).
It fires on an article when the story is at least ``warmup`` old and r >= level (held for
``pending`` first, when set), and resolves once r < resolve * level; the lifecycle reads
the condition again each time an article leaves a window, so re-arming does not depend on
how often the clock ticks.

Judged against the feed (``monitor.detect.feed``), when the engine counts one: the baseline
is read in feed windows, a window in which the feed itself ran below its usual rate is left
out, and the usual number is the story's share of the rest of the feed (its own articles
taken out) times the rest of the feed in ``recent`` (``expected = b' * other(recent) /
other'``), so days with no news collected do not make an ordinary day look like a spike.
A baseline window is held against the rest of the feed in ``recent`` too: one with less than
``THIN`` of it (a collection barely begun) is no baseline for a day on which the feed runs in
full, however steady it was then. When less than half the baseline had a normal feed, no
spike is claimed (counted as ``spike:feed_degraded``). A rate no higher than in the
``recent`` before it is a level, not a spike; and after an alert, a new one needs the story
to calm down for a ``recent`` first, or twice the last peak (``Lifecycle.calmed``).
"""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass

from monitor.detect.base import Signal
from monitor.detect.feed import FeedState, FeedTracker
from monitor.detect.lifecycle import FIRED, REPEAT, RESOLVED, Lifecycle, Reading, leaving
from monitor.detect.silence import FeedBoard
from monitor.detect.state import Event, StoryState
from monitor.rules.durations import format_duration
from monitor.rules.schema import Rule, SpikeParams

THIN = 0.15  # a baseline window with less than this share of the recent feed: a thin collection


@dataclass(frozen=True, slots=True)
class Rate:
    """The numbers behind one spike reading."""

    recent: int
    baseline: int
    span_s: float
    expected: float
    level: float
    warm: bool
    before: int = 0  # articles in the ``recent`` before this one
    trusted: bool = True  # False: most of the baseline is a degraded feed

    @property
    def rising(self) -> bool:
        return self.warm and self.recent >= self.level and self.recent > self.before

    def reading(self, resolve: float) -> Reading:
        return Reading(
            fire=self.rising and self.trusted,
            hold=self.recent >= min(1.0, resolve) * self.level,
            level=self.recent,
        )


@dataclass(frozen=True, slots=True)
class FeedView:
    """The feed's counts, as a spike reading needs them (``None`` in a rate: no feed is counted)."""

    tracker: FeedTracker
    state: FeedState


def rate(p: SpikeParams, state: StoryState, since: float, t: float, feed: FeedView | None = None) -> Rate:
    """The spike reading of a story at time ``t`` (pure: no clock, no state change)."""
    recent_s, baseline_s = p.recent.total_seconds(), p.baseline.total_seconds()
    warmup_s = p.warmup.total_seconds()
    r = state.count(t - recent_s, t)
    b = state.count(t - recent_s - baseline_s, t - recent_s)
    span = min(baseline_s, max(t - recent_s - since, warmup_s, 1.0))
    expected, trusted = b * recent_s / span, True
    if feed is not None and feed.tracker.count(feed.state, t - recent_s - span, t) > 0:
        expected, trusted = _against_feed(feed, state, t - recent_s - span, t - recent_s, t)
    return Rate(r, b, span, expected, max(float(p.min_count), p.factor * expected), t - since >= warmup_s,
                before=state.count(t - 2 * recent_s, t - recent_s), trusted=trusted)


def _against_feed(feed: FeedView, state: StoryState, lo: float, mid: float, t: float) -> tuple[float, bool]:
    """The story's usual count for (mid, t] from its share of the normal feed in (lo, mid].

    The rest of the feed (the story's own articles taken out, so a story that is most of a
    small feed can still spike) scales the story's baseline to the feed of the recent window.
    """
    tracker, fs = feed.tracker, feed.state
    window = tracker.p.window.total_seconds()
    now = max(0, tracker.count(fs, mid, t) - state.count(mid, t))  # the rest of the feed in ``recent``
    recent = now * window / max(t - mid, 1.0)  # ... per feed window
    mine = theirs = 0
    normal = 0.0
    end = mid
    while end > lo:
        start = max(lo, end - window)
        got, own = tracker.count(fs, start, end), state.count(start, end)
        if _normal(tracker, fs, (start, end), got * window / (end - start), recent):
            mine, theirs, normal = mine + own, theirs + max(0, got - own), normal + end - start
        end = start
    if normal < 0.5 * (mid - lo):
        return 0.0, False
    if theirs == 0 or now == 0:  # the story is the whole feed: its own rate over the normal part
        return mine * (t - mid) / normal, True
    return mine * now / theirs, True


def _normal(tracker: FeedTracker, fs: FeedState, span: tuple[float, float], got: float,
            recent: float) -> bool:
    """Whether a baseline window (``got`` articles per window) had the feed flowing normally.

    Below ``fraction`` of the feed's usual rate, or ``THIN`` of the rest of the feed in the
    ``recent`` window (the story's own articles taken out), it did not: days on which the
    collection was thin are no baseline for a day on which the feed runs in full. A window
    before the feed's first article is not judged (a young feed: the raw rate, as before)."""
    p, (start, end) = tracker.p, span
    if fs.first is None or fs.first >= end:
        return True
    if recent >= p.min_expected and got < THIN * recent:
        return False
    usual = tracker.expected(fs, start)
    return usual is None or usual < p.min_expected or got >= p.fraction * usual


class SpikeDetector:
    """Fires when coverage in the recent window is ``factor`` times the story's usual rate."""

    kind = "spike"

    def __init__(self, feed: FeedBoard | None = None, drops: Counter[str] | None = None) -> None:
        self.feed = feed  # None: the raw rate (no feed is counted)
        self.drops: Counter[str] = drops if drops is not None else Counter()

    def observe(self, rule: Rule, state: StoryState, event: Event, now: float) -> list[Signal]:
        slot = state.slot(self.kind)
        span = (rule.spike.recent + rule.spike.baseline).total_seconds()
        if "first" not in slot or state.count(event.at - span, event.at) <= 1:
            slot["first"] = event.at  # a story back after longer than its windows starts afresh
        slot["first"] = min(float(slot["first"]), event.at)
        signals = self._advance(rule, state, now, inclusive=False)
        life, got = self._life(rule), self._rate(rule, state, now)
        if got.rising and not got.trusted and life.phase(state) == "idle":
            self.drops[f"{self.kind}:feed_degraded"] += 1
        reading = got.reading(rule.spike.resolve)
        fresh = life.fresh(state, now, reading, lambda start: self._moments(rule, state, start, now),
                           lambda t: self._rate(rule, state, t).reading(rule.spike.resolve))
        done = life.step(state, now, reading, fresh=fresh)
        if done == REPEAT:
            self.drops[f"{self.kind}:{REPEAT}"] += 1
        return signals + self._signals(rule, state, now, done)

    def tick(self, rule: Rule, state: StoryState, now: float) -> list[Signal]:
        if "first" not in state.slot(self.kind):
            return []
        return self._advance(rule, state, now, inclusive=True)

    def _life(self, rule: Rule) -> Lifecycle:
        return Lifecycle(self.kind, rule.spike.pending.total_seconds(), rule.cooldown.total_seconds(),
                         calm_s=rule.spike.recent.total_seconds())

    def _rate(self, rule: Rule, state: StoryState, t: float) -> Rate:
        feed = FeedView(self.feed.tracker, self.feed.state) if self.feed is not None else None
        return rate(rule.spike, state, float(state.slot(self.kind)["first"]), t, feed)

    def _moments(self, rule: Rule, state: StoryState, start: float, end: float) -> list[float]:
        """When the reading may change in (start, end): articles arriving and leaving windows."""
        p = rule.spike
        recent = p.recent.total_seconds()
        spans = (recent, 2 * recent, recent + p.baseline.total_seconds())
        arrivals = state.times[bisect.bisect_right(state.times, start):bisect.bisect_left(state.times, end)]
        return arrivals + leaving(state.times, start, end, spans)

    def _advance(self, rule: Rule, state: StoryState, now: float, *, inclusive: bool) -> list[Signal]:
        p = rule.spike
        spans = (p.recent.total_seconds(), (p.recent + p.baseline).total_seconds())
        start = float(state.slot(self.kind).get("checked", float("-inf")))
        moments = leaving(state.times, start, now, spans)
        done = self._life(rule).advance(
            state, now, moments, lambda t: self._rate(rule, state, t).reading(p.resolve), inclusive=inclusive
        )
        return [s for t, d in done for s in self._signals(rule, state, t, d)]

    def _signals(self, rule: Rule, state: StoryState, t: float, done: str | None) -> list[Signal]:
        if done not in (FIRED, RESOLVED) or (done == RESOLVED and not rule.notify_resolved):
            return []
        p = rule.spike
        got = self._rate(rule, state, t)
        recent_s = p.recent.total_seconds()
        usual = f"the usual {got.expected:.1f} per {format_duration(p.recent)}"
        before = f"{got.baseline} in the {format_duration(got.span_s)} before"
        if done == RESOLVED:
            return [Signal(
                "resolved", t, "rate_back_to_usual",
                f"down to {got.recent} in {format_duration(p.recent)}, near {usual}",
                count=got.recent, window_s=recent_s, extra={"of": self.kind},
            )]
        against = (
            f"{got.recent / got.expected:.1f}x {usual} ({before})" if got.expected
            else f"with none in the {format_duration(got.span_s)} before"
        )
        return [Signal(
            self.kind, t, "rate_above_baseline",
            f"{got.recent} articles in {format_duration(p.recent)}, {against}",
            events=tuple(state.counted(t - recent_s, t)), count=got.recent,
            threshold=round(got.level), window_s=recent_s,
            extra={"expected": got.expected, "baseline": got.baseline},
        )]
