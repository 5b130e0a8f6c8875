"""The life of a condition-style alert: idle, pending, active, resolved, with cooldown.

A detector reads its condition at a moment as two booleans: at or above the firing
level, and at or above the lower resolve level. ``Lifecycle.step`` turns a sequence of
readings into named transitions. Between articles a count over a sliding window can only
change when an article leaves a window, so ``Lifecycle.advance`` reads the condition at
exactly those moments (and at the end of a pending period): transitions then happen at
times fixed by the articles alone, whether the clock ticks once a minute, once a batch,
or never. That is what lets a replay with a restart in the middle give the same alerts.

State lives in the detector's slot (``phase``, ``since``, ``checked``, ``fired_at`` and
counters), so it is saved with the offsets like everything else. ``checked`` never runs
ahead of event time: ticks come at the watermark, or at a live feed's wall clock, which
moves the watermark with it (``detect/watermark.py``).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from monitor.detect.base import cooled, mark_fired
from monitor.detect.state import StoryState

IDLE, PENDING, ACTIVE = "idle", "pending", "active"
REPEAT_FACTOR = 2.0  # a rise this many times the last alert's peak is news even without a calm

# Transitions, as named reasons.
FIRED = "fired"
SUPPRESSED = "suppressed_by_cooldown"  # fired, but within the cooldown: counted, not sent
RESOLVED = "resolved"
REPEAT = "repeat_not_calmed"  # rose again before calming down, and not much higher: counted, not sent
ABANDONED = "pending_abandoned"  # fell back below the firing level before the pending period ended


@dataclass(frozen=True, slots=True)
class Reading:
    """Where a detector's condition stands at one moment."""

    fire: bool  # at or above the firing level
    hold: bool  # at or above the resolve level (lower): an active alert stays active
    level: float = 0.0  # the measure itself (a count, a rate): "much higher" compares these


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """Hysteresis, pending period and cooldown for one detector kind of one story."""

    kind: str
    pending_s: float = 0.0
    cooldown_s: float = 0.0
    calm_s: float = 0.0  # how long the condition must stay below the resolve level to re-arm

    def phase(self, state: StoryState) -> str:
        return str(state.slot(self.kind).get("phase", IDLE))

    def step(self, state: StoryState, t: float, reading: Reading, *, may_start: bool = True,
             fresh: bool = True) -> str | None:
        """Apply one reading at time ``t``; returns the transition it caused, if any.

        ``may_start`` is False for readings between articles: a rise starts only with an article.
        ``fresh`` is False for a rise that ``calmed`` finds is the last one going on.
        """
        slot = state.slot(self.kind)
        phase = self.phase(state)
        if phase == ACTIVE:
            if reading.hold:
                return self._hold(state, t, reading)
            slot["phase"] = IDLE
            slot["resolved_at"] = t
            return RESOLVED
        if phase == PENDING:
            if not reading.fire:
                slot["phase"] = IDLE
                _bump(slot, ABANDONED)
                return ABANDONED
            return self._fire(state, t) if t >= self.due(state) else None
        if not (reading.fire and may_start):
            return None
        slot["since"] = t
        slot["level"] = reading.level
        slot["repeat"] = not fresh
        if self.pending_s > 0:
            slot["phase"] = PENDING
            return None
        return self._fire(state, t)

    def due(self, state: StoryState) -> float:
        """When a pending rise becomes an alert (infinite when nothing is pending)."""
        slot = state.slot(self.kind)
        if slot.get("phase") != PENDING:
            return float("inf")
        return float(slot["since"]) + self.pending_s

    def advance(
        self, state: StoryState, until: float, moments: Iterable[float],
        read: Callable[[float], Reading], *, inclusive: bool,
    ) -> list[tuple[float, str]]:
        """Read the condition at each moment after the last check up to ``until``.

        ``moments`` are the times at which the condition may change without an article
        (an article leaving a window); the end of a pending period is added here.
        """
        slot = state.slot(self.kind)
        start = float(slot.get("checked", float("-inf")))
        out: list[tuple[float, str]] = []
        if self.phase(state) != IDLE:
            points = {m for m in moments if start < m} | {self.due(state)}
            for t in sorted(points):
                if t > until or (t == until and not inclusive):
                    break
                done = self.step(state, t, read(t), may_start=False)
                if done is not None:
                    out.append((t, done))
                if self.phase(state) == IDLE:
                    break
        slot["checked"] = max(start, until)
        return out

    def fresh(self, state: StoryState, t: float, reading: Reading,
              moments: Callable[[float], Iterable[float]], read: Callable[[float], Reading]) -> bool:
        """``calmed`` for a reading that would start a rise (True when it would not: no work)."""
        if not reading.fire or self.phase(state) != IDLE:
            return True
        resolved = state.slot(self.kind).get("resolved_at")
        return resolved is None or self.calmed(state, t, moments(float(resolved)), read)

    def calmed(self, state: StoryState, t: float, moments: Iterable[float],
               read: Callable[[float], Reading]) -> bool:
        """Whether a rise at ``t`` is a new development rather than the last one going on.

        It is when nothing fired yet, when the condition stayed below the resolve level for
        ``calm_s`` at a stretch since the last alert resolved (read at ``moments``, where it
        may change), or when it rose to ``REPEAT_FACTOR`` times the last alert's peak.
        """
        slot = state.slot(self.kind)
        resolved = slot.get("resolved_at")
        if "peak" not in slot or resolved is None:
            return True
        if read(t).level >= REPEAT_FACTOR * float(slot["peak"]):
            return True
        low: float | None = None
        for m in sorted({float(resolved), *(m for m in moments if float(resolved) < m < t)}):
            if read(m).hold:
                low = None
            elif low is None:
                low = m
            if low is not None and t - low >= self.calm_s:
                return True
        return low is not None and t - low >= self.calm_s

    def _hold(self, state: StoryState, t: float, reading: Reading) -> str | None:
        """An active condition holds: its peak grows; a repeat that doubles the peak is news."""
        slot = state.slot(self.kind)
        peak = float(slot.get("peak", 0.0))
        if not slot.get("repeating"):
            slot["peak"] = max(peak, reading.level)
            return None
        if not (reading.fire and reading.level >= REPEAT_FACTOR * peak):
            return None
        slot["level"] = reading.level
        return self._fire(state, t)

    def _fire(self, state: StoryState, t: float) -> str:
        slot = state.slot(self.kind)
        slot["phase"] = ACTIVE
        if slot.pop("repeat", False):
            slot["repeating"] = True
            _bump(slot, REPEAT)
            return REPEAT
        slot["repeating"] = False
        slot["peak"] = float(slot.get("level", 0.0))
        if not cooled(state, self.kind, t, self.cooldown_s):
            _bump(slot, SUPPRESSED)
            return SUPPRESSED
        mark_fired(state, self.kind, t)
        return FIRED


def rewind(slot: dict[str, Any], watermark: float) -> None:
    """Undo a check that ran ahead of event time (wall-clock ticks did, before the live
    clock): an active or pending condition is read again from the moment it rose, so the
    moments its articles leave their windows are not skipped; an idle one from the watermark."""
    checked = slot.get("checked")
    if checked is None or float(checked) <= watermark:
        return
    rose = slot.get("since")
    slot["checked"] = float(rose) if slot.get("phase", IDLE) != IDLE and rose is not None else watermark


def leaving(times: list[float], start: float, end: float, spans: Iterable[float]) -> list[float]:
    """Moments in (start, end] when an article at one of ``times`` leaves a window of ``spans``."""
    out: list[float] = []
    for span in spans:
        lo = bisect.bisect_right(times, start - span)
        hi = bisect.bisect_right(times, end - span)
        out.extend(t + span for t in times[lo:hi])
    return out


def _bump(slot: dict[str, object], name: str) -> None:
    counts = slot.setdefault("counts", {})
    assert isinstance(counts, dict)
    counts[name] = int(counts.get(name, 0)) + 1
