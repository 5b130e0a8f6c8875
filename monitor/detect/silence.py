"""Silence: a running story gets no matching article for ``after``.

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
"""

from __future__ import annotations

import bisect

from monitor.detect.base import Signal, cooled, mark_fired
from monitor.detect.state import Event, StoryState
from monitor.rules.durations import format_duration
from monitor.rules.schema import Rule


class SilenceDetector:
    """Fires once per quiet period of a story that was running."""

    kind = "silence"

    def observe(self, rule: Rule, state: StoryState, event: Event, now: float) -> list[Signal]:
        where = bisect.bisect_left(state.times, event.at)
        if where == 0 or state.events[-1].id != event.id:
            return []  # the story's first article, or a late one: no quiet period ends here
        previous = state.events[where - 1]
        if event.at - previous.at <= rule.silence.after.total_seconds():
            return []
        return self._report(rule, state, previous)

    def tick(self, rule: Rule, state: StoryState, now: float) -> list[Signal]:
        if not state.events or now - state.events[-1].at <= rule.silence.after.total_seconds():
            return []  # at exactly last + after an article of that same instant may still come
        return self._report(rule, state, state.events[-1])

    def _report(self, rule: Rule, state: StoryState, last: Event) -> list[Signal]:
        slot = state.slot(self.kind)
        if float(slot.get("quiet_after", float("-inf"))) >= last.at:
            return []  # this quiet period (or a later one) is already told
        slot["quiet_after"] = last.at
        after = rule.silence.after.total_seconds()
        running = _count_closed(state.times, last.at - after, last.at)
        if running < rule.silence.min_articles:
            return []
        at = last.at + after
        if not cooled(state, self.kind, at, rule.cooldown.total_seconds()):
            slot["suppressed"] = int(slot.get("suppressed", 0)) + 1
            return []
        mark_fired(state, self.kind, at)
        return [Signal(
            self.kind, at, "went_quiet",
            f"no matching article for {format_duration(after)} after {running} in the "
            f"{format_duration(after)} before",
            events=(last,), count=0, window_s=after,
        )]


def _count_closed(times: list[float], start: float, end: float) -> int:
    """Articles with start <= at <= end."""
    return bisect.bisect_right(times, end) - bisect.bisect_left(times, start)
