"""One index for every rule keyword and actor alias: a single pass over an article's tokens.

It is the prefilter (does anything here concern any rule?) and the keyword and alias
matcher at once, so the cost grows with the article, not with the number of rules.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from monitor.annotate.tokens import Token, tokenize
from monitor.rules.schema import RuleSet

_MAX_PHRASE = 8


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
    tokens: tuple[Token, ...]

    @property
    def any(self) -> bool:
        return bool(self.keywords or self.aliases)


class PhraseIndex:
    """Keywords fold case and inflection; aliases keep case (an all-caps text also matches)."""

    def __init__(self, ruleset: RuleSet) -> None:
        self._keywords: dict[str, list[tuple[tuple[str, ...], str]]] = defaultdict(list)
        self._aliases: dict[str, list[tuple[tuple[str, ...], str, bool]]] = defaultdict(list)
        for rule in ruleset.enabled:
            for phrase in rule.match.phrases:
                keys = tuple(t.key for t in tokenize(phrase))[:_MAX_PHRASE]
                if keys and (keys, phrase) not in self._keywords[keys[0]]:
                    self._keywords[keys[0]].append((keys, phrase))
        for actor in ruleset.actors.values():
            for alias in actor.aliases:
                self._add_alias(alias, actor.id)
        self.size = sum(map(len, self._keywords.values())) + sum(map(len, self._aliases.values()))

    def _add_alias(self, alias: str, actor_id: str) -> None:
        words = tuple(t.text for t in tokenize(alias))[:_MAX_PHRASE]
        if not words:
            return
        for form in {words, tuple(w.upper() for w in words)}:
            self._aliases[form[0]].append((form, actor_id, False))
        if len(words) >= 2 and all(w[:1].isupper() for w in words) and not words[-1].isupper():
            # a person's surname alone ("Lavrov"), only when NER says it is a person
            self._aliases[words[-1]].append(((words[-1],), actor_id, True))

    def scan(self, text: str) -> Hits:
        tokens = tokenize(text)
        keywords: set[str] = set()
        aliases: list[AliasHit] = []
        shouting = sum(t.text.isupper() for t in tokens) > 0.6 * max(len(tokens), 1)
        n = len(tokens)
        for i, tok in enumerate(tokens):
            for keys, phrase in self._keywords.get(tok.key, ()):
                if _follows(tokens, i, keys, keyed=True):
                    keywords.add(phrase)
            for words, actor, surname in self._aliases.get(tok.text, ()):
                if _follows(tokens, i, words, keyed=False):
                    last = tokens[min(i + len(words), n) - 1]
                    weak = surname or shouting or (
                        len(words) == 1 and tok.sentence_start and not tok.text.isupper()
                    )
                    end = last.start + len(last.text)
                    aliases.append(AliasHit(actor, tok.start, end, weak, surname))
        return Hits(frozenset(keywords), tuple(aliases), tuple(tokens))


def _follows(tokens: list[Token], i: int, want: tuple[str, ...], *, keyed: bool) -> bool:
    """Do the tokens from ``i`` on spell ``want`` (by folded key, or by surface text)?"""
    if len(want) == 1:
        return True  # the index lookup already compared the first token
    if i + len(want) > len(tokens):
        return False
    if keyed:
        return all(tokens[i + j].key == w for j, w in enumerate(want))
    return all(tokens[i + j].text == w for j, w in enumerate(want))
