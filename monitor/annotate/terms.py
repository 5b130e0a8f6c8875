"""Salient terms of an article for framing shifts: content lemmas and two-word phrases."""

from __future__ import annotations

from collections.abc import Iterable

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
CONTENT_POS = frozenset({"NOUN", "PROPN", "VERB", "ADJ"})
MAX_TERMS = 200
_LINKS = frozenset({"of", "-", "–"})  # what may stand inside a two-word term


def _keep(word: str) -> bool:
    return len(word) > 2 and word.isalpha() and word not in STOP_WORDS and word not in BOILERPLATE


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
        yield (_singular(low), "NOUN") if _keep(low) else (t.key, "X")


def _singular(word: str) -> str:
    """Plural to singular only ('sanctions' -> 'sanction'): shown to people as it is."""
    if len(word) <= 3 or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "sses")):
        return word[:-2]
    return word[:-1] if word.endswith("s") else word
