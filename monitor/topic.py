"""Whether an article is on the rule's topic, or carries one of its words in another sense.

A keyword-led rule meets "bleaching" in a piece on cleaning bathroom bins, "Grand Slam" in
a rugby headline, "drug testing" in a piece on benefit claimants. Such an article names
**one** of the rule's keywords and nothing else of its topic: it is *lone* (``lone``). An
article is not lone when it names one of the rule's actors (a name, not a word with other
senses), two of its keywords that are not forms of one word, or one and an uncommon word
of the rule's ``description`` ("coral", "scientists" for the Great Barrier Reef).

A lone article may still be on the story, in words the rule does not list (a blizzard
piece under a rule on storms says "snow" and "flights"). So the story decides: a lone
article counts once another article of the story shares its subject (``supports``: uncommon
words of both leads, the rule's own words left out, weigh ``SUPPORT`` or more), and until
then it is held (``monitor.detect.state.StoryState``). A rule with one term (keywords that
are forms of one phrase) and a description of fewer than two rare words (Zipf below
``RARE_ZIPF``: "scientist", "storm", not "story", "build") has no lone article: every match
names all the rule has.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from wordfreq import zipf_frequency

from monitor.annotate.terms import singular
from monitor.model import Annotated
from monitor.rules.schema import Rule

COMMON_ZIPF = 5.5  # a description word this frequent in English ("said", "year") says nothing
RARE_ZIPF = 5.0  # description words rarer than this name a topic ("scientist", "storm"; not "story")
LEAD_WORDS = 60  # the words of an article's opening compared for support
OPENING_TERMS = 120  # terms kept of an article for a rule that reads only its opening
SUPPORT = 2.5  # shared uncommon words (each up to 1) for one article to support another
STEM = 6  # longer words sharing their first STEM letters are forms of one ("headscarf", "headscarves")
_WORD = re.compile(r"[^\W\d_]+")


def _stem(word: str) -> str:
    word = singular(word)
    return word[:STEM] if len(word) > STEM + 1 else word


def _words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if len(w) > 2]


def _concepts(phrases: Iterable[str]) -> int:
    """How many distinct terms the phrases are: phrases sharing a word stem are one."""
    groups: list[set[str]] = []
    for p in phrases:
        stems = {_stem(w) for w in _words(p)} or {p}
        joined = [g for g in groups if g & stems]
        for g in joined:
            groups.remove(g)
            stems |= g
        groups.append(stems)
    return len(groups)


@lru_cache(maxsize=4096)
def _topic(description: str, phrases: tuple[str, ...]) -> tuple[frozenset[str], int, int]:
    """(uncommon description words, as stems, that are not the rule's own; how many of them
    are rare; the rule's term count)."""
    own = {_stem(w) for p in phrases for w in _words(p)}
    freq = {_stem(w): zipf_frequency(singular(w), "en") for w in _words(description) if _stem(w) not in own}
    words = frozenset(w for w, f in freq.items() if f < COMMON_ZIPF)
    return words, sum(f < RARE_ZIPF for f in freq.values()), _concepts(phrases)


def _phrases(rule: Rule) -> tuple[str, ...]:
    spec = rule.match
    return (*spec.keywords, *spec.all_keywords, *(a.replace("-", " ") for a in spec.actors + spec.any_actors))


def may_be_lone(rule: Rule) -> bool:
    """Whether the rule can have lone articles at all: keyword-led, with two terms or more, or
    one and a description of two rare words. Only such rules need an article's words."""
    spec = rule.match
    if spec.all or spec.actors or spec.any_actors:
        return False
    _, rare, terms = _topic(rule.description, _phrases(rule))
    return terms >= 2 or rare >= 2


def lone(item: Annotated, rule: Rule) -> bool:
    """The article names one of the rule's terms and no uncommon word of its description."""
    spec = rule.match
    if spec.all or not item.terms:
        return False  # a feed rule follows every article; without terms nothing can tell
    description, rare, terms = _topic(rule.description, _phrases(rule))
    if terms < 2 and rare < 2:
        return False  # "Any story where bitcoin builds up": the keyword is the whole topic
    if any(a in item.actors for a in spec.actors + spec.any_actors):
        return False  # a name the model and the alias table agree on: not a word in another sense
    found = [k for k in spec.keywords + spec.all_keywords if k in item.keywords]
    if _concepts(found) >= 2:
        return False
    said = {_stem(w) for t in item.terms if " " not in t for w in (t,)}
    return not (description & said)


def reads_all_terms(rule: Rule) -> bool:
    """A framing shift, the any repeat check and feed grouping read every term an article has;
    other rules read its opening (grouping's first terms, ``lead_words``): ``OPENING_TERMS``."""
    return rule.match.all or "shift" in rule.detect or "any" in rule.detect


def lead_words(terms: Iterable[str], own: frozenset[str]) -> frozenset[str]:
    """The single-word terms of an article's opening, the rule's own words left out."""
    out: list[str] = []
    for t in terms:
        if " " not in t and t not in own:
            out.append(t)
            if len(out) >= LEAD_WORDS:
                break
    return frozenset(out)


@lru_cache(maxsize=131_072)
def _weight(word: str) -> float:
    """0 for a word everyone uses ("said"), 1 for one rarer than ~1 in a million words."""
    return max(0.0, min(1.0, (6.0 - zipf_frequency(word, "en")) / 3.0))


def supports(a: frozenset[str], b: frozenset[str]) -> bool:
    """Two articles' lead words share enough uncommon ones to be on one subject."""
    shared = a & b
    if len(shared) < SUPPORT:  # each word weighs 1 at most
        return False
    total = 0.0
    for w in shared:
        total += _weight(w)
        if total >= SUPPORT:
            return True
    return False
