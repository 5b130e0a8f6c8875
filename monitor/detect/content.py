"""What a framing shift may say: not the rule's own words, and content terms that say something.

A story's recent articles always repeat what the rule matches on ("joint address" for a rule
on the address to Congress, "budget proposal" for one on the budget): those words rise with
the story itself, not with a change in how it is told, so a shift neither counts nor lists
them (``own_features``). Of what is left, a term *says something* (``says_something``) when
it is a named entity (an actor feature) or when its rarest word is rare in English news at
large, a ``wordfreq`` Zipf frequency below ``RARE_ZIPF`` ("recusal" 2.1, "ceasefire" 3.3,
"insistence" 3.4, against "learn" 5.2, "rate" 5.1, "react" 4.2, "decade" 4.5). A shift needs
``MIN_CONTENT`` such terms among its rising ones; without them it is not raised.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from wordfreq import zipf_frequency

from monitor.detect.features import ACTOR_PREFIX
from monitor.rules.schema import Rule

RARE_ZIPF = 4.1  # below this a word is rarer than ~1 in 80,000 words of English text
MIN_CONTENT = 2  # rising terms that say something, for a shift to be told
_WORD = re.compile(r"[^\W\d_]+")


def _forms(word: str) -> set[str]:
    """A keyword's word and the lemma-like forms a term may carry ('cuts' -> 'cut')."""
    out = {word}
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        out.add(word[:-1])
        if word.endswith("ies"):
            out.add(word[:-3] + "y")
    return out


def own_words(rule: Rule) -> frozenset[str]:
    """The words of the rule's keywords, as terms spell them."""
    spec = rule.match
    words = (w for k in spec.keywords + spec.all_keywords for w in _WORD.findall(k.lower()))
    return frozenset(f for w in words for f in _forms(w))


def own_features(rule: Rule) -> tuple[frozenset[str], frozenset[str]]:
    """(actor features, keyword words) of the rule itself: the story's premise, not its framing."""
    spec = rule.match
    return frozenset(ACTOR_PREFIX + a for a in spec.actors + spec.any_actors), own_words(rule)


def is_own(feature: str, own: tuple[frozenset[str], frozenset[str]]) -> bool:
    actors, words = own
    if feature.startswith(ACTOR_PREFIX):
        return feature in actors
    return any(w in words for w in feature.split(" "))


@lru_cache(maxsize=65_536)
def says_something(feature: str) -> bool:
    """A named entity, or a term with a word that is rare in English (wordfreq)."""
    if feature.startswith(ACTOR_PREFIX):
        return True
    return min(zipf_frequency(w, "en") for w in feature.split(" ")) < RARE_ZIPF


def carried(features: Iterable[str]) -> bool:
    """Whether the rising terms of a shift hold enough that say something."""
    return sum(map(says_something, features)) >= MIN_CONTENT


def content_of(features: Iterable[str], own: tuple[frozenset[str], frozenset[str]]) -> set[str]:
    """The features of an article that say something and are not the rule's own."""
    return {f for f in features if says_something(f) and not is_own(f, own)}
