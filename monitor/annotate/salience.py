"""Where in an article each actor and keyword stands: headline, lead, which sentences.

Sentence 0 is the headline; the body's sentences are numbered from 1, and the first
``LEAD`` of them are the lead (news puts what matters first). Sentences end where the
cheap tokenizer says they do (``tokens.sentence_gap``), so finding them costs one
tokenisation of a text that the model is about to read anyway.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from monitor.annotate.tokens import raw_words, token_key, token_starts

_FIRST_WORD = re.compile(r"\w")

LEAD = 3  # body sentences that make the lead
QUOTE_MAX = 240  # characters of a sentence kept to show why an actor is there


@dataclass(frozen=True, slots=True)
class Where:
    """Sentence numbers of each actor and keyword of one article (0 = the headline)."""

    actors: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    keywords: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    sentences: int = 0  # sentences in the body
    quotes: Mapping[str, str] = field(default_factory=dict)  # actor id -> first sentence naming it


NOWHERE = Where()


# Where ``tokenize`` starts a sentence: after . ! ? : ; a quote or a line break, spaces only
# between it and the next word (a dot inside "U.S" is part of a word).
_BOUNDARY = re.compile(r"(?:(?<!\w)\.|\.(?!\w)|[!?:;\"“”\n])\s*(?=\w)")


class Sentences:
    """A text's sentence boundaries: which sentence a character offset falls in."""

    def __init__(self, text: str, title_len: int) -> None:
        self.text = text
        self.title_len = title_len
        body = _FIRST_WORD.search(text, title_len)
        first = [body.start()] if body else []
        self.starts = first + [m.end() for m in _BOUNDARY.finditer(text, title_len) if m.end() > first[0]] \
            if first else []

    def of(self, offset: int) -> int:
        return 0 if offset < self.title_len else bisect.bisect_right(self.starts, offset)

    def quote(self, n: int) -> str:
        if n == 0:
            text = self.text[: self.title_len]
        else:
            end = self.starts[n] if n < len(self.starts) else len(self.text)
            text = self.text[self.starts[n - 1] : end]
        text = " ".join(text.split())
        return text if len(text) <= QUOTE_MAX else text[: QUOTE_MAX - 1].rsplit(" ", 1)[0] + "…"

    def keyword_sentences(
        self, forms: Mapping[str, Iterable[tuple[str, ...]]], keys: Sequence[str] = (),
        names: frozenset[int] = frozenset(),
    ) -> dict[str, tuple[int, ...]]:
        """For each keyword, the sentences where one of its key tuples occurs (``keys``: the
        text's word keys, when the caller has them already). An occurrence right before the
        start of a name (``names``: character offsets of actor mentions) is that person's or
        body's title, not the story's word: "adviser Kellyanne Conway", "manager Ada Okafor"."""
        if not forms:
            return {}
        keys = keys or list(map(token_key, raw_words(self.text)))
        wanted = {words[0] for tuples in forms.values() for words in tuples}
        at: dict[str, list[int]] = {}
        for i, k in enumerate(keys):
            if k in wanted:
                at.setdefault(k, []).append(i)
        starts = token_starts(self.text) if at else []
        out: dict[str, tuple[int, ...]] = {}
        for keyword, tuples in forms.items():
            found = {self.of(starts[i]) for words in tuples for i in at.get(words[0], ())
                     if (len(words) == 1 or tuple(keys[i : i + len(words)]) == words)
                     and not self._titles(starts, i + len(words), names)}
            if found:
                out[keyword] = tuple(sorted(found))
        return out


    def _titles(self, starts: Sequence[int], after: int, names: frozenset[int]) -> bool:
        """Whether the word at ``after`` starts a name, the keyword before it only spaces away."""
        if after >= len(starts) or starts[after] not in names:
            return False
        return _TITLE_GAP.fullmatch(self.text, starts[after - 1], starts[after]) is not None


_TITLE_GAP = re.compile(r"[\w'’-]+[ \t]+")


def where(sentences: Sentences, actor_offsets: Mapping[str, list[int]],
          keywords: Mapping[str, Iterable[tuple[str, ...]]], keys: Sequence[str] = ()) -> Where:
    """Actors (by character offsets of their mentions) and keywords placed in sentences."""
    actors: dict[str, tuple[int, ...]] = {}
    quotes: dict[str, str] = {}
    for actor, offsets in actor_offsets.items():
        found = tuple(sorted({sentences.of(o) for o in offsets}))
        actors[actor] = found
        quotes[actor] = sentences.quote(found[0])
    names = frozenset(o for offsets in actor_offsets.values() for o in offsets)
    return Where(actors, sentences.keyword_sentences(keywords, keys, names), len(sentences.starts), quotes)
