"""Silence: a running story gets no matching article for ``after`` while the feed flows normally.

The story is silent when nothing came in the whole of (last, last + after]: an article at
exactly ``last + after`` means it never went quiet (with day-dated articles all at noon,
articles four days apart are a story that kept going). The alert carries the time
``last + after``, whoever notices it: a clock tick (wall clock in the daemon, the
event-time watermark after each batch in a backtest) or, when no tick came in between, the
next article of the story, which ends the silence. Either way the alert and its key are
the same, so a replay cut at another place gives the same alerts.

A story counts as running when it had at least ``min_articles`` articles in the ``after``
before its last one: a rule that matches one stray article a week is not a story going
quiet every week.

Silence is judged against the feed (``monitor.detect.feed``): when the feed as a whole, or
the sources the story drew on, ran below its usual rate at any time in the quiet period,
the quiet says nothing about the story. That moment is counted as suppressed
(``feed_degraded``) and the period is judged again one feed window later (the story still
quiet over the last ``after``), up to the feed's baseline; the alert then carries that later
moment. A period never judged normal is dropped with the same reason.
"""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass, replace

from monitor.detect.base import Signal
from monitor.detect.feed import FeedState, FeedTracker, Verdict
from monitor.detect.state import Event, StoryState
from monitor.rules.durations import format_duration
from monitor.rules.schema import Rule

KIND = "silence"
FEED_DEGRADED = "feed_degraded"
COOLDOWN = "cooldown"


@dataclass(frozen=True, slots=True)
class SilenceState:
    """One story's silence memory: the quiet period told, the moment last judged, the last alert."""

    told: float = float("-inf")  # the last article of the latest quiet period already decided
    period: float = float("-inf")  # the last article of the quiet period being judged
    judged: float = float("-inf")  # the latest moment of that period found degraded
    fired_at: float | None = None


class FeedBoard:
    """The feed as the silence detector sees it: the tracker and its latest state."""

    def __init__(self, tracker: FeedTracker | None = None) -> None:
        self.tracker = tracker or FeedTracker()
        self.state = FeedState()

    def judge(self, start: float, end: float, sources: frozenset[str], own: tuple[float, ...],
              ref: float) -> Verdict:
        return self.tracker.judge(self.state, start, end, sources, own, ref)


class SilenceDetector:
    """Fires once per quiet period of a story that was running, unless the feed was down."""

    kind = KIND

    def __init__(self, feed: FeedBoard | None = None, drops: Counter[str] | None = None) -> None:
        self.feed = feed or FeedBoard()
        self.drops: Counter[str] = drops if drops is not None else Counter()

    def observe(self, rule: Rule, state: StoryState, event: Event, now: float) -> list[Signal]:
        where = bisect.bisect_left(state.times, event.at)
        if where == 0 or state.events[-1].id != event.id:
            return []  # the story's first article, or a late one: no quiet period ends here
        return self._run(rule, state, state.events[where - 1], event.at)

    def tick(self, rule: Rule, state: StoryState, now: float) -> list[Signal]:
        if not state.events:
            return []
        return self._run(rule, state, state.events[-1], now)

    def _run(self, rule: Rule, story: StoryState, last: Event, until: float) -> list[Signal]:
        old = story.detectors.get(KIND)
        current = old if isinstance(old, SilenceState) else SilenceState()
        new, signals = self.step(rule, current, story, last, until)
        if new != current:
            story.detectors[KIND] = new  # type: ignore[assignment]
        return signals

    def step(
        self, rule: Rule, s: SilenceState, story: StoryState, last: Event, until: float,
    ) -> tuple[SilenceState, list[Signal]]:
        """Judge the quiet period after ``last`` at each moment before ``until`` (pure but for counts)."""
        after = rule.silence.after.total_seconds()
        if s.told >= last.at or until - last.at <= after:
            return s, []  # told already; or at exactly last + after an article may still come
        running = _count_closed(story.times, last.at - after, last.at)
        if running < rule.silence.min_articles:
            return replace(s, told=last.at), []
        sources = frozenset(e.source for e in story.between(last.at - after, last.at) if e.source)
        own = tuple(e.at for e in story.events if e.source in sources)
        step_s = self.feed.tracker.p.window.total_seconds()
        limit = last.at + after + self.feed.tracker.p.baseline.total_seconds()
        if s.period != last.at:
            s = replace(s, period=last.at, judged=float("-inf"))
        at = last.at + after
        while at < until:
            if at > s.judged:
                verdict = self.feed.judge(at - after, at, sources, own, last.at)
                if not verdict.degraded:
                    return self._fire(rule, s, last, at, running)
                self.drops[f"{KIND}:{FEED_DEGRADED}"] += 1
                s = replace(s, judged=at)
            at += step_s
            if at > limit:
                return replace(s, told=last.at), []
        return s, []

    def _fire(self, rule: Rule, s: SilenceState, last: Event, at: float, running: int) -> tuple[
            SilenceState, list[Signal]]:
        done = replace(s, told=last.at)
        if s.fired_at is not None and at - s.fired_at < rule.cooldown.total_seconds():
            self.drops[f"{KIND}:{COOLDOWN}"] += 1
            return done, []
        after = rule.silence.after.total_seconds()
        quiet = at - last.at
        since = "" if quiet == after else f" ({format_duration(quiet)} since the last one)"
        return replace(done, fired_at=at), [Signal(
            KIND, at, "went_quiet",
            f"no matching article for {format_duration(after)} after {running} in the "
            f"{format_duration(after)} before{since}",
            events=(last,), count=0, window_s=after,
        )]


def _count_closed(times: list[float], start: float, end: float) -> int:
    """Articles with start <= at <= end."""
    return bisect.bisect_right(times, end) - bisect.bisect_left(times, start)
