"""Frozen, typed rules: what the loader produces and every later stage reads."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

DETECTORS = ("threshold", "spike", "new_actor", "shift", "silence", "any")
SEVERITIES = ("info", "warning", "high", "critical")


@dataclass(frozen=True, slots=True)
class ActorDef:
    """A canonical actor and the names that refer to it."""

    id: str
    name: str
    aliases: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MatchSpec:
    """Which articles a rule is about; keyword phrases are stored lower case.

    ``all`` follows every article of the feed (a topic feed filtered upstream), less those
    that name an ``exclude`` keyword; it takes no other key, and the rule's stories are
    found by grouping alone.
    """

    actors: tuple[str, ...] = ()
    any_actors: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    all_keywords: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    min_relevance: float | None = None  # how central they must be (0..1); None: the default level
    all: bool = False  # every article of the feed (with ``exclude`` at most)
    names: tuple[str, ...] = ()  # keywords the rule writes with a capital ("Greyball"), lower case

    @property
    def phrases(self) -> tuple[str, ...]:
        return self.keywords + self.all_keywords + self.exclude


@dataclass(frozen=True, slots=True)
class Threshold:
    count: int = 3
    window: timedelta = timedelta(hours=6)
    pending: timedelta = timedelta(0)  # the count must stay at or above ``count`` this long


@dataclass(frozen=True, slots=True)
class SpikeParams:
    recent: timedelta = timedelta(hours=6)
    baseline: timedelta = timedelta(days=7)
    factor: float = 3.0
    min_count: int = 3
    warmup: timedelta = timedelta(days=1)  # a story younger than this cannot spike
    pending: timedelta = timedelta(0)  # the rate must stay above the level this long first
    resolve: float = 0.5  # back to normal below this fraction of the firing level


@dataclass(frozen=True, slots=True)
class NewActorParams:
    recent: timedelta = timedelta(hours=24)
    baseline: timedelta = timedelta(days=7)
    min_articles: int = 2
    min_baseline: int = 1  # articles the baseline needs before anyone counts as new


@dataclass(frozen=True, slots=True)
class ShiftParams:
    recent: timedelta = timedelta(hours=24)
    baseline: timedelta = timedelta(days=7)
    min_articles: int = 3
    level: float = 0.0  # 0 = the calibrated default of the shift detector
    resolve: float = 0.5  # re-armed once the divergence falls below this fraction of the level


@dataclass(frozen=True, slots=True)
class SilenceParams:
    after: timedelta = timedelta(hours=24)
    min_articles: int = 2  # a story counts as running with this many articles within ``after``


@dataclass(frozen=True, slots=True)
class AnyParams:
    min_interval: timedelta = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class Rule:
    """One analyst rule: what to match, what to detect, where to tell."""

    id: str
    match: MatchSpec
    description: str = ""
    threshold: Threshold = Threshold()
    detect: tuple[str, ...] = ("threshold",)
    cooldown: timedelta = timedelta(hours=1)
    severity: str = "warning"
    channel: str | None = None
    enabled: bool = True
    notify_resolved: bool = False
    spike: SpikeParams = SpikeParams()
    new_actor: NewActorParams = NewActorParams()
    shift: ShiftParams = ShiftParams()
    silence: SilenceParams = SilenceParams()
    any: AnyParams = AnyParams()
    origin: str = ""  # "file:line" of the rule, for messages

    @property
    def state_fingerprint(self) -> str:
        """Changes when a reload must drop this rule's state (match, windows, detectors)."""
        parts = {k: v for k, v in asdict(self).items() if k in _STATEFUL}
        blob = json.dumps(parts, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    @property
    def longest_window(self) -> timedelta:
        spans = [self.threshold.window, self.cooldown]
        if "spike" in self.detect:
            spans.append(self.spike.baseline + self.spike.recent)
        if "new_actor" in self.detect:
            spans.append(self.new_actor.baseline + self.new_actor.recent)
        if "shift" in self.detect:
            spans.append(self.shift.baseline + self.shift.recent)
        if "silence" in self.detect:
            spans.append(self.silence.after)
        return max(spans)


_STATEFUL = ("match", "threshold", "detect", "spike", "new_actor", "shift", "silence", "any")


@dataclass(frozen=True, slots=True)
class Silence:
    """Alerts of a rule (optionally one story, some kinds) held back until a time."""

    rule: str
    until: datetime
    story: str | None = None
    kinds: tuple[str, ...] = ()
    reason: str = ""
    origin: str = ""

    def covers(self, rule: str, story: str, kind: str, at: datetime) -> bool:
        return (
            rule == self.rule and at < self.until
            and (self.story is None or story == self.story)
            and (not self.kinds or kind in self.kinds)
        )


@dataclass(frozen=True, slots=True)
class RuleSet:
    """All rules and actors loaded together; swapped as a whole on reload."""

    actors: Mapping[str, ActorDef] = field(default_factory=dict)
    rules: tuple[Rule, ...] = ()
    files: tuple[str, ...] = ()
    silences: tuple[Silence, ...] = ()

    @property
    def enabled(self) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.enabled)

    def rule(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    def needs(self, detector: str) -> bool:
        return any(detector in r.detect for r in self.enabled)
