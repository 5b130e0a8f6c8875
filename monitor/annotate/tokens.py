"""Cheap tokenisation and inflection folding, shared by the prefilter and keyword matching."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from functools import lru_cache
from typing import NamedTuple

# Words with inner dots, hyphens or apostrophes stay one token ("U.S", "Ki-moon", "don't");
# a trailing dot and a possessive 's are left out.
_TOKEN = re.compile(r"\w+(?:[-.'’]\w+)*", re.UNICODE)
_SENTENCE_END = re.compile(r"[.!?:;\"“”\n]\s*$")
_VOWELS = frozenset("aeiou")


class Token(NamedTuple):
    text: str  # surface form, possessive removed
    key: str  # folded: lower case, no hyphens or apostrophes, inflection removed
    start: int
    sentence_start: bool


def tokenize(text: str) -> list[Token]:
    return list(iter_tokens(text))


def iter_tokens(text: str) -> Iterator[Token]:
    """``tokenize``, one token at a time: a reader that stops early (an article's first 200
    terms) tokenizes only that far."""
    first = True
    search, new = _SENTENCE_END.search, tuple.__new__
    last_end = 0
    for m in _TOKEN.finditer(text):
        word = m.group()
        start, end = m.span()
        if word.endswith(("'s", "’s")) and len(word) > 2:
            word = word[:-2]
        gap = text[last_end:start]  # sentence_gap, inlined: a call per token cost the 1,000-rule run 5%
        initial = first or (gap != " " and search(gap) is not None)
        first = False
        yield new(Token, (word, fold(word), start, initial))  # Token(...) without its Python __new__
        last_end = end


def raw_words(text: str) -> list[str]:
    """What ``tokenize`` matches, in order, possessives still on: one ``findall``, no tokens."""
    return _TOKEN.findall(text)


def token_starts(text: str) -> list[int]:
    """Where each of ``raw_words(text)`` starts, in characters."""
    return [m.start() for m in _TOKEN.finditer(text)]


def sentence_gap(gap: str) -> bool:
    """Whether the text between two words ends a sentence (``Token.sentence_start``)."""
    return gap != " " and _SENTENCE_END.search(gap) is not None  # most gaps are one space


def token_text(raw: str) -> str:
    """``Token.text`` of a raw match: the possessive removed."""
    return raw[:-2] if raw.endswith(("'s", "’s")) and len(raw) > 2 else raw


@lru_cache(maxsize=200_000)
def token_key(raw: str) -> str:
    """``Token.key`` of a raw match."""
    return fold(token_text(raw))


@lru_cache(maxsize=200_000)
def fold(word: str) -> str:
    """Lower case, accents and hyphens removed, inflection stripped: 'Strikes' -> 'strike'."""
    low = word.lower().replace("-", "").replace("’", "'").replace("'", "")
    if not low.isascii():
        low = unicodedata.normalize("NFKD", low).encode("ascii", "ignore").decode() or low
    return stem(low)


def stem(w: str) -> str:
    """Porter's step 1 (plurals, -ed, -ing): inflection only, no derivation."""
    if len(w) <= 3 or not w.isalpha():
        return w
    if w.endswith("sses"):
        w = w[:-2]
    elif w.endswith("ies"):
        w = w[:-3] + "y"
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    if w.endswith("ied") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith("eed"):
        return w[:-1] if _measure(w[:-3]) > 0 else w
    for suffix in ("ed", "ing"):
        if w.endswith(suffix) and _has_vowel(w[: -len(suffix)]):
            return _tidy(w[: -len(suffix)])
    return w


def _tidy(w: str) -> str:
    if w.endswith(("at", "bl", "iz")):
        return w + "e"
    if len(w) > 2 and w[-1] == w[-2] and w[-1] not in "lsz" and w[-1] not in _VOWELS:
        return w[:-1]
    if _measure(w) == 1 and _cvc(w):
        return w + "e"
    return w


def _is_consonant(w: str, i: int) -> bool:
    c = w[i]
    if c in _VOWELS:
        return False
    if c == "y":
        return i == 0 or not _is_consonant(w, i - 1)
    return True


def _measure(w: str) -> int:
    pattern = "".join("c" if _is_consonant(w, i) else "v" for i in range(len(w)))
    return len(re.findall("v+c+", pattern))


def _has_vowel(w: str) -> bool:
    return any(not _is_consonant(w, i) for i in range(len(w)))


def _cvc(w: str) -> bool:
    return (
        len(w) >= 3
        and _is_consonant(w, -3 + len(w))
        and not _is_consonant(w, len(w) - 2)
        and _is_consonant(w, len(w) - 1)
        and w[-1] not in "wxy"
    )
