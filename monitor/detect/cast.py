"""Which newcomers a new_actor alert may name: actors that act in the rule's story.

A candidate is dropped, with a reason the engine counts (``new_actor:<reason>``), when
- ``place``: NER took it for a place (``place:`` ids). A city, state or venue is where
  something happened, not who did it; a country that acts is in the rules' alias table
  and has a rule actor id, which is kept.
- ``not_a_name``: its name is no name: a party/state tag ("D-Minn."), NER debris
  ("Hwang Kyo-ahn,-denied"), or a phrase with lower-case words ("Capturing the Iron Bridge").
- ``outlet``: an outlet or a piece of one ("Post" of the Washington Post, "BBC News NI"),
  or an organisation named like a newspaper ("Miami Herald", "Santiago Times": ``PRESS``).
- ``passing``: in no supporting article does it stand in the headline, the lead or a
  sentence with the rule's actors or keywords (``relevance.cast`` salience below
  ``SALIENT``): an actor of another story that the article also covers, or a name dropped
  once in passing. Articles annotated without positions (no cast) cannot tell and keep it.

- ``common_words``: no person, and every word of its name a common English word (a Zipf
  frequency of ``COMMON`` or more in ``wordfreq``'s maintained lists): a title-case phrase
  or an institution named by what it is ("Royal Assent", "District Court", "Government"),
  not a newcomer. One-word acronyms ("GCHQ") are names; a very common word in capitals (a
  tweet's "GREAT") is not.
- ``no_full_name``: a person named by one word only in every supporting article: news
  introduces a newcomer by full name, so one capitalised word tagged a person
  ("Frenchman", a surname of someone else's story) is a word or a passing reference.
- ``single_outlet``: the supporting articles come from fewer than ``min(min_articles, 2)``
  outlets and none names it centrally (``CENTRAL``: the headline, or the lead beside the
  rule's story): one outlet's preview pieces, or two versions of one article.
- ``off_story``: fewer than ``min_articles`` of its articles are about the rule's story
  (``Event.central``: most of the rule in the headline or the lead): whoever a piece that
  only mentions the story brings in (a court case matched by "killed") is not in the story.
- ``elsewhere``: in the same span the rule's other stories name it in at least
  ``ELSEWHERE`` articles and in more than this story does: an actor of another story that
  the supporting articles also cover ("Flynn" in a travel-ban piece on a
  press conference about him).

Names the rule itself uses (its keywords, e.g. "Ninth Circuit") are never new.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from wordfreq import zipf_frequency

from monitor.annotate.furniture import MEDIA
from monitor.detect.features import name_tokens
from monitor.detect.state import Event

SALIENT = 0.5  # relevance.cast: headline 1, lead 0.7, beside the rule's actors/keywords +0.5, a sentence 0.15
CENTRAL = 1.0  # the headline, or the lead beside the rule's story, or five sentences beside it
COMMON = 4.0  # Zipf frequency of a common English word ("court" 5.4, "capitol" 4.0; "amnesty" 3.6)
SHOUTED = 5.0  # a capitalised word this common is the word shouted ("GREAT" 5.9), no acronym ("NATO" 4)
ELSEWHERE = 3  # articles of other stories naming an actor that make it theirs
PARTICLES = frozenset(
    ["al", "el", "bin", "ibn", "de", "del", "della", "der", "di", "da", "du", "la", "le", "van", "von", "dos",
     "das", "y", "of", "and"]
)
_DEMONYM = re.compile(r"..(?:man|men|woman|women)$")
_TAG = re.compile(r"^[A-Z]-[A-Z][\w.]*$")  # D-Minnesota, R-Texas
_NAME = re.compile(r"[^\W\d_][\w.'’&-]*(?: [^\W\d_][\w.'’&-]*)*")
# the last word of a newspaper's or agency's name: "<place> Herald" is an outlet, whichever
PRESS = frozenset(["herald", "times", "post", "tribune", "gazette", "journal", "chronicle", "telegraph",
                   "courier", "examiner", "inquirer", "dispatch", "bulletin", "magazine", "daily",
                   "newspaper", "newswire", "wire"])
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
    if len(words) > 1 and not actor.startswith("person:") and words[-1] in PRESS:
        return True  # the Miami Herald, the Santiago Times: named after what it is
    return len(words) == 1 and not actor.startswith("person:") and words[0] in _MEDIA_TAILS


def salient(actor: str, events: Iterable[Event]) -> bool:
    """Central in one supporting article at least (or no article can tell)."""
    placed = [e for e in events if e.cast]
    return not placed or any(e.salience(actor) >= SALIENT for e in placed)


@lru_cache(maxsize=65_536)
def common_word(word: str) -> bool:
    return zipf_frequency(word, "en") >= COMMON


def common_words(actor: str, name: str) -> bool:
    """No person, and each word of the name a common English word ('District Court')."""
    if actor.startswith("person:"):
        return False
    words = name_tokens(name)
    acronym = name.isupper() and (len(name) <= 3 or zipf_frequency(words[0], "en") < SHOUTED)
    if len(words) == 1 and (len(name) < 3 or acronym):
        return False  # an acronym (GCHQ, NATO, WHO) or an initial; not a word in capitals ("GREAT")
    if len(words) == 1 and _DEMONYM.search(words[0]):
        return True  # a Frenchman, a congresswoman: who someone is, not their name
    return bool(words) and all(common_word(w) for w in words)


def outlets(events: Iterable[Event]) -> int:
    """Distinct outlets among the articles (an article with no source counts as its own)."""
    return len({e.source or e.id for e in events})


def corroborated(actor: str, events: list[Event], need: int) -> bool:
    """From ``min(need, 2)`` outlets, or central in one article (or no article can tell)."""
    placed = [e for e in events if e.cast]
    if not placed or outlets(events) >= min(need, 2):
        return True
    return any(e.salience(actor) >= CENTRAL for e in placed)


@dataclass(frozen=True, slots=True)
class Context:
    """What a candidate is judged against besides its own articles."""

    need: int = 1  # the rule's new_actor.min_articles
    elsewhere: int = 0  # articles of other stories naming it, in the same span


def why_not(actor: str, name: str, events: list[Event], context: Context = Context()) -> str | None:
    """The reason the candidate is not announced, or None when it may be."""
    if actor.startswith("place:"):
        return "place"
    if not is_name(name):
        return "not_a_name"
    if is_outlet(actor, name):
        return "outlet"
    if common_words(actor, name):
        return "common_words"
    if actor.startswith("person:") and len(name_tokens(name)) == 1:
        return "no_full_name"
    if sum(e.central for e in events) < context.need:
        return "off_story"
    if not corroborated(actor, events, context.need):
        return "single_outlet"
    if not salient(actor, events):
        return "passing"
    if context.elsewhere >= max(ELSEWHERE, len({e.id for e in events}) + 1):
        return "elsewhere"
    return None


def keep(candidates: dict[str, list[Event]], names: dict[str, str], contexts: dict[str, Context]
         ) -> tuple[dict[str, list[Event]], dict[str, str]]:
    """The candidates that may be announced, and the others with their reasons."""
    out, left = {}, {}
    for actor, events in candidates.items():
        reason = why_not(actor, names[actor], events, contexts.get(actor, Context()))
        if reason is None:
            out[actor] = events
        else:
            left[actor] = reason
    return out, left
