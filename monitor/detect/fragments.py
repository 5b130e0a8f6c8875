"""Split stories mended: a fragment of a story folded into the story it split from.

Single-pass grouping decides once, at arrival. An article that fitted no story opens one,
and when its story is an existing one told from another side (a survivor's account of an
attack, a reaction to a speech), nothing more arrives in the fragment: it stays one or two
articles while its story goes on. So once a story of at most ``FRAGMENT`` articles has been
quiet for ``QUIET_S``, it is compared with the larger live stories; when its centroid is at
least ``ABSORB`` similar (cosine) to one of them, it is folded into the most similar one.
A fragment that fits none stays a story of its own (a small story is a story). The story
named after a narrow rule (its own thread) is never folded into another.

``plan`` decides and changes nothing; ``fold`` moves the fragment's centroid into its new
story. The engine moves the fragment's articles and counts ``stories_merged{reason}``.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.detect.clusters import Cluster, RuleStories, dot

FRAGMENT = 2  # articles: a story this small, quiet for QUIET_S, may be a split-off fragment
QUIET_S = 86400.0
ABSORB = 0.1  # cosine similarity of centroids at which a fragment joins a larger story
FRAGMENT_REASON = "fragment"
Pair = tuple[str, int, str, int]  # fragment and larger story, each with its article count


@dataclass(frozen=True)
class Fold:
    """One fragment story of a rule folded into a larger one."""

    rule: str
    story: str  # the fragment, which ends
    into: str
    similarity: float
    reason: str = FRAGMENT_REASON


def plan(rule: str, stories: RuleStories, now: float, horizon: float, keep: str,
         memo: dict[Pair, float] | None = None) -> list[Fold]:
    """The fragments of the live stories to fold, each into its most similar larger story.
    A fragment is looked at again at each call while it is live (a larger story may grow
    closer); ``memo`` keeps the similarities of pairs neither of which has changed since."""
    live = [c for c in stories.clusters if c.last >= horizon and c.norm]
    quiet = [c for c in live if c.count <= FRAGMENT and c.last <= now - QUIET_S and c.name != keep]
    if not quiet:
        return []
    larger = [c for c in live if c.count > FRAGMENT]
    seen = memo if memo is not None else {}
    used: dict[Pair, float] = {}
    out: list[Fold] = []
    for fragment in quiet:
        best = (0.0, "")
        for c in larger:
            pair = (fragment.name, fragment.count, c.name, c.count)
            sim = used[pair] = seen[pair] if pair in seen else _similarity(fragment, c)
            best = max(best, (sim, c.name))
        if best[0] >= ABSORB:
            out.append(Fold(rule, fragment.name, best[1], round(best[0], 4)))
    if memo is not None:  # keep only the pairs still live: bounded by fragments x larger stories
        memo.clear()
        memo.update(used)
    return out


def fold(stories: RuleStories, move: Fold) -> None:
    """Move the fragment's centroid and counts into its new story; the fragment ends."""
    source = next((c for c in stories.clusters if c.name == move.story), None)
    target = next((c for c in stories.clusters if c.name == move.into), None)
    if source is None or target is None:
        return
    target.merge(source)
    stories.indexed(target.name, source.centroid)
    stories.clusters = [c for c in stories.clusters if c is not source]
    stories.forgot(1)


def _similarity(a: Cluster, b: Cluster) -> float:
    return dot(a.centroid, b.centroid) / (a.norm * b.norm) if a.norm and b.norm else 0.0
