"""Which newcomers a new_actor alert may name: actors that act in the rule's story.

A candidate is dropped, with a reason the engine counts (``new_actor:<reason>``), when
- ``place``: NER took it for a place (``place:`` ids). A city, state or venue is where
  something happened, not who did it; a country that acts is in the rules' alias table
  and has a rule actor id, which is kept.
- ``not_a_name``: its name is no name: a party/state tag ("D-Minn."), NER debris
  ("Hwang Kyo-ahn,-denied"), or a phrase with lower-case words ("Capturing the Iron Bridge").
- ``outlet``: an outlet or a piece of one ("Post" of the Washington Post, "BBC News NI").
- ``passing``: in no supporting article does it stand in the headline, the lead or a
  sentence with the rule's actors or keywords (``relevance.cast`` salience below
  ``SALIENT``): an actor of another story that the article also covers, or a name dropped
  once in passing. Articles annotated without positions (no cast) cannot tell and keep it.

Names the rule itself uses (its keywords, e.g. "Ninth Circuit") are never new.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from monitor.annotate.furniture import MEDIA
from monitor.detect.features import name_tokens
from monitor.detect.state import Event

SALIENT = 0.5  # relevance.cast: headline 1, lead 0.7, beside the rule's actors/keywords +0.5, a sentence 0.15
PARTICLES = frozenset(
    ["al", "el", "bin", "ibn", "de", "del", "della", "der", "di", "da", "du", "la", "le", "van", "von", "dos",
     "das", "y", "of", "and"]
)
_TAG = re.compile(r"^[A-Z]-[A-Z][\w.]*$")  # D-Minnesota, R-Texas
_NAME = re.compile(r"[^\W\d_][\w.'’&-]*(?: [^\W\d_][\w.'’&-]*)*")
_MEDIA_TAILS = frozenset(e.split(" ")[-1] for e in MEDIA if " " in e and not e.startswith("the "))
_MEDIA_HEADS = tuple(tuple(e.split(" ")) for e in MEDIA if " " in e)


def is_name(name: str) -> bool:
    """Written like a name: words starting upper-case but for particles ('Abu Bakr al-Baghdadi')."""
    if _TAG.match(name) or not _NAME.fullmatch(name):
        return False
    return all(w[:1].isupper() or w.lower() in PARTICLES or w.split("-")[0].lower() in PARTICLES
               for w in name.split(" "))


def is_outlet(actor: str, name: str) -> bool:
    """An outlet ('Politico'), a longer name that starts with one ('BBC News NI'), or, for a
    one-word name that is no person, the last word of one ('Post')."""
    words = name_tokens(name)
    if " ".join(words) in MEDIA:
        return True
    if any(len(words) > len(h) and words[: len(h)] == h for h in _MEDIA_HEADS):
        return True
    return len(words) == 1 and not actor.startswith("person:") and words[0] in _MEDIA_TAILS


def salient(actor: str, events: Iterable[Event]) -> bool:
    """Central in one supporting article at least (or no article can tell)."""
    placed = [e for e in events if e.cast]
    return not placed or any(e.salience(actor) >= SALIENT for e in placed)


def why_not(actor: str, name: str, events: list[Event]) -> str | None:
    """The reason the candidate is not announced, or None when it may be."""
    if actor.startswith("place:"):
        return "place"
    if not is_name(name):
        return "not_a_name"
    if is_outlet(actor, name):
        return "outlet"
    if not salient(actor, events):
        return "passing"
    return None


def keep(candidates: dict[str, list[Event]], names: dict[str, str]
         ) -> tuple[dict[str, list[Event]], dict[str, str]]:
    """The candidates that may be announced, and the others with their reasons."""
    out, left = {}, {}
    for actor, events in candidates.items():
        reason = why_not(actor, names[actor], events)
        if reason is None:
            out[actor] = events
        else:
            left[actor] = reason
    return out, left
