"""What an article is about, as weighted features: its salient terms and its actors.

Shared by the framing-shift detector and the story clustering. Terms come from
annotation (content lemmas and adjacent pairs, stop-words and page boilerplate left out)
in text order, title first; news is written top-down, so a term's weight falls with its
position: ``1 + LEAD_BONUS * 0.5 ** (position / LEAD_HALF_LIFE)``, three for the headline,
about two twenty terms in, one at the bottom. Words of an actor's name are left out of the
terms ("ban", "moon" for Ban Ki-moon): the actor itself is a feature, ``@<actor id>``.

An outlet naming itself ("ABC" in an abcnews.go.com story, "Source: Al Jazeera") and wire
agencies credited for copy are not actors of the story: ``story_actors`` leaves them out.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache

from monitor.annotate.names import ascii_fold
from monitor.detect.state import Event

LEAD_BONUS = 2.0
LEAD_HALF_LIFE = 20.0  # terms
ACTOR_WEIGHT = 2.0
ACTOR_PREFIX = "@"
_WORD = re.compile(r"[^\W\d_]+")
_TOKEN = re.compile(r"[a-z0-9]+")
_NAME = re.compile(r"[^\W\d_][\w.'’ -]*")
WIRES = frozenset({
    "ap", "associated press", "reuters", "afp", "agence france presse", "dpa", "upi", "efe", "ansa",
})


@lru_cache(maxsize=65_536)
def name_tokens(name: str) -> tuple[str, ...]:
    """'Sergéi  Lavrov' -> ('sergei', 'lavrov'): the words a name is compared by."""
    return tuple(_TOKEN.findall(ascii_fold(name)))


def same_name(a: str, b: str) -> bool:
    """One name is the other or its tail ('Lavrov', 'Sergey Lavrov'; 'Korea', 'South Korea'),
    or a one-word family name written first ('Pak', 'Pak Myong Ho')."""
    x, y = name_tokens(a), name_tokens(b)
    short, long = sorted((x, y), key=len)
    if not short:
        return False
    return long[len(long) - len(short):] == short or (len(short) == 1 and long[0] == short[0])


@lru_cache(maxsize=65_536)  # asked for every actor of an article, once per rule it matches
def press(name: str, source: str | None) -> bool:
    """The name of a wire agency, or of the outlet that published the article."""
    words = name_tokens(name)
    if " ".join(words) in WIRES:
        return True
    host = (source or "").lower().replace(" ", "")
    return any(len(j) >= 3 and j in host for j in ("".join(words), "".join(words[1:])))


def story_actors(event: Event) -> list[tuple[str, str]]:
    """The article's actors (id, display name), press credits left out."""
    return [(a, n) for a, n in event.actors if not press(n, event.source)]


def name_words(names: Iterable[str]) -> frozenset[str]:
    """The lower-case words of display names: 'Ban Ki-moon' -> ban, ki, moon."""
    return frozenset(w.lower() for n in names for w in _WORD.findall(n))


def features(
    event: Event, *, skip_actors: Iterable[str] = (), skip_words: Iterable[str] = ()
) -> dict[str, float]:
    """Feature -> weight for one article; ``skip_*`` leave out what every article of a rule shares."""
    names = name_words(n for _, n in event.actors) | frozenset(skip_words)
    actors = story_actors(event)
    out: dict[str, float] = {}
    for i, term in enumerate(event.terms):
        if any(w in names for w in term.split(" ")):
            continue
        out[term] = 1.0 + LEAD_BONUS * 0.5 ** (i / LEAD_HALF_LIFE)
    skipped = set(skip_actors)
    for actor, _ in actors:
        if actor not in skipped:
            out[ACTOR_PREFIX + actor] = ACTOR_WEIGHT
    return out


def display_name(actor: str, events: Iterable[Event]) -> str:
    """The name most articles give the actor (the fullest of those on a tie): one article's
    odd form does not win over the usual one, and a name that looks like one wins a tie over
    NER debris ('vomiting,"?Khalid Abu Bakar')."""
    names = Counter(n for e in events for a, n in e.actors if a == actor)
    return max(names, key=lambda n: (names[n], bool(_NAME.fullmatch(n)), len(n), n)) if names else actor


def label(feature: str, events: Iterable[Event]) -> str:
    """How a feature reads in an alert: the term itself, or the actor's display name."""
    if not feature.startswith(ACTOR_PREFIX):
        return feature
    return display_name(feature[len(ACTOR_PREFIX):], events)
