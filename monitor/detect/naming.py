"""Readable story names: what a new story's opening article is about, as a slug."""

from __future__ import annotations

import re

from monitor.detect.clusters import Vector
from monitor.detect.features import ACTOR_PREFIX

_SLUG = re.compile(r"[^a-z0-9]+")


def about(title: str, vector: Vector) -> str:
    """A slug for a new story: the heaviest of its opening article's features that its
    headline names (an actor, then a two-word term such as "dutch election"), else the heaviest."""
    words = set(_SLUG.sub(" ", title.lower()).split())
    named = {w: v * (2.0 if w.startswith(ACTOR_PREFIX) else 1.5 if " " in w else 1.0)
             for w, v in vector.items() if set(_slug(_bare(w)).split("-")) <= words}
    pool = named or vector
    if not pool:
        return "story"
    return _slug(_bare(max(pool, key=lambda w: (pool[w], w))))


def _bare(feature: str) -> str:
    """'@person:kim-jong-nam' -> 'kim-jong-nam'; a term stays itself."""
    return feature.removeprefix(ACTOR_PREFIX).split(":", 1)[-1]


def _slug(text: str) -> str:
    return _SLUG.sub("-", text.lower()).strip("-")[:40] or "story"
