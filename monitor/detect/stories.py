"""Which story of a rule an article belongs to.

An article that carries an upstream ``story_id`` belongs to that story. Otherwise the
rule's articles are clustered online, in the manner of single-pass topic detection and
tracking: an article is a TF-IDF vector of its salient terms and actors
(``monitor.detect.features``, leaving out the rule's own actors and keywords, which every
article of the rule shares; document frequencies are the rule's own, decayed with a
half-life of ``HALF_LIFE_S``), and each story keeps a decayed centroid of its articles.

* An article joins the most similar live story when the cosine similarity reaches
  ``JOIN``, or when there is too little to judge (fewer than ``MIN_FEATURES`` features, or
  a story nothing is known about yet).
* Otherwise it is an outlier: it is counted in the closest story (the rule matched it,
  after all) but kept out of its centroid, and remembered. When a later outlier is at least
  ``SEED`` similar to a remembered one, the two open a new story. One stray article never
  makes a story; two that agree with each other and with nothing else do.
* A story is live until it has had no article for the rule's longest window; choices look
  only at live stories, so they do not depend on when old state was evicted.

Names are stable and readable: while a rule follows one story, that story is named after
the rule (the contract of DESIGN.md); each further story is ``<rule>/<about>-<n>``, after
the first of its own actors that the opening headline names, else its heaviest term, e.g.
``north-korea/trump-2``.

``assign`` only chooses; ``learn`` records the article once the story's window state has
accepted it, so a duplicate delivery changes nothing.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from monitor.detect.features import ACTOR_PREFIX, features
from monitor.detect.state import Event
from monitor.model import Annotated
from monitor.rules.schema import Rule

JOIN = 0.08  # cosine similarity to a story's centroid: calibrated in docs/detectors.md
SEED = 0.25  # cosine similarity of two outliers that open a new story together
MAX_OUTLIERS = 20
MAX_DF = 1000  # document frequencies kept per rule: the common terms, which IDF discounts
HALF_LIFE_S = 2 * 86400.0
MIN_FEATURES = 5  # an article with fewer features joins the most similar story
MAX_CENTROID = 300  # features kept per story
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass
class Cluster:
    """One story of a rule: its name, when it last had an article, and what it is about."""

    name: str
    last: float
    count: int = 0
    centroid: dict[str, float] = field(default_factory=dict)
    _norm: float | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def norm(self) -> float:
        if self._norm is None:
            self._norm = _norm(self.centroid)
        return self._norm

    def similarity(self, vector: dict[str, float], norm: float | None = None) -> float:
        return _cosine(vector, self.centroid, norm, self.norm)

    def add(self, vector: dict[str, float], at: float) -> None:
        decay = 0.5 ** (max(0.0, at - self.last) / HALF_LIFE_S)
        merged = {w: v * decay for w, v in self.centroid.items()}
        unit = _norm(vector) or 1.0
        for w, v in vector.items():
            merged[w] = merged.get(w, 0.0) + v / unit
        if len(merged) > MAX_CENTROID:  # keep the heaviest features (ties by name)
            merged = dict(sorted(merged.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_CENTROID])
        self.centroid = {w: round(v, 6) for w, v in merged.items()}
        self._norm = None
        self.last = max(self.last, at)
        self.count += 1

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "last": self.last, "count": self.count, "centroid": self.centroid}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Cluster:
        return cls(str(data["name"]), float(data["last"]), int(data["count"]), dict(data["centroid"]))


@dataclass
class Outlier:
    """A recent article that fitted no story well: with a second like it, a new story opens."""

    at: float
    vector: dict[str, float]
    norm: float = field(init=False, repr=False, compare=False)  # the vector never changes

    def __post_init__(self) -> None:
        self.norm = _norm(self.vector)

    def to_json(self) -> list[Any]:
        return [self.at, self.vector]


@dataclass
class RuleStories:
    """The stories of one rule, recent outliers, and the number the next new story gets.

    Document frequencies decay with a half-life of ``HALF_LIFE_S``. Every term decays by the
    same factor, so the table holds them unscaled and ``df_scale`` carries the decay: an
    article costs the terms it has, not the size of the table. The table keeps the
    ``MAX_DF`` most frequent terms, trimmed when it reaches twice that.
    """

    clusters: list[Cluster] = field(default_factory=list)
    outliers: list[Outlier] = field(default_factory=list)
    next: int = 2
    df: dict[str, float] = field(default_factory=dict)  # document frequencies / df_scale
    docs: float = 0.0  # decayed number of articles
    df_at: float = float("-inf")  # when they were last decayed
    df_scale: float = 1.0
    version: int = field(default=0, repr=False, compare=False)  # bumped on every change

    def weigh(self, vector: dict[str, float]) -> dict[str, float]:
        """TF-IDF: what every article of the rule says weighs little."""
        df, scale, docs = self.df, self.df_scale, 1.0 + self.docs
        return {w: v * (math.log(docs / (1.0 + df.get(w, 0.0) * scale)) + 1.0) for w, v in vector.items()}

    def to_json(self) -> dict[str, Any]:
        return {
            "next": self.next, "clusters": [c.to_json() for c in self.clusters],
            "outliers": [o.to_json() for o in self.outliers],
            "df": self.df, "df_scale": self.df_scale, "docs": self.docs,
            "df_at": self.df_at if self.docs else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RuleStories:
        return cls(
            [Cluster.from_json(c) for c in data.get("clusters", [])],
            [Outlier(float(at), dict(v)) for at, v in data.get("outliers", [])],
            int(data.get("next", 2)), dict(data.get("df", {})), float(data.get("docs", 0.0)),
            float(data["df_at"]) if data.get("df_at") is not None else float("-inf"),
            float(data.get("df_scale", 1.0)),
        )

    def count(self, vector: dict[str, float], at: float) -> None:
        decay = 0.5 ** (max(0.0, at - self.df_at) / HALF_LIFE_S) if self.docs else 1.0
        self.df_scale *= decay
        if self.df_scale < 1e-6:  # fold the scale in before the stored numbers grow large
            self.df = {w: n * self.df_scale for w, n in self.df.items()}
            self.df_scale = 1.0
        step = 1.0 / self.df_scale
        df = self.df
        for w in vector:
            df[w] = df.get(w, 0.0) + step
        if len(df) >= 2 * MAX_DF:
            self.df = dict(sorted(df.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_DF])
        self.docs = self.docs * decay + 1.0
        self.df_at = max(self.df_at, at)


@dataclass(frozen=True)
class Decision:
    """Where an article goes: an existing story, a new one, or (as an outlier) the closest."""

    story: str
    outlier: bool = False  # fits no story: joins the closest, remembered as a possible seed
    seed: Outlier | None = None  # opens a new story together with this article


@dataclass(frozen=True)
class _Plan:
    """A decision with the article's raw and weighed vectors, and what it was computed from
    (the rule, the article's id and time, the rule's stories and their version)."""

    rule: Rule
    event: tuple[str, float]
    stories: RuleStories | None
    version: int
    decision: Decision
    raw: dict[str, float]
    vector: dict[str, float]


class StoryAssigner:
    """Upstream ``story_id`` when the article carries one; else online clustering within the rule."""

    def __init__(self) -> None:
        self.rules: dict[str, RuleStories] = {}
        self._plan: _Plan | None = None  # the last choice, for the ``learn`` that follows it
        self._skips: dict[str, tuple[Rule, list[str], frozenset[str]]] = {}
        self._changed: set[str] = set()  # rules whose stories changed since ``take_changes``

    def assign(self, rule: Rule, item: Annotated, event: Event | None = None) -> str:
        """The story the article belongs to (a new story's name when it opens one); changes nothing."""
        if item.article.story_id:
            return item.article.story_id
        return self._decide(rule, event or Event.of(item)).decision.story

    def learn(self, rule: Rule, item: Annotated, story: str, event: Event | None = None) -> None:
        """Record an accepted article in its story (upstream stories keep no centroid)."""
        if item.article.story_id:
            return
        event = event or Event.of(item)
        plan = self._decide(rule, event)
        decision, raw, vector = plan.decision, plan.raw, plan.vector
        stories = self.rules.setdefault(rule.id, RuleStories())
        stories.version += 1
        self._changed.add(rule.id)
        self._plan = None
        stories.count(raw, event.at)
        horizon = _horizon(rule)
        stories.outliers = [o for o in stories.outliers if event.at - o.at <= horizon]
        if decision.outlier:
            stories.outliers = [*stories.outliers, Outlier(event.at, vector)][-MAX_OUTLIERS:]
            return
        cluster = next((c for c in _live(rule, stories, event.at) if c.name == story), None)
        if cluster is None:
            stories.clusters = [c for c in stories.clusters if c.name != story]
            cluster = Cluster(story, event.at)
            stories.clusters.append(cluster)
            if story != rule.id:
                stories.next += 1
        if decision.seed is not None:
            cluster.add(decision.seed.vector, decision.seed.at)
            stories.outliers = [o for o in stories.outliers if o is not decision.seed]
        cluster.add(vector, event.at)

    def _decide(self, rule: Rule, event: Event) -> _Plan:
        """Where the article goes, with its vectors; ``assign`` and the ``learn`` that follows
        it share one computation as long as nothing changed in between."""
        stories = self.rules.get(rule.id)
        version = stories.version if stories is not None else -1
        plan = self._plan
        if plan is not None and plan.rule is rule and plan.stories is stories and plan.version == version \
                and plan.event == (event.id, event.at):
            return plan
        plan = _Plan(rule, (event.id, event.at), stories, version,
                     *self._choose(rule, event, stories or RuleStories()))
        self._plan = plan
        return plan

    def _choose(self, rule: Rule, event: Event, stories: RuleStories
                ) -> tuple[Decision, dict[str, float], dict[str, float]]:
        raw = self._vector(rule, event)
        vector = stories.weigh(raw)
        live = _live(rule, stories, event.at)
        if not live:
            if _free(stories, rule.id, event.at, rule):
                return Decision(rule.id), raw, vector
            return Decision(self._new_name(rule, stories, event, raw)), raw, vector
        norm = _norm(vector)
        similarity = {id(c): c.similarity(vector, norm) for c in live}
        best = max(live, key=lambda c: (similarity[id(c)], c.last, c.name))
        if not best.centroid or len(vector) < MIN_FEATURES or similarity[id(best)] >= JOIN:
            return Decision(best.name), raw, vector
        horizon = _horizon(rule)
        recent = [(_cosine(o.vector, vector, o.norm, norm), o)
                  for o in stories.outliers if event.at - o.at <= horizon]
        close, seed = max(recent, key=lambda so: (so[0], so[1].at), default=(0.0, None))
        if seed is not None and close >= SEED:
            return Decision(self._new_name(rule, stories, event, raw), seed=seed), raw, vector
        return Decision(best.name, outlier=True), raw, vector

    def _vector(self, rule: Rule, event: Event) -> dict[str, float]:
        """What the article is about beyond what every article of the rule shares."""
        cached = self._skips.get(rule.id)
        if cached is None or cached[0] is not rule:
            words = frozenset(w for k in rule.match.phrases for w in k.split())
            cached = (rule, [*rule.match.actors, *rule.match.any_actors], words)
            self._skips[rule.id] = cached
        return features(event, skip_actors=cached[1], skip_words=cached[2])

    def prune(self, rule: Rule, before: float) -> int:
        """Forget stories of the rule whose last article is at or before ``before``."""
        stories = self.rules.get(rule.id)
        if stories is None:
            return 0
        kept = [c for c in stories.clusters if c.last > before]
        outliers = [o for o in stories.outliers if o.at > before]
        gone = len(stories.clusters) - len(kept)
        if gone or len(outliers) != len(stories.outliers):
            stories.version += 1
            self._changed.add(rule.id)
            stories.clusters, stories.outliers = kept, outliers
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
        self._plan = None
        self._changed.clear()
        self.rules = {rid: RuleStories.from_json(s) for rid, s in data.items() if isinstance(s, dict)}

    def forget_rule(self, rule_id: str) -> None:
        self._plan = None
        self._skips.pop(rule_id, None)
        if self.rules.pop(rule_id, None) is not None:
            self._changed.add(rule_id)

    def _new_name(self, rule: Rule, stories: RuleStories, event: Event, vector: dict[str, float]) -> str:
        return f"{rule.id}/{_about(event, vector)}-{stories.next}"


def _horizon(rule: Rule) -> float:
    return rule.longest_window.total_seconds()


def _live(rule: Rule, stories: RuleStories, at: float) -> list[Cluster]:
    return [c for c in stories.clusters if at - c.last <= _horizon(rule)]


def _free(stories: RuleStories, name: str, at: float, rule: Rule) -> bool:
    """No live story holds the name (an expired one may hand it on)."""
    return all(c.name != name for c in _live(rule, stories, at))


def _about(event: Event, vector: dict[str, float]) -> str:
    """A slug for a new story: the first of its own actors its headline names, else its
    heaviest term (headline terms weigh most)."""
    title = event.title.lower()
    named = []
    for actor, name in event.actors:
        last = name.split(" ")[-1].lower()
        if ACTOR_PREFIX + actor in vector and last and last in title:
            named.append((title.find(last), actor.split(":", 1)[-1]))
    if named:
        return _slug(min(named)[1])
    terms = [w for w in vector if not w.startswith(ACTOR_PREFIX)]
    return _slug(max(terms, key=lambda w: (vector[w], w))) if terms else "story"


def _slug(text: str) -> str:
    return _SLUG.sub("-", text.lower()).strip("-")[:40] or "story"


def _cosine(a: dict[str, float], b: dict[str, float], norm_a: float | None = None,
            norm_b: float | None = None) -> float:
    """Cosine similarity; pass the norms when they are known."""
    dot = sum(v * b.get(w, 0.0) for w, v in a.items())
    norm = (_norm(a) if norm_a is None else norm_a) * (_norm(b) if norm_b is None else norm_b)
    return dot / norm if norm else 0.0


def _norm(vector: dict[str, float]) -> float:
    return math.sqrt(sum(v * v for v in vector.values()))
