"""How far the words about a story moved: two windows of articles compared, purely.

Each article is a bag of weighted features (``monitor.detect.features``). Per window,
``y[w]`` is the summed weight of feature ``w`` and ``n`` the window's total. The two
windows share an informative Dirichlet prior built from their pooled counts,
``a[w] = prior * (y_recent[w] + y_baseline[w]) / (n_recent + n_baseline)``, where ``prior``
(the prior's total mass) is the mass of ``PRIOR_ARTICLES`` average articles:

* per feature, the weighted log-odds ratio with that prior and its z-score (Monroe,
  Colaresi and Quinn 2008, "Fightin' Words", eq. 16 and 22): rising features have a
  high z, fading ones a low z;
* for the whole story, the Jensen-Shannon divergence (in bits, 0..1) between the two
  windows' posterior-mean distributions ``(y[w] + a[w]) / (n + prior)``. The prior pulls
  small windows towards each other, so two single articles need a real difference to
  score high, and large windows are compared almost as observed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

PRIOR_ARTICLES = 1.0
_TINY = 1e-9  # one feature in all: its "rest" is empty


@dataclass(frozen=True, slots=True)
class Term:
    """One feature's movement between the windows."""

    feature: str
    z: float
    recent: float  # summed weight in the recent window
    baseline: float


@dataclass(frozen=True, slots=True)
class Comparison:
    """The divergence of two windows and every feature's z-score, highest first."""

    divergence: float
    terms: tuple[Term, ...]

    def rising(self, min_z: float) -> list[Term]:
        return [t for t in self.terms if t.z >= min_z and t.recent > 0]

    def fading(self, min_z: float) -> list[Term]:
        return [t for t in reversed(self.terms) if t.z <= -min_z and t.baseline > 0]


def totals(bags: Sequence[Mapping[str, float]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for bag in bags:
        for w, v in bag.items():
            out[w] = out.get(w, 0.0) + v
    return out


def compare(recent: Sequence[Mapping[str, float]], baseline: Sequence[Mapping[str, float]]) -> Comparison:
    """Compare the recent window's articles with the baseline window's."""
    yr, yb = totals(recent), totals(baseline)
    nr, nb = sum(yr.values()), sum(yb.values())
    articles = len(recent) + len(baseline)
    if not articles or nr + nb <= 0:
        return Comparison(0.0, ())
    prior = PRIOR_ARTICLES * (nr + nb) / articles
    terms: list[Term] = []
    jsd = 0.0
    for w in yr.keys() | yb.keys():
        r, b = yr.get(w, 0.0), yb.get(w, 0.0)
        a = prior * (r + b) / (nr + nb)
        rest_r, rest_b = max(nr + prior - r - a, _TINY), max(nb + prior - b - a, _TINY)
        delta = math.log((r + a) / rest_r) - math.log((b + a) / rest_b)
        z = delta / math.sqrt(1.0 / (r + a) + 1.0 / (b + a))
        terms.append(Term(w, z, r, b))
        jsd += _js_part((r + a) / (nr + prior), (b + a) / (nb + prior))
    terms.sort(key=lambda t: (-t.z, t.feature))
    return Comparison(jsd, tuple(terms))


def split_divergences(bags: Sequence[Mapping[str, float]], splits: np.ndarray) -> np.ndarray:
    """The divergence of ``compare`` for many ways of splitting the same articles at once.

    ``splits`` is a boolean matrix, one row per split, True where an article is 'recent'.
    """
    vocab: dict[str, int] = {}
    for bag in bags:
        for w in bag:
            vocab.setdefault(w, len(vocab))
    x = np.zeros((len(bags), len(vocab)))
    for i, bag in enumerate(bags):
        for w, v in bag.items():
            x[i, vocab[w]] = v
    total = x.sum(axis=0)
    prior = PRIOR_ARTICLES * total.sum() / len(bags)
    a = prior * total / total.sum()
    yr = splits.astype(float) @ x
    yb = total - yr
    p = (yr + a) / (yr.sum(axis=1, keepdims=True) + prior)
    q = (yb + a) / (yb.sum(axis=1, keepdims=True) + prior)
    m = (p + q) / 2
    out: np.ndarray = 0.5 * (p * np.log2(p / m) + q * np.log2(q / m)).sum(axis=1)
    return out


def _js_part(p: float, q: float) -> float:
    """One feature's share of the Jensen-Shannon divergence, in bits."""
    m = (p + q) / 2
    return 0.5 * (p * math.log2(p / m) + q * math.log2(q / m))
