"""Salient terms of an article for framing shifts: content lemmas and two-word phrases."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from spacy.lang.en.stop_words import STOP_WORDS

from monitor.annotate.tokens import Token

# Page furniture and reporting verbs that say nothing about framing.
BOILERPLATE = frozenset(
    [
        "say",
        "said",
        "says",
        "tell",
        "told",
        "report",
        "reported",
        "reports",
        "according",
        "also",
        "would",
        "could",
        "year",
        "years",
        "day",
        "days",
        "week",
        "weeks",
        "month",
        "time",
        "people",
        "news",
        "reuters",
        "ap",
        "afp",
        "photo",
        "image",
        "video",
        "click",
        "subscribe",
        "newsletter",
        "read",
        "more",
        "advertisement",
        "copyright",
        "share",
        "comment",
        "comments",
        "caption",
        "getty",
        "mr",
        "mrs",
        "ms",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ]
)
# Words that fit any story: light and reporting verbs, generic nouns, adjectives and adverbs.
# They stay terms (stories are grouped by them too) but say nothing about how a story is
# framed ("meet", "thing", "new", "lot"): ``framing`` leaves them out alone, and a pair of
# two of them ("state medium"); with a content word a pair still may ("meet demand").
GENERIC = frozenset([
    "be", "have", "do", "make", "take", "get", "go", "come", "give", "put", "see", "know", "think",
    "want", "need", "seem", "look", "use", "find", "keep", "let", "begin", "help", "show", "try",
    "call", "ask", "work", "feel", "leave", "meet", "hold", "bring", "happen", "mean", "set", "run",
    "move", "turn", "start", "include", "continue", "become", "cite", "rise", "add", "note", "claim",
    "suggest", "believe", "expect", "plan", "speak", "write", "post", "hop", "stand", "sit",
    "play", "live", "lose", "pay", "send", "receive", "thing", "lot", "way", "night", "morning",
    "evening", "today", "tonight", "world", "city", "state", "country", "place", "part", "side",
    "case", "point", "fact", "issue", "kind", "sort", "number", "group", "area", "man", "woman",
    "life", "home", "end", "top", "deal", "table", "medium", "media", "question", "problem", "change",
    "job", "family", "friend", "member", "new", "old", "high", "low", "big", "small", "good", "bad",
    "great", "little", "long", "short", "ready", "real", "right", "wrong", "many", "much", "few",
    "last", "next", "early", "late", "recent", "former", "major", "large", "important", "certain",
    "sure", "able", "likely", "possible", "clear", "whole", "full", "free", "open", "public", "just",
    "still", "even", "really", "already", "well", "back", "ago", "yet", "actually", "maybe",
    "perhaps", "lead", "follow", "report", "hear", "watch", "read", "nation", "sign", "rule", "agree",
    "join", "official", "president", "say", "tell", "told", "week", "year", "day", "month", "time",
])
CONTENT_POS = frozenset({"NOUN", "PROPN", "VERB", "ADJ"})
MAX_TERMS = 200
_LINKS = frozenset({"of", "-", "–"})  # what may stand inside a two-word term


def _keep(word: str) -> bool:
    return len(word) > 2 and word.isalpha() and word not in STOP_WORDS and word not in BOILERPLATE


@lru_cache(maxsize=131_072)  # asked for every term of every article of a story, on each article
def framing(term: str) -> bool:
    """Whether a term can say how a story is framed: not a ``GENERIC`` word alone, nor two of them."""
    return not all(w in GENERIC for w in term.split(" "))


def terms_from_lemmas(items: Iterable[tuple[str, str]]) -> tuple[str, ...]:
    """``items`` are (lemma, POS) in text order; returns unique terms and adjacent pairs.

    A pair is two content words with nothing between them but "of" or a hyphen ("threat of
    force" -> "threat force", "cease-fire" -> "cease fire"): punctuation ends a pair, so
    "... military action. Diplomats ..." gives no "action diplomat".
    """
    out: dict[str, None] = {}
    prev: str | None = None
    for lemma, pos in items:
        lemma = lemma.lower()
        if pos in CONTENT_POS and _keep(lemma):
            out.setdefault(lemma)
            if prev is not None:
                out.setdefault(f"{prev} {lemma}")
            prev = lemma
        elif lemma not in _LINKS:
            prev = None
        if len(out) >= MAX_TERMS:
            break
    return tuple(out)


def terms_from_tokens(tokens: Iterable[Token]) -> tuple[str, ...]:
    """The same without a model: words (plurals folded, so terms stay readable) and pairs,
    which end where a sentence does (the tokens carry no other punctuation)."""
    return terms_from_lemmas(_token_items(tokens))


def _token_items(tokens: Iterable[Token]) -> Iterable[tuple[str, str]]:
    for t in tokens:
        if t.sentence_start:
            yield "", "PUNCT"
        low = t.text.lower()
        yield (singular(low), "NOUN") if _keep(low) else (t.key, "X")


def singular(word: str) -> str:
    """Plural to singular only ('sanctions' -> 'sanction'): shown to people as it is."""
    if len(word) <= 3 or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "sses")):
        return word[:-2]
    return word[:-1] if word.endswith("s") else word
