"""Event time against the wall clock: when a wall-clock tick may move event time, and how far.

Detectors judge in event time: windows, re-arming and silence follow the articles'
``published_at``, and the run loop ticks them at the watermark after every batch, as a
backtest does. The wall clock knows nothing about that time in general: a backlog, a
replay of last spring's news, a pause in the input, a broker outage or a restart all put
the wall clock months or minutes away from the articles, and a tick at the wall clock
would read windows at moments their articles have not reached yet (a threshold read in
December stays where March left it).

One case needs the wall clock: a live feed that goes quiet, where no article comes to
move event time and a story's silence would never be noticed. ``LiveClock`` tells that
case apart. The feed is live when its newest article arrived within ``live_lag_s`` of its
publication and the source is caught up (nothing waits upstream); then event time goes
on at the wall clock's pace from the last article, keeping the lag it had. Anything else
(a backlog, history, a source that cannot tell) gets no wall-clock time at all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class LiveClock:
    """Where event time stands by the wall clock, for a live feed only (see the module)."""

    live_lag_s: float = 3600.0
    wall_at: float | None = None  # wall time when the watermark last moved
    event_at: float = -math.inf  # ... and where it moved to

    def observe(self, wall: float, watermark: float) -> None:
        """After a batch: remember when event time last moved, by the wall clock."""
        if math.isfinite(watermark) and watermark > self.event_at:
            self.wall_at, self.event_at = wall, watermark

    @property
    def live(self) -> bool:
        return self.wall_at is not None and self.wall_at - self.event_at <= self.live_lag_s

    def now(self, wall: float, *, caught_up: bool, watermark: float) -> float | None:
        """The event time a wall-clock tick at ``wall`` may move to, or None to leave time alone."""
        if not caught_up or not self.live or self.wall_at is None:
            return None
        target = self.event_at + (wall - self.wall_at)
        return target if target > watermark else None
