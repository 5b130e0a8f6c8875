"""The feed's own rate in event time: is the input as a whole (or a set of sources) degraded?

Every decoded article is counted, matched or not, in buckets of ``bucket_s`` (an article at
t goes to bucket ceil(t / bucket_s), so a bucket holds (k-1, k] and day-dated articles at
noon fall where the windows ending at noon expect them), for the whole feed and per source.

The usual rate of a period (start, end] is the mean rate over the ``baseline`` before
``start`` (the part of it the tracker has seen, the first article standing for the window
before it; less than one ``window`` of history is no judgement). The period is degraded
when any ``window``-long piece of it, counted back from ``end``, got less than
``fraction`` of the usual count for a window, and the usual count is at least
``min_expected`` (a feed or source too small to judge is never degraded). A silence is
told only for a quiet period in which the feed flowed normally all along.

The feed-level status (``FeedTracker.status``) reads the last ``window`` at each multiple of
``step_s`` before ``now`` and turns degraded and back with a ``FeedNotice``; the moments are
fixed by the grid, so a backtest gives the same notices whatever its batches.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta

from monitor.model import Article

ALL = ""  # the key of the whole feed among the per-source counts
Changed = dict[tuple[str, int], int]  # (source, bucket) -> its new count


@dataclass(frozen=True, slots=True)
class FeedParams:
    """How the feed's usual rate is judged (``detect.feed`` in the settings)."""

    window: timedelta = timedelta(days=1)
    baseline: timedelta = timedelta(days=7)
    fraction: float = 0.5
    min_expected: float = 5.0
    bucket_s: float = 300.0
    step_s: float = 3600.0


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the feed says about one period: degraded or not, with the numbers behind it."""

    degraded: bool
    count: int = 0  # articles in the worst window of the period
    expected: float = 0.0  # the usual count for a window
    at: float | None = None  # end of the worst window
    scope: str = "feed"  # "feed" or "sources"


NORMAL = Verdict(False)


@dataclass(frozen=True, slots=True)
class FeedState:
    """Counts per source and bucket, the first article seen, and the feed-level status."""

    counts: Mapping[str, Mapping[int, int]] = field(default_factory=dict)
    first: float | None = None
    degraded_since: float | None = None
    checked: float | None = None  # the last grid moment read by ``status``


@dataclass(frozen=True, slots=True)
class FeedNotice:
    """The feed turned degraded (or back to normal) at ``at``: for the log, metrics and admins."""

    kind: str  # "degraded" | "recovered"
    at: float
    count: int
    expected: float
    window_s: float


class FeedTracker:
    """Pure steps over ``FeedState``: observe articles, judge periods, read the status."""

    def __init__(self, params: FeedParams | None = None) -> None:
        self.p = params or FeedParams()

    def observe(self, state: FeedState, articles: Iterable[Article]) -> tuple[FeedState, Changed]:
        """Count the articles; returns the new state and the buckets it changed (for the store)."""
        counts = dict(state.counts)  # copy on write: only the sources of these articles are copied
        copied: dict[str, dict[int, int]] = {}
        first = state.first
        changed: Changed = {}
        for a in articles:
            t = a.published_at.timestamp()
            first = t if first is None else min(first, t)
            b = math.ceil(t / self.p.bucket_s)
            for key in (ALL, a.source) if a.source else (ALL,):
                per = copied.get(key)
                if per is None:
                    per = copied[key] = dict(counts.get(key, {}))
                    counts[key] = per
                per[b] = changed[(key, b)] = per.get(b, 0) + 1
        return replace(state, counts=counts, first=first), changed

    def count(self, state: FeedState, start: float, end: float, sources: Iterable[str] = (ALL,)) -> int:
        """Articles in (start, end], to the bucket."""
        lo, hi = math.ceil(start / self.p.bucket_s), math.ceil(end / self.p.bucket_s)
        total = 0
        for key in sources:
            per = state.counts.get(key, {})
            total += sum(n for b, n in per.items() if lo < b <= hi)
        return total

    def judge(self, state: FeedState, start: float, end: float, sources: Iterable[str] = (),
              own: tuple[float, ...] = (), ref: float | None = None) -> Verdict:
        """Whether the feed, or the given sources together, ran below usual in (start, end].

        The usual rate is the baseline's before ``ref`` (default ``start``): a silence takes
        the rate of the feed while the story ran, so an outage does not lower its own bar.

        ``own`` are the times of the story's own articles from those sources: they leave the
        sources' baseline, so a story that fills its sources does not make them look down
        when it goes quiet.
        """
        base = start if ref is None else min(ref, start)
        whole = self._judge(state, start, end, (ALL,), "feed", (), base)
        if whole.degraded:
            return whole
        keys = tuple(sorted(set(sources)))
        return self._judge(state, start, end, keys, "sources", own, base) if keys else whole

    def _judge(self, state: FeedState, start: float, end: float, keys: tuple[str, ...],
               scope: str, own: tuple[float, ...], base: float) -> Verdict:
        expected = self.expected(state, base, keys, own)
        if expected is None or expected < self.p.min_expected:
            return NORMAL
        window = self.p.window.total_seconds()
        t = end
        while t > start:
            got = self.count(state, max(start, t - window), t, keys)
            share = (t - max(start, t - window)) / window
            if got < self.p.fraction * expected * share:
                return Verdict(True, got, expected, t, scope)
            t -= window
        return NORMAL

    def expected(self, state: FeedState, start: float, keys: tuple[str, ...] = (ALL,),
                 own: tuple[float, ...] = ()) -> float | None:
        """The usual count for one window, from the baseline before ``start``; None when too young."""
        window = self.p.window.total_seconds()
        if state.first is None or start - state.first < window:
            return None
        # the first article stands for the window before it: a day-dated feed's first day
        # is a day of news, not an instant
        begin = max(start - self.p.baseline.total_seconds(), state.first - window)
        span = start - begin
        mine = sum(1 for t in own if begin < t <= start)
        return max(0, self.count(state, begin, start, keys) - mine) * window / span

    def status(self, state: FeedState, now: float) -> tuple[FeedState, list[FeedNotice]]:
        """Read the last window at each grid moment before ``now``; notices on transitions."""
        if state.first is None:
            return state, []
        step, window = self.p.step_s, self.p.window.total_seconds()
        t = (state.checked if state.checked is not None else math.floor(state.first / step) * step) + step
        since, out = state.degraded_since, []
        last = state.checked
        while t < now:
            expected = self.expected(state, t - window)
            got = self.count(state, t - window, t)
            if expected is not None and expected >= self.p.min_expected:
                low = got < self.p.fraction * expected
                if low and since is None:
                    since = t
                    out.append(FeedNotice("degraded", t, got, expected, window))
                elif not low and since is not None:
                    since = None
                    out.append(FeedNotice("recovered", t, got, expected, window))
            last = t
            t += step
        return replace(state, degraded_since=since, checked=last), out

    def prune(self, state: FeedState, before: float) -> FeedState:
        """Forget buckets that end at or before ``before``."""
        cut = math.ceil(before / self.p.bucket_s)
        counts = {k: {b: n for b, n in v.items() if b > cut} for k, v in state.counts.items()}
        return replace(state, counts={k: v for k, v in counts.items() if v})
