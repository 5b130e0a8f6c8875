"""Every detector kind in one table: the name a rule's ``detect:`` gives it, how the engine
builds it, and whether its signals wait to join a story-moment (``monitor.detect.moments``).

The names are the rule-file contract (``monitor.rules.schema.DETECTORS``, checked at import),
alerts carry them as ``AlertKind``, and the report colours them; ``tests/test_kinds.py`` keeps
those in step with this table. A new kind is one row here, one name in the schema.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from monitor.detect.anyarticle import AnyDetector
from monitor.detect.base import Detector
from monitor.detect.newactor import Aliases, Elsewhere, NewActorDetector
from monitor.detect.shift import ShiftDetector
from monitor.detect.silence import FeedBoard, SilenceDetector
from monitor.detect.spike import SpikeDetector
from monitor.detect.threshold import ThresholdDetector
from monitor.rules.schema import DETECTORS


@dataclass(frozen=True, slots=True)
class Wiring:
    """What the engine hands its detectors: the feed they judge against, the counters of what
    they leave out (by reason), and the rest of the feed's stories for new_actor."""

    feed: FeedBoard
    counters: Counter[str]
    elsewhere: Elsewhere | None = None
    aliases: Aliases | None = None  # a rule actor's names in the rule files


@dataclass(frozen=True, slots=True)
class Kind:
    """One detector kind: how it is built, and whether its alerts join a story-moment."""

    build: Callable[[Wiring], Detector]
    moment: bool = True  # False: sent as it comes (a silence has no articles to share)
    instant: bool = False  # True: waits only for the rest of its instant, not ``merge_hold_s``


KINDS: dict[str, Kind] = {
    "threshold": Kind(lambda w: ThresholdDetector(w.counters)),
    "spike": Kind(lambda w: SpikeDetector(w.feed, w.counters)),
    "new_actor": Kind(lambda w: NewActorDetector(w.counters, w.elsewhere, w.aliases)),
    "shift": Kind(lambda w: ShiftDetector(w.counters)),
    "silence": Kind(lambda w: SilenceDetector(w.feed, w.counters), moment=False),
    "any": Kind(lambda w: AnyDetector(w.counters), instant=True),  # a forwarded article goes at once
}
if tuple(KINDS) != DETECTORS:  # a kind added to the schema but not here, or the other way
    raise ImportError(f"detector kinds {tuple(KINDS)} differ from the rule schema's {DETECTORS}")

MOMENT_KINDS = frozenset(name for name, kind in KINDS.items() if kind.moment)
INSTANT_KINDS = frozenset(name for name, kind in KINDS.items() if kind.instant)


def build(wiring: Wiring) -> dict[str, Detector]:
    """One detector of every kind, wired to this engine."""
    return {name: kind.build(wiring) for name, kind in KINDS.items()}
