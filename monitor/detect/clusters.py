"""What the story grouping of one rule remembers: its stories' centroids, recent outliers,
decayed document frequencies and the signatures of recent articles (syndicated copies).

Vectors are sparse dicts feature -> weight (``monitor.detect.features``). Everything here is
bounded: ``MAX_CENTROID`` features a story, ``MAX_STORIES`` live stories, ``MAX_OUTLIERS``
outliers, ``MAX_DF`` document frequencies, ``copies.MAX_KEPT`` signatures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from monitor.detect.copies import Copies

HALF_LIFE_S = 2 * 86400.0  # centroids and document frequencies forget at this pace
DF_HALF_LIFE_S = 30 * 86400.0  # document frequencies forget slowly: a quiet feed needs many days
DECAY_STEP_S = 600.0
MAX_CENTROID = 200
MAX_VECTOR = 100  # features of an article kept, the heaviest
MAX_STORIES = 300
MAX_OUTLIERS = 60
MAX_DF = 5000

Vector = dict[str, float]


def norm(vector: Vector) -> float:
    return math.sqrt(sum(v * v for v in vector.values()))


def dot(a: Vector, b: Vector) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b.get(w, 0.0) for w, v in a.items())


def cosine(a: Vector, b: Vector, norm_a: float, norm_b: float) -> float:
    return dot(a, b) / (norm_a * norm_b) if norm_a and norm_b else 0.0


def heaviest(vector: Vector, n: int) -> Vector:
    """The ``n`` heaviest features (ties by name, so the choice is the same on every run)."""
    if len(vector) <= n:
        return vector
    return dict(sorted(vector.items(), key=lambda kv: (-kv[1], kv[0]))[:n])


@dataclass
class Cluster:
    """One story of a rule: its name, first and last article times, and what it is about."""

    name: str
    first: float
    last: float
    count: int = 0
    centroid: Vector = field(default_factory=dict)
    decayed: float = float("-inf")  # the time the centroid is decayed to
    _norm: float | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def norm(self) -> float:
        if self._norm is None:
            self._norm = norm(self.centroid)
        return self._norm

    def add(self, vector: Vector, at: float) -> None:
        """Fold a unit-length copy of ``vector`` into the centroid, decayed to ``at`` (in
        steps of at least ``DECAY_STEP_S``, so a burst of articles costs no rescaling)."""
        centroid = self.centroid
        if at - self.decayed >= DECAY_STEP_S:
            decay = 0.5 ** ((at - self.decayed) / HALF_LIFE_S)
            centroid = {w: v * decay for w, v in centroid.items()}
            self._norm, self.decayed = None, at
        unit = norm(vector) or 1.0
        square = self._norm * self._norm if self._norm is not None else None
        for w, v in vector.items():
            old = centroid.get(w, 0.0)
            new = old + v / unit
            centroid[w] = new
            if square is not None:
                square += new * new - old * old
        if len(centroid) > MAX_CENTROID * 1.5:
            centroid, square = heaviest(centroid, MAX_CENTROID), None
        self.centroid = centroid
        self._norm = math.sqrt(max(square, 0.0)) if square is not None else None
        self.last = max(self.last, at)
        self.count += 1

    def merge(self, other: Cluster) -> None:
        """Take in another story's articles: its centroid (decayed to the same time) and counts."""
        at = max(self.decayed, other.decayed)
        mine = 0.5 ** ((at - self.decayed) / HALF_LIFE_S) if self.centroid else 1.0
        theirs = 0.5 ** ((at - other.decayed) / HALF_LIFE_S) if other.centroid else 1.0
        centroid = {w: v * mine for w, v in self.centroid.items()}
        for w, v in other.centroid.items():
            centroid[w] = centroid.get(w, 0.0) + v * theirs
        self.centroid = heaviest(centroid, MAX_CENTROID) if len(centroid) > MAX_CENTROID * 1.5 else centroid
        self._norm, self.decayed = None, at
        self.first, self.last = min(self.first, other.first), max(self.last, other.last)
        self.count += other.count

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "first": self.first, "last": self.last, "count": self.count,
                "decayed": self.decayed if self.centroid else None,
                "centroid": {w: round(v, 5) for w, v in self.centroid.items()}}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Cluster:
        last = float(data["last"])
        decayed = data.get("decayed")
        return cls(str(data["name"]), float(data.get("first", last)), last, int(data["count"]),
                   {str(w): float(v) for w, v in data["centroid"].items()},
                   float(decayed) if decayed is not None else last)


@dataclass(frozen=True)
class Outlier:
    """A recent article that fitted no story: with a second like it, a new story opens."""

    id: str
    at: float
    vector: Vector = field(compare=False)
    norm: float = field(compare=False)

    def to_json(self) -> list[Any]:
        return [self.id, self.at, self.vector]


@dataclass
class RuleStories:
    """The stories of one rule, its recent outliers and copies, and the next story number.

    Document frequencies decay with a half-life of ``HALF_LIFE_S``. Every term decays by the
    same factor, so the table holds them unscaled and ``df_scale`` carries the decay: an
    article costs the terms it has, not the size of the table.
    """

    clusters: list[Cluster] = field(default_factory=list)
    outliers: list[Outlier] = field(default_factory=list)
    copies: Copies = field(default_factory=Copies)
    next: int = 2
    df: dict[str, float] = field(default_factory=dict)  # document frequencies / df_scale
    docs: float = 0.0  # decayed number of articles
    df_at: float = float("-inf")
    df_scale: float = 1.0
    _index: dict[str, set[str]] | None = field(default=None, repr=False, compare=False)
    _stale: int = field(default=0, repr=False, compare=False)  # stories gone since the index was built

    def sharing(self, vector: Vector) -> tuple[set[str], Vector]:
        """Names of the stories whose centroid may share a feature with ``vector``, and the
        part of ``vector`` some story has (an index rebuilt on demand; its entries may be
        stale, never missing)."""
        if self._index is None or self._stale > MAX_STORIES:
            self._index, self._stale = {}, 0
            for c in self.clusters:
                self.indexed(c.name, c.centroid)
        index = self._index
        seen = {w: v for w, v in vector.items() if w in index}
        return set().union(*(index[w] for w in seen)), seen

    def indexed(self, name: str, vector: Vector) -> None:
        if self._index is None:
            return
        for w in vector:
            self._index.setdefault(w, set()).add(name)

    def forgot(self, stories: int) -> None:
        """Some stories are gone: their index entries are stale until the next rebuild."""
        self._stale += stories

    def weigh(self, raw: Vector) -> Vector:
        """TF-IDF: what most articles of the rule say weighs little."""
        df, scale, docs = self.df, self.df_scale, 1.0 + self.docs
        return {w: v * math.log((docs + 1.0) / (1.0 + df.get(w, 0.0) * scale)) for w, v in raw.items()}

    def count(self, raw: Vector, at: float) -> None:
        """Count an article's features in the decayed document frequencies."""
        decay = 0.5 ** (max(0.0, at - self.df_at) / DF_HALF_LIFE_S) if self.docs else 1.0
        self.df_scale *= decay
        if self.df_scale < 1e-6:  # fold the scale in before the stored numbers grow large
            self.df = {w: n * self.df_scale for w, n in self.df.items()}
            self.df_scale = 1.0
        step = 1.0 / self.df_scale
        df = self.df
        for w in raw:
            df[w] = df.get(w, 0.0) + step
        if len(df) >= 2 * MAX_DF:
            self.df = dict(sorted(df.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_DF])
        self.docs = self.docs * decay + 1.0
        self.df_at = max(self.df_at, at)

    def to_json(self) -> dict[str, Any]:
        return {
            "next": self.next, "clusters": [c.to_json() for c in self.clusters],
            "outliers": [o.to_json() for o in self.outliers], "copies": self.copies.to_json(),
            "df": {w: round(n, 5) for w, n in self.df.items()}, "df_scale": self.df_scale,
            "docs": self.docs, "df_at": self.df_at if self.docs else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RuleStories:
        outliers = []
        for row in data.get("outliers", []):
            if len(row) == 3:  # older states kept no id: [at, vector]
                id_, at, vector = row
                outliers.append(Outlier(str(id_), float(at), dict(vector), norm(vector)))
        return cls(
            [Cluster.from_json(c) for c in data.get("clusters", [])], outliers,
            Copies.from_json(data.get("copies", [])), int(data.get("next", 2)),
            dict(data.get("df", {})), float(data.get("docs", 0.0)),
            float(data["df_at"]) if data.get("df_at") is not None else float("-inf"),
            float(data.get("df_scale", 1.0)),
        )
