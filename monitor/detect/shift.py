"""Shift: the words and actors of a story's recent articles move away from its baseline.

On each article, when the recent window and the baseline before it each hold at least
``min_articles`` articles, the two are compared (``monitor.detect.framing``): D is the
Jensen-Shannon divergence of their salience-weighted term and actor distributions under
a shared informative prior. Long articles always differ a lot from one another, so D alone
says little; it is set against the same articles split at random into two groups of the
same sizes (``PERMUTATIONS`` re-splits, all of them when there are fewer, drawn with a seed
made of the story and the time so that a replay draws the same):

    z = (D - mean D of the re-splits) / their standard deviation

The shift fires when z reaches ``level`` (``LEVEL`` when the rule leaves it at 0) and D is
at least ``MIN_DIVERGENCE`` (a re-run of the same wire copy is no shift). With fewer than
``MIN_FOR_Z`` re-splits (tiny windows) the real split must be more divergent than every
one of them; with one article on each side there is none, so with ``min_articles: 1`` any
article that is not a re-run of the one before is a shift. Once told, a shift stays told
until the articles behind it have all left the recent window or z falls below
``resolve * level``; then it may fire again.

More than half of the recent articles must be about the story (most requirements of the
rule in the headline or the lead, ``Event.central``): when pieces on other stories that
mention it deep down make up the rest, their framing is theirs (counted as
``shift:off_story``).

What a shift lists must be said by the news, not by one article: a rising (fading) term
is carried by at least ``MIN_CARRIERS`` articles of the recent (baseline) window from as
many outlets, so one off-topic piece or one outlet's phrasing or absence is not a shift.
A shift with no such rising term, or whose rising terms are mostly those of the story's
last told shift, is not raised (counted as ``shift:<reason>``, a metric with its reason).

The rule's own actors and keyword words are the story's premise, not its framing: they
rise whenever the story does, so they are never listed as rising (a keyword that fades, "the
threat of force" dropped, is a change and is listed). Of the rising terms, ``MIN_CONTENT`` must
say something, named entities or words rare in English (``monitor.detect.content``); generic
words alone ("learn", "rate", "react") are no shift (``shift:no_content_terms``).
"""

from __future__ import annotations

import itertools
import math
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from monitor.annotate.terms import framing
from monitor.detect.base import Signal
from monitor.detect.content import carried, is_own, own_features
from monitor.detect.features import ACTOR_PREFIX, features, label
from monitor.detect.framing import Comparison, Term, compare, split_divergences
from monitor.detect.lifecycle import FIRED, Lifecycle, Reading
from monitor.detect.state import Event, StoryState
from monitor.model import Changes, TermChange
from monitor.rules.durations import format_duration
from monitor.rules.schema import Rule

LEVEL = 2.5  # standard deviations above chance; calibrated on the news corpus (docs/detectors.md)
MIN_DIVERGENCE = 0.08  # re-run of the same wire copy: 0.053; the Syria fixture pair: 0.106
PERMUTATIONS = 100  # re-splits drawn (all of them when there are fewer)
MIN_FOR_Z = 10  # with fewer re-splits the real one must beat them all
MAX_WINDOW = 60  # the most recent articles of each window that take part
MAX_LISTED = 8
MIN_Z = 0.5  # a listed term moved at least this many standard errors
MIN_CARRIERS = 2  # a listed term is carried by this many articles of as many outlets (fewer in a tiny window)
REPEAT = 0.5  # a shift whose new terms were this much of the last told shift's says nothing new
NOTHING_NEW, REPEATED, OFF_STORY = "no_shared_terms", "repeats_last_shift", "off_story"
NO_CONTENT = "no_content_terms"
Own = tuple[frozenset[str], frozenset[str]]  # the rule's actor features and keyword words


@dataclass(frozen=True, slots=True)
class Verdict:
    """One comparison of a story's windows, and how it stands against chance."""

    recent: tuple[Event, ...]
    baseline: tuple[Event, ...]
    comparison: Comparison
    splits: int  # other ways to split the same articles that were tried
    z: float | None  # standard deviations above their mean, when there are enough of them
    beats_all: bool  # more divergent than every one of them (true when there are none)

    def passes(self, level: float) -> bool:
        return self.beats_all if self.z is None else self.z >= level

    def reading(self, level: float, resolve: float) -> Reading:
        d = self.comparison.divergence
        return Reading(
            fire=d >= MIN_DIVERGENCE and self.passes(level),
            hold=d >= MIN_DIVERGENCE * resolve and self.passes(level * min(1.0, resolve)),
        )

    def describe(self, level: float) -> str:
        d = f"divergence {self.comparison.divergence:.2f}"
        n = len(self.recent) + len(self.baseline)
        if not self.splits:
            return f"{d}, one article on each side"
        if self.z is None:
            return f"{d}, above all {self.splits} other splits of the same {n} articles"
        return (f"{d}, {self.z:.1f} sd above {self.splits} random re-splits of the same {n} articles"
                f" (level {level:g})")


def judge(recent: Sequence[Event], baseline: Sequence[Event], seed: str) -> Verdict:
    """Compare the windows and set the divergence against random re-splits of their articles."""
    recent, baseline = tuple(recent[-MAX_WINDOW:]), tuple(baseline[-MAX_WINDOW:])
    bags = [framed(e) for e in recent + baseline]
    k, n = len(recent), len(bags)
    observed = compare(bags[:k], bags[k:])
    splits = _splits(n, k, seed)
    masks = np.zeros((len(splits) + 1, n), dtype=bool)
    masks[0, :k] = True
    for row, chosen in enumerate(splits, start=1):
        masks[row, list(chosen)] = True
    found = split_divergences(bags, masks)
    real, null = float(found[0]), found[1:]
    beats_all = bool((null < real).all())
    z = None
    if len(splits) >= MIN_FOR_Z:
        sd = float(null.std())
        z = (real - float(null.mean())) / sd if sd > 0 else (math.inf if beats_all else 0.0)
    return Verdict(recent, baseline, observed, len(splits), z, beats_all)


def framed(event: Event) -> dict[str, float]:
    """The article's features that can say how it frames the story (``terms.framing``), and its actors."""
    return {f: w for f, w in features(event).items() if f.startswith(ACTOR_PREFIX) or framing(f)}


def _splits(n: int, k: int, seed: str) -> list[frozenset[int]]:
    """Ways to pick k of n articles as 'recent' other than the real one and its mirror image:
    all of them when there are at most PERMUTATIONS, else PERMUTATIONS drawn with ``seed``."""
    real, mirror = frozenset(range(k)), frozenset(range(k, n))
    if math.comb(n, k) <= PERMUTATIONS + 2:
        every = (frozenset(c) for c in itertools.combinations(range(n), k))
        return [s for s in every if s not in (real, mirror)]
    rnd = random.Random(seed)
    out: list[frozenset[int]] = []
    while len(out) < PERMUTATIONS:
        pick = frozenset(rnd.sample(range(n), k))
        if pick not in (real, mirror):
            out.append(pick)
    return out


class ShiftDetector:
    """Fires when the framing of a story's recent articles departs from its baseline."""

    kind = "shift"

    def __init__(self, drops: Counter[str] | None = None) -> None:
        self.drops: Counter[str] = drops if drops is not None else Counter()  # "shift:<reason>"

    def observe(self, rule: Rule, state: StoryState, event: Event, now: float) -> list[Signal]:
        p = rule.shift
        recent_s, baseline_s = p.recent.total_seconds(), p.baseline.total_seconds()
        life = Lifecycle(self.kind, 0.0, rule.cooldown.total_seconds())
        slot = state.slot(self.kind)
        if life.phase(state) != "idle" and now >= float(slot.get("since", now)) + recent_s:
            life.step(state, now, Reading(fire=False, hold=False))  # the window has turned over
        recent = state.between(now - recent_s, now)
        baseline = state.between(now - recent_s - baseline_s, now - recent_s)
        if len(recent) < p.min_articles or len(baseline) < max(1, p.min_articles):
            return []
        if not _about(recent):
            self.drops[f"{self.kind}:{OFF_STORY}"] += 1  # half the recent articles are on other stories
            return []
        own = own_features(rule)
        verdict = judge(recent, baseline, f"{state.rule}/{state.story}/{now!r}")
        level = p.level or LEVEL
        slot["z"] = None if verdict.z is None else _finite(verdict.z)
        reading = verdict.reading(level, p.resolve)
        signal = None
        if reading.fire and life.phase(state) == "idle":  # only a rise is told: say what it says
            signal = _signal(self.kind, now, verdict, level, format_duration(p.recent), own)
            why = _nothing_new(signal, slot)
            if why:
                self.drops[f"{self.kind}:{why}"] += 1
                reading = Reading(fire=False, hold=False)
        done = life.step(state, now, reading)
        if done != FIRED:
            return []
        signal = signal or _signal(self.kind, now, verdict, level, format_duration(p.recent), own)
        assert signal.changes is not None
        slot["told"] = [c.term for c in signal.changes.rising]
        return [signal]

    def tick(self, rule: Rule, state: StoryState, now: float) -> list[Signal]:
        return []


def _about(recent: list[Event]) -> bool:
    """Most recent articles are about the story (``Event.central``), so what moved is the
    story's framing, not that of pieces on other stories that mention it."""
    return 2 * sum(e.central for e in recent) > len(recent)


def _signal(kind: str, now: float, verdict: Verdict, level: float, recent: str, own: Own) -> Signal:
    events = verdict.recent + verdict.baseline
    ups = [t for t in verdict.comparison.rising(MIN_Z) if not is_own(t.feature, own)]
    rising, features = _listed(ups, verdict.recent, events)
    fading, _ = _listed(verdict.comparison.fading(MIN_Z), verdict.baseline, events)
    cited = {a for c in rising + fading for a in c.articles} | {e.id for e in verdict.recent}
    words = "; ".join(
        part for part in (
            "new: " + ", ".join(c.term for c in rising) if rising else "",
            "fading: " + ", ".join(c.term for c in fading) if fading else "",
        ) if part
    )
    return Signal(
        kind, now, "framing_shift",
        f"the last {recent} ({_articles(len(verdict.recent))}) against the {len(verdict.baseline)} before "
        f"({verdict.describe(level)}): {words}",
        events=tuple(sorted((e for e in events if e.id in cited), key=lambda e: (e.at, e.id))),
        count=len(verdict.recent),
        changes=Changes(rising=tuple(rising), fading=tuple(fading),
                        divergence=round(verdict.comparison.divergence, 4)),
        extra={"z": verdict.z, "content": carried(features)},
    )


def _nothing_new(signal: Signal, slot: dict[str, object]) -> str:
    """Why a shift would say nothing new: no shared rising term, or the last told shift's terms."""
    assert signal.changes is not None
    rising = {c.term for c in signal.changes.rising}
    if not rising:
        return NOTHING_NEW
    if not signal.extra.get("content"):
        return NO_CONTENT
    told = slot.get("told")
    last = set(told) if isinstance(told, list) else set()
    return REPEATED if len(rising & last) >= REPEAT * len(rising) else ""


def _shared(ids: tuple[str, ...], carriers: Sequence[Event]) -> bool:
    """Carried by enough articles of enough outlets (an article without one is its own outlet)."""
    outlet = {e.id: e.source or e.id for e in carriers}
    need = min(MIN_CARRIERS, len(set(outlet.values())))
    return len(ids) >= min(MIN_CARRIERS, len(carriers)) and len({outlet[i] for i in ids}) >= need


def _listed(
    terms: list[Term], carriers: Sequence[Event], events: Sequence[Event]
) -> tuple[list[TermChange], list[str]]:
    """The strongest movers said by several outlets, each with the articles that carry it, and
    their features. A word of a listed phrase carried by the same articles is left out: "drop
    insistence" covers "drop"."""
    carried = {e.id: framed(e) for e in carriers}
    ranked = sorted(terms, key=lambda t: (-abs(t.z), t.feature))
    found = [(t, tuple(e.id for e in carriers if t.feature in carried[e.id])) for t in ranked]
    found = [(t, ids) for t, ids in found if _shared(ids, carriers)][: 3 * MAX_LISTED]
    phrases = [(set(t.feature.split(" ")), ids) for t, ids in found if " " in t.feature]
    out: list[TermChange] = []
    listed: list[str] = []
    for t, ids in found:
        words = set(t.feature.split(" "))
        if any(words < ws and ids == pids for ws, pids in phrases):
            continue
        out.append(TermChange(term=label(t.feature, events), score=round(t.z, 2), articles=ids))
        listed.append(t.feature)
        if len(out) == MAX_LISTED:
            break
    return out, listed


def _articles(n: int) -> str:
    return f"{n} article{'s' if n != 1 else ''}"


def _finite(x: float) -> float | None:
    return None if math.isinf(x) else round(x, 4)
