"""Which story of a rule an article belongs to.

An article that carries an upstream ``story_id`` belongs to that story. Otherwise the
rule's articles are grouped online, in the manner of single-pass topic detection and
tracking (docs/detectors.md "Stories" has the method, docs/quality.md its scores):

* A syndicated copy (``monitor.detect.copies``) goes to the story of the text it copies.
* Else an article is a TF-IDF vector of its heaviest features (``monitor.detect.features``:
  headline and lead terms, actors; the rule's own actors and keywords left out, every
  article of the rule has them) and joins the live story whose centroid is most similar,
  when the cosine similarity reaches ``JOIN``, or when it says too little to judge.
* Under a narrow rule (not ``all``), an article that shares at least ``NARROW_JOIN`` with
  a live story (plain cosine, no boost), or one of its actors, joins it too: the desk wrote
  the rule for one story,
  and an article that moves it on (new framing, new actors) belongs in its thread, where
  shift and new_actor tell what changed (the seed example of DESIGN.md).
* Otherwise it is an outlier: counted in the closest story (the rule matched it, after
  all) but kept out of its centroid, and remembered. When a later outlier is at least
  ``SEED`` similar to a remembered one, the two open a new story. One stray article never
  makes a story; two that agree with each other and with no story do.
* Recency: a story that has just had an article is the likelier home (news comes in
  bursts), one quiet for more than ``STALE_AFTER_S`` the less likely (a new event of the
  same kind more so): its similarity halves for each further ``STALE_HALF_LIFE_S``.
* Mending splits: a fragment (at most two articles) quiet for a day is folded into the
  larger story its centroid is closest to, when close enough (``monitor.detect.fragments``);
  the engine moves its articles.
* A story is live until it has had no article for the rule's longest window.

Names are stable and readable: while a rule follows one story, that story is named after
the rule (DESIGN.md); each further story is ``<rule>/<about>-<n>``, after what its two
opening articles share (their heaviest common actor or term), e.g. ``brexit/article-50-2``.

``place`` decides and changes nothing; ``commit`` records the placement once the story's
window state has accepted the article, so a duplicate delivery changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from monitor.detect.clusters import (
    MAX_OUTLIERS,
    MAX_STORIES,
    MAX_VECTOR,
    Cluster,
    Outlier,
    RuleStories,
    Vector,
    cosine,
    dot,
    heaviest,
    norm,
)
from monitor.detect.copies import signature
from monitor.detect.features import ACTOR_PREFIX, features
from monitor.detect.fragments import Fold, Pair, fold, plan
from monitor.detect.naming import about
from monitor.detect.state import Event
from monitor.model import Annotated
from monitor.rules.schema import Rule

JOIN = 0.45  # cosine similarity (times ``_fresh``) to a story's centroid, for a headline
SHORT, POWER = 10, 0.8  # ... and for a text of n > SHORT features, JOIN * (SHORT / n) ** POWER
SEED = 0.3  # cosine similarity of two outliers that open a new story together (narrow rules)
NARROW_JOIN = 0.08  # a narrow rule's article joins a story this similar, unboosted (see _choose)
BOOST = 4.0  # similarity to a story that has just had an article counts up to 1 + BOOST times
RECENT_S = 3600.0  # half-life of that boost
STALE_AFTER_S = 2 * 86400.0  # a story quiet longer than this is a less likely home ...
STALE_HALF_LIFE_S = 4 * 86400.0  # ... by half for each further 4 days
CONTINUE_S = 60.0  # an article that fits no story joins one that had an article this recently
ABSORB_EVERY_S = 3600.0  # quiet fragments are looked at once in this much event time
LEAD_TERMS = 60  # terms of an article (headline and lead, in text order) that it is compared by
MIN_FEATURES = 3  # an article with fewer features joins the most similar story

UPSTREAM, COPY, JOINED, OUTLIER, OPENED = "upstream", "copy", "joined", "outlier", "opened"


@dataclass(frozen=True)
class Placement:
    """Where one article goes in its rule's stories, and what ``commit`` needs to record it."""

    rule: str
    article: str
    at: float
    story: str
    how: str  # upstream | copy | joined | outlier | opened
    copy_of: str | None = None  # the article whose text this one copies
    seed: Outlier | None = None  # opens a new story together with this article
    raw: Mapping[str, float] = field(default_factory=dict, compare=False, repr=False)
    vector: Mapping[str, float] = field(default_factory=dict, compare=False, repr=False)
    text: np.ndarray | None = field(default=None, compare=False, repr=False)  # MinHash values


class StoryAssigner:
    """Upstream ``story_id`` when the article carries one; else online grouping within the rule."""

    def __init__(self) -> None:
        self.rules: dict[str, RuleStories] = {}
        self._skips: dict[str, tuple[Rule, list[str], frozenset[str]]] = {}
        self._changed: set[str] = set()  # rules whose stories changed since ``take_changes``
        self._text: tuple[str, np.ndarray | None] | None = None  # last article's signature
        self._pairs: dict[str, dict[Pair, float]] = {}  # per rule: fragment-story similarities seen

    def place(self, rule: Rule, item: Annotated, event: Event | None = None) -> Placement:
        """Where the article goes (a new story's name when it opens one); changes nothing."""
        event = event or Event.of(item)
        if item.article.story_id:
            return Placement(rule.id, event.id, event.at, item.article.story_id, UPSTREAM)
        stories = self.rules.get(rule.id) or RuleStories()
        text = self._signature(item)
        horizon = event.at - _horizon(rule)
        live = [c for c in stories.clusters if c.last >= horizon]
        raw = self._vector(rule, event)
        vector = heaviest(stories.weigh(raw), MAX_VECTOR)
        base = Placement(rule.id, event.id, event.at, rule.id, OPENED, raw=raw, vector=vector, text=text)
        original = stories.copies.original(text, horizon)
        if original is not None and any(c.name == original.story for c in live):
            return replace(base, story=original.story, how=COPY, copy_of=original.id)
        if not live:  # the rule follows no story now: this one takes the rule's name
            return base
        return self._choose(rule, stories, event, live, base)

    def _choose(self, rule: Rule, stories: RuleStories, event: Event, live: list[Cluster],
                base: Placement) -> Placement:
        """Join the closest live story, or (fitting none) continue a burst, open a story, or wait."""
        vector, at = dict(base.vector), event.at
        # candidates: the stories that share a feature; the dot products need only the shared
        length, (near, seen) = norm(vector), stories.sharing(vector)
        similar = [(dot(seen, c.centroid) / (length * c.norm), c) for c in live if c.name in near and c.norm]
        scored = [(sim * _fresh(at - c.last), c.last, c.name) for sim, c in similar]
        latest = max(live, key=lambda c: (c.last, c.name))
        best, _, name = max(scored, default=(0.0, latest.last, latest.name))
        if best >= _join(len(vector)) or len(vector) < MIN_FEATURES:
            return replace(base, story=name, how=JOINED)
        # A narrow rule was written for one story: an article that moves it on (new framing,
        # new actors) stays in its thread when it shares this much with it, before any boost
        # for recent activity; the feed's level, tuned to tell stories apart, is for `all` rules.
        if not rule.match.all:
            home = _narrow_home(vector, similar)
            if home is not None:
                return replace(base, story=home, how=JOINED)
        if 0 < at - latest.last <= CONTINUE_S:  # fits no story, in the middle of a burst of this one
            return replace(base, story=latest.name, how=JOINED)
        fresh = self._new_name(rule, stories, event, vector)
        if rule.match.all:  # a feed's article that fits no story is another story
            return replace(base, story=fresh)
        recent = [(cosine(o.vector, vector, o.norm, length) * _fresh(at - o.at), o.at, o)
                  for o in stories.outliers if o.at >= at - _horizon(rule)]
        close, _, seed = max(recent, key=lambda r: r[:2], default=(0.0, 0.0, None))
        if seed is not None and close >= SEED:
            return replace(base, story=fresh, seed=seed)
        return replace(base, story=name, how=OUTLIER)

    def absorb(self, rule: Rule, now: float) -> list[Fold]:
        """Fold the rule's quiet fragments into the stories they split from
        (``monitor.detect.fragments``), at the first article of each ``ABSORB_EVERY_S``; the
        engine moves their articles. When it runs depends on saved state only, so a restart
        folds the same fragments at the same articles."""
        stories = self.rules.get(rule.id)
        if stories is None or not stories.docs or now // ABSORB_EVERY_S <= stories.df_at // ABSORB_EVERY_S:
            return []
        keep = "" if rule.match.all else rule.id
        folds = plan(rule.id, stories, now, now - _horizon(rule), keep, self._pairs.setdefault(rule.id, {}))
        for f in folds:
            fold(stories, f)
        if folds:
            self._changed.add(rule.id)
        return folds

    def commit(self, rule: Rule, placement: Placement) -> None:
        """Record a placed article that its story's window state accepted."""
        if placement.how == UPSTREAM:
            return
        stories = self.rules.setdefault(rule.id, RuleStories())
        self._changed.add(rule.id)
        at, horizon = placement.at, placement.at - _horizon(rule)
        stories.count(dict(placement.raw), at)
        stories.copies.keep(placement.article, at, placement.story, placement.text, horizon)
        stories.outliers = [o for o in stories.outliers if o.at >= horizon]
        vector = dict(placement.vector)
        if placement.how == OUTLIER:
            outlier = Outlier(placement.article, at, vector, norm(vector))
            stories.outliers = [*stories.outliers, outlier][-MAX_OUTLIERS:]
            return
        cluster = next((c for c in stories.clusters if c.name == placement.story), None)
        if cluster is None or (placement.how == OPENED and cluster.last < horizon):
            stories.clusters = [c for c in stories.clusters if c.name != placement.story]
            cluster = Cluster(placement.story, at, at)
            stories.clusters.append(cluster)
            if placement.story != rule.id:
                stories.next += 1
            _bound(stories)
        if placement.seed is not None:
            cluster.add(placement.seed.vector, placement.seed.at)
            stories.indexed(cluster.name, placement.seed.vector)
            stories.outliers = [o for o in stories.outliers if o.id != placement.seed.id]
        if placement.how != COPY:  # a copy says nothing its original did not
            cluster.add(vector, at)
            stories.indexed(cluster.name, vector)
        else:
            cluster.last = max(cluster.last, at)
            cluster.count += 1

    def _signature(self, item: Annotated) -> np.ndarray | None:
        """The article's MinHash: the one its annotator carried, else computed once however
        many rules it matches."""
        if item.fingerprint is not None:
            return item.fingerprint.values
        a = item.article
        if self._text is None or self._text[0] != a.id:
            self._text = (a.id, signature(a.title, a.body))
        return self._text[1]

    def _vector(self, rule: Rule, event: Event) -> Vector:
        """What the article is about beyond what every article of the rule shares."""
        cached = self._skips.get(rule.id)
        if cached is None or cached[0] is not rule:
            words = frozenset(w for k in rule.match.phrases for w in k.split())
            cached = (rule, [*rule.match.actors, *rule.match.any_actors], words)
            self._skips[rule.id] = cached
        found = features(event, skip_actors=cached[1], skip_words=cached[2])
        terms = [w for w in found if not w.startswith(ACTOR_PREFIX)]  # in text order
        for w in terms[LEAD_TERMS:]:
            del found[w]
        return found

    def prune(self, rule: Rule, before: float) -> int:
        """Forget stories of the rule whose last article is at or before ``before``."""
        stories = self.rules.get(rule.id)
        if stories is None:
            return 0
        kept = [c for c in stories.clusters if c.last > before]
        outliers = [o for o in stories.outliers if o.at > before]
        gone = len(stories.clusters) - len(kept)
        copies = stories.copies.forget_before(before)
        if gone or copies or len(outliers) != len(stories.outliers):
            self._changed.add(rule.id)
            stories.clusters, stories.outliers = kept, outliers
            stories.forgot(gone)
        return gone

    def to_json(self) -> dict[str, Any]:
        return {rid: s.to_json() for rid, s in sorted(self.rules.items())}

    def take_changes(self) -> dict[str, dict[str, Any] | None]:
        """The stories of each rule changed since the last call (None: forgotten), for the
        store: a commit writes the rules its batch touched, not every rule's stories."""
        changed, self._changed = self._changed, set()
        return {rid: s.to_json() if (s := self.rules.get(rid)) is not None else None
                for rid in sorted(changed)}

    def restore(self, data: dict[str, Any]) -> None:
        self._changed.clear()
        self.rules = {rid: RuleStories.from_json(s) for rid, s in data.items() if isinstance(s, dict)}

    def forget_rule(self, rule_id: str) -> None:
        self._skips.pop(rule_id, None)
        if self.rules.pop(rule_id, None) is not None:
            self._changed.add(rule_id)

    @staticmethod
    def _new_name(rule: Rule, stories: RuleStories, event: Event, vector: Vector) -> str:
        return f"{rule.id}/{about(event.title, vector)}-{stories.next}"


def _narrow_home(vector: Vector, similar: list[tuple[float, Cluster]]) -> str | None:
    """The story a narrow rule's article continues: the most similar one that is at least
    ``NARROW_JOIN`` similar or shares one of the article's actors (beyond the rule's own)."""
    cast = [w for w in vector if w.startswith(ACTOR_PREFIX)]
    fits = [(sim, c.last, c.name) for sim, c in similar
            if sim >= NARROW_JOIN or any(w in c.centroid for w in cast)]
    return max(fits)[2] if fits else None


def _join(features: int) -> float:
    """The similarity an article of ``features`` features needs to join a story: ``JOIN`` for
    a headline, less for a longer text, whose chance overlap with any story is smaller."""
    return JOIN * min(1.0, SHORT / max(features, 1)) ** POWER


def _fresh(age: float) -> float:
    """How much a story's recent activity adds to an article's similarity to it: news comes
    in bursts, so a story that just had an article is the likelier home; one quiet for days is
    the less likely (a new event of the same kind more so) (docs/quality.md)."""
    if age <= 0:  # the same time stamp: a coarse clock (day-dated articles) says nothing
        return 1.0
    stale = 0.5 ** (max(0.0, age - STALE_AFTER_S) / STALE_HALF_LIFE_S)
    return (1.0 + BOOST * 0.5 ** (age / RECENT_S)) * stale


def _horizon(rule: Rule) -> float:
    return rule.longest_window.total_seconds()


def _bound(stories: RuleStories) -> None:
    """At most ``MAX_STORIES``: the one quiet the longest goes first."""
    if len(stories.clusters) > MAX_STORIES:
        stories.clusters.sort(key=lambda c: (c.last, c.name))
        gone = len(stories.clusters) - MAX_STORIES
        del stories.clusters[:gone]
        stories.forgot(gone)
