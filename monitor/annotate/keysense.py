"""A keyword in another sense: a common noun of a rule inside a name ("Typhoon" in "RAF Typhoon").

A rule's keyword written in lower case ("typhoon", "storm") is a common noun: the thing
itself. Where the text uses it as part of a name that the model tags as an organisation or a
person ("RAF Typhoon jets", "escorted by Typhoons", "Paula Storm"), it is another sense and
does not count: neither toward the match nor toward where the keyword stands. A name that
starts with the keyword is still that thing, named ("Storm Stella", "Cyclone Debbie"). A
keyword the rule writes with a capital ("Greyball", "International Criminal Court") is a
name itself and is read as before. A headline in Title Case ("Gorsuch Confirmation Hearing
Opens") gives the model no case to tell names by: its occurrences are read as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from monitor.annotate.tokens import raw_words, token_key, token_starts

NAME_LABELS = ("ORG", "PERSON")
Entity = tuple[str, int, int, str]  # label, start, end, text


def _in_name(start: int, end: int, entities: Sequence[Entity]) -> bool:
    """Inside a name entity, other than at the head of a longer one ("Storm Stella")."""
    return any(label in NAME_LABELS and s <= start and end <= e and not (s == start and e > end)
               for label, s, e, _ in entities)


def title_case(title: str) -> bool:
    """Most words of four letters or more start upper-case ("Storm Batters Coast Towns")."""
    words = [w for w in raw_words(title) if len(w) > 3]
    return bool(words) and sum(w[:1].isupper() for w in words) > 0.6 * len(words)


def _runs(keys: Sequence[str], words: tuple[str, ...]) -> Iterable[int]:
    n = len(words)
    return (i for i in range(len(keys) - n + 1) if tuple(keys[i : i + n]) == words)


def other_sense(
    text: str, keys: Sequence[str], keywords: Iterable[str], forms: Mapping[str, Sequence[tuple[str, ...]]],
    common: frozenset[str], entities: Sequence[Entity], title_len: int = 0,
) -> tuple[frozenset[str], list[str]]:
    """The keywords still found, and the text's word keys with in-name occurrences blanked
    (not where another keyword, a name, stands: "court" of "Supreme Court")."""
    found = set(keywords)
    todo = [k for k in found if k in common]
    if not todo or not entities:
        return frozenset(found), list(keys)
    raw = raw_words(text)
    out = list(keys) or [token_key(w) for w in raw]
    starts = token_starts(text)
    from_ = title_len if title_case(text[:title_len]) else 0  # a Title Case headline: read as before
    blank: set[int] = set()
    for keyword in todo:
        kept = False
        for words in forms.get(keyword, ()):
            n = len(words)
            for i in _runs(out, words):
                end = starts[i + n - 1] + len(raw[i + n - 1])
                if starts[i] >= from_ and _in_name(starts[i], end, entities):
                    blank.update(range(i, i + n))
                else:
                    kept = True
        if not kept:
            found.discard(keyword)
    for keyword in found - set(todo):  # a name keyword keeps its words
        for words in forms.get(keyword, ()):
            for i in _runs(out, words):
                blank.difference_update(range(i, i + len(words)))
    return frozenset(found), [("" if i in blank else k) for i, k in enumerate(out)]
