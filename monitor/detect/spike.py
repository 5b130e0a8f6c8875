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
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.detect.base import Signal
from monitor.detect.lifecycle import FIRED, RESOLVED, Lifecycle, Reading, leaving
from monitor.detect.state import Event, StoryState
from monitor.rules.durations import format_duration
from monitor.rules.schema import Rule, SpikeParams


@dataclass(frozen=True, slots=True)
class Rate:
    """The numbers behind one spike reading."""

    recent: int
    baseline: int
    span_s: float
    expected: float
    level: float
    warm: bool

    def reading(self, resolve: float) -> Reading:
        return Reading(
            fire=self.warm and self.recent >= self.level,
            hold=self.recent >= min(1.0, resolve) * self.level,
        )


def rate(p: SpikeParams, state: StoryState, since: float, t: float) -> Rate:
    """The spike reading of a story at time ``t`` (pure: no clock, no state change)."""
    recent_s, baseline_s = p.recent.total_seconds(), p.baseline.total_seconds()
    warmup_s = p.warmup.total_seconds()
    r = state.count(t - recent_s, t)
    b = state.count(t - recent_s - baseline_s, t - recent_s)
    span = min(baseline_s, max(t - recent_s - since, warmup_s, 1.0))
    expected = b * recent_s / span
    return Rate(r, b, span, expected, max(float(p.min_count), p.factor * expected), t - since >= warmup_s)


class SpikeDetector:
    """Fires when coverage in the recent window is ``factor`` times the story's usual rate."""

    kind = "spike"

    def observe(self, rule: Rule, state: StoryState, event: Event, now: float) -> list[Signal]:
        slot = state.slot(self.kind)
        span = (rule.spike.recent + rule.spike.baseline).total_seconds()
        if "first" not in slot or state.count(event.at - span, event.at) <= 1:
            slot["first"] = event.at  # a story back after longer than its windows starts afresh
        slot["first"] = min(float(slot["first"]), event.at)
        signals = self._advance(rule, state, now, inclusive=False)
        done = self._life(rule).step(state, now, self._rate(rule, state, now).reading(rule.spike.resolve))
        return signals + self._signals(rule, state, now, done)

    def tick(self, rule: Rule, state: StoryState, now: float) -> list[Signal]:
        if "first" not in state.slot(self.kind):
            return []
        return self._advance(rule, state, now, inclusive=True)

    def _life(self, rule: Rule) -> Lifecycle:
        return Lifecycle(self.kind, rule.spike.pending.total_seconds(), rule.cooldown.total_seconds())

    def _rate(self, rule: Rule, state: StoryState, t: float) -> Rate:
        return rate(rule.spike, state, float(state.slot(self.kind)["first"]), t)

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
            events=tuple(state.between(t - recent_s, t)), count=got.recent,
            threshold=round(got.level), window_s=recent_s,
            extra={"expected": got.expected, "baseline": got.baseline},
        )]
