"""One index for every rule keyword and actor alias: a single pass over an article's tokens.

It is the prefilter (does anything here concern any rule?) and the keyword and alias
matcher at once, so the cost grows with the article, not with the number of rules.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from monitor.annotate.tokens import (
    Token,
    iter_tokens,
    raw_words,
    sentence_gap,
    token_key,
    token_starts,
    token_text,
    tokenize,
)
from monitor.rules.schema import RuleSet

_MAX_PHRASE = 8
# first word -> [(length, {words: values})]: one dict lookup per length, whatever the number of phrases
Table = dict[str, list[tuple[int, dict[tuple[str, ...], list[str]]]]]


@dataclass(frozen=True, slots=True)
class AliasHit:
    """An alias found in the text; ``weak`` hits need a named entity to confirm them."""

    actor: str
    start: int  # character offsets
    end: int
    weak: bool
    surname: bool = False  # matched only a person's last name ("Lavrov" for "Sergei Lavrov")


@dataclass(frozen=True, slots=True)
class Hits:
    keywords: frozenset[str]
    aliases: tuple[AliasHit, ...]
    text: str = ""
    keys: tuple[str, ...] | list[str] = ()  # the text's word keys, when the scan made them

    @property
    def any(self) -> bool:
        return bool(self.keywords or self.aliases)

    @property
    def tokens(self) -> tuple[Token, ...]:
        """The text's tokens, made on demand (only model-free framing terms need them)."""
        return tuple(tokenize(self.text))

    def iter_tokens(self) -> Iterator[Token]:
        """The same, one at a time, for a reader that stops early."""
        return iter_tokens(self.text)


NO_HITS = Hits(frozenset(), ())


class PhraseIndex:
    """Keywords fold case and inflection; aliases keep case (an all-caps text also matches)."""

    def __init__(self, ruleset: RuleSet) -> None:
        self._keywords: Table = {}
        self._aliases: dict[str, list[tuple[tuple[str, ...], str, bool]]] = defaultdict(list)
        self.size = 0
        for rule in ruleset.enabled:
            for phrase in rule.match.phrases:
                keys = tuple(t.key for t in tokenize(phrase))[:_MAX_PHRASE]
                if keys and _add(self._keywords, keys, phrase):
                    self.size += 1
        for actor in ruleset.actors.values():
            for alias in actor.aliases:
                self._add_alias(alias, actor.id)
        self.size += sum(map(len, self._aliases.values()))
        self._alias_table: Table = {}  # the aliases again, for ``may_hit``
        for forms in self._aliases.values():
            for words, actor_id, _ in forms:
                _add(self._alias_table, words, actor_id)
        # raw matches that can be an alias's first word once a possessive is removed
        self._alias_raw = {w + s for w in self._alias_table for s in ("", "'s", "’s")}
        # for ``may_hit``: the keyword phrases as sets of key tuples, one set per length
        grams: dict[int, set[tuple[str, ...]]] = defaultdict(set)
        for lengths in self._keywords.values():
            for length, entries in lengths:
                grams[length].update(entries)
        self._words = {g[0] for g in grams.pop(1, ())}  # one-word keywords, tested without tuples
        self._grams = sorted(grams.items())
        self._phrases = {words: values for lengths in self._keywords.values() for _, entries in lengths
                         for words, values in entries.items()}  # for ``scan``: key tuple -> keywords
        self.forms: dict[str, list[tuple[str, ...]]] = defaultdict(list)  # keyword -> its key tuples
        for words, values in self._phrases.items():
            for value in values:
                self.forms[value].append(words)

    def _add_alias(self, alias: str, actor_id: str) -> None:
        words = tuple(t.text for t in tokenize(alias))[:_MAX_PHRASE]
        if not words:
            return
        for form in {words, tuple(w.upper() for w in words)}:
            self._aliases[form[0]].append((form, actor_id, False))
        if len(words) >= 2 and all(w[:1].isupper() for w in words) and not words[-1].isupper():
            # a person's surname alone ("Lavrov"), only when NER says it is a person
            self._aliases[words[-1]].append(((words[-1],), actor_id, True))

    def may_hit(self, text: str) -> bool:
        """Whether ``scan(text)`` finds anything, exactly, without building tokens (the prefilter)."""
        return self._may_hit(_Words(raw_words(text)))

    def scan(self, text: str) -> Hits:
        """Every keyword and alias in the text. Keywords are found the way ``may_hit`` finds
        them, as set intersections made in C; only a text with an alias's first word pays for
        character offsets, and tokens are made only when asked for."""
        return self._scan(text, _Words(raw_words(text)))

    def prefiltered(self, text: str) -> Hits:
        """``scan(text)`` if ``may_hit(text)``, else ``NO_HITS``: the two share the text's
        words, keys and alias forms, each made once."""
        words = _Words(raw_words(text))
        return self._scan(text, words) if self._may_hit(words) else NO_HITS

    def _may_hit(self, words: _Words) -> bool:
        if not self._alias_raw.isdisjoint(words.raw) and _first_hit(words.texts(), self._alias_table):
            return True
        if not self._keywords:
            return False
        keys = words.keys()
        if not self._words.isdisjoint(keys):
            return True
        for length, grams in self._grams:  # the text's runs of ``length`` keys, made and tested in C
            if not grams.isdisjoint(zip(*(keys[j:] for j in range(length)), strict=False)):
                return True
        return False

    def _scan(self, text: str, words: _Words) -> Hits:
        keywords: set[str] = set()
        if self._keywords:
            keys = words.keys()
            phrases = self._phrases
            for key in self._words.intersection(keys):
                keywords.update(phrases[(key,)])
            for length, grams in self._grams:
                for run in grams.intersection(zip(*(keys[j:] for j in range(length)), strict=False)):
                    keywords.update(phrases[run])
        aliases = () if self._alias_raw.isdisjoint(words.raw) else self._find_aliases(text, words)
        return Hits(frozenset(keywords), aliases, text, words.made_keys)

    def _find_aliases(self, text: str, words: _Words) -> tuple[AliasHit, ...]:
        raw, texts = words.raw, words.texts()
        table = self._aliases
        found = [i for i, t in enumerate(texts) if t in table]
        if not found:
            return ()
        starts = token_starts(text)
        n = len(texts)
        shouting = sum(map(str.isupper, texts)) > 0.6 * max(n, 1)
        hits = []
        for i in found:
            tok = texts[i]
            for form, actor, surname in table[tok]:
                size = len(form)
                if size > 1 and tuple(texts[i : i + size]) != form:
                    continue
                initial = i == 0 or sentence_gap(text[starts[i - 1] + len(raw[i - 1]) : starts[i]])
                weak = surname or shouting or (size == 1 and initial and not tok.isupper())
                last = i + size - 1
                hits.append(AliasHit(actor, starts[i], starts[last] + len(texts[last]), weak, surname))
        return tuple(hits)


class _Words:
    """A text's raw words, with their keys (keywords) and alias forms made on first use, once."""

    __slots__ = ("_keys", "_texts", "raw")

    def __init__(self, raw: list[str]) -> None:
        self.raw = raw
        self._keys: list[str] | None = None
        self._texts: list[str] | None = None

    @property
    def made_keys(self) -> list[str]:
        return self._keys or []

    def keys(self) -> list[str]:
        if self._keys is None:
            self._keys = list(map(token_key, self.raw))
        return self._keys

    def texts(self) -> list[str]:
        if self._texts is None:
            self._texts = list(map(token_text, self.raw))
        return self._texts


def _add(table: Table, words: tuple[str, ...], value: str) -> bool:
    """File ``value`` under ``words``; False when it was there already."""
    by_length = table.setdefault(words[0], [])
    entries = next((e for length, e in by_length if length == len(words)), None)
    if entries is None:
        entries = {}
        by_length.append((len(words), entries))
        by_length.sort(key=lambda item: item[0])
    values = entries.setdefault(words, [])
    if value in values:
        return False
    values.append(value)
    return True


def _first_hit(seq: list[str], table: Table) -> bool:
    """Does any entry of ``table`` occur in ``seq`` as consecutive items?"""
    for i, item in enumerate(seq):
        for length, entries in table.get(item, ()):
            if length == 1 or tuple(seq[i : i + length]) in entries:
                return True
    return False
