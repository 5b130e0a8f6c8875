"""What every detector shares: the signal it returns and the way it is called."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from monitor.detect.state import Event, StoryState
from monitor.model import Changes
from monitor.rules.schema import Rule


@dataclass(frozen=True, slots=True)
class Signal:
    """A state transition worth an alert, with its named reason and supporting events."""

    kind: str
    at: float
    reason: str  # a constant name: rising_edge, rate_above_baseline, new_actor, ...
    explanation: str  # one sentence for humans
    events: tuple[Event, ...] = ()
    count: int | None = None
    threshold: int | None = None
    window_s: float | None = None
    changes: Changes | None = None
    extra: dict[str, object] = field(default_factory=dict)


class Detector(Protocol):
    """Looks at one story after each new article (``observe``) and on clock ticks (``tick``)."""

    kind: str

    def observe(self, rule: Rule, state: StoryState, event: Event, now: float) -> list[Signal]: ...

    def tick(self, rule: Rule, state: StoryState, now: float) -> list[Signal]: ...


def cooled(state: StoryState, kind: str, now: float, cooldown_s: float) -> bool:
    """True when the last alert of ``kind`` for this story is at least ``cooldown_s`` old."""
    last = state.slot(kind).get("fired_at")
    return last is None or now - float(last) >= cooldown_s


def mark_fired(state: StoryState, kind: str, now: float) -> None:
    state.slot(kind)["fired_at"] = now
