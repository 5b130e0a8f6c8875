"""The names a story already holds, and whether a newcomer's name is one of them.

Besides ``features.same_name`` (a name or its tail, a family name written first) a name is
known when it is
- a known name cut short at the end ("Department of Homeland" for "Department of Homeland
  Security"), two words at least;
- the initials of a known name, or a known name's initials spelled out ("DHS" and
  "Department of Homeland Security", either one first);
- the same name spelled another way: as many words, all equal but one, and that one alike
  (``SPELLING`` of difflib's ratio, five letters at least: "Siti Aisyah", "Siti Aishah").
"""

from __future__ import annotations

from difflib import SequenceMatcher

from monitor.detect.features import name_tokens

SPELLING = 0.8
_SKIP = frozenset({"of", "the", "and", "for", "de", "la", "al"})


def initials(words: tuple[str, ...]) -> str:
    """('department', 'of', 'homeland', 'security') -> 'dhs'."""
    return "".join(w[0] for w in words if w not in _SKIP)


class KnownNames:
    """Names already in the story, indexed so that ``has`` checks all of them at once (hundreds
    of names are remembered per story)."""

    def __init__(self, names: list[str]) -> None:
        self.full: set[tuple[str, ...]] = set()
        self.tails: set[tuple[str, ...]] = set()
        self.heads: set[tuple[str, ...]] = set()
        self.firsts: set[str] = set()
        self.initials: set[str] = set()
        for name in names:
            words = name_tokens(name)
            if words:
                self.full.add(words)
                self.tails.update(words[i:] for i in range(len(words)))
                self.heads.update(words[:i] for i in range(2, len(words)))
                self.firsts.add(words[0])
                if len(words) >= 3:
                    self.initials.add(initials(words))

    def has(self, name: str) -> bool:
        words = name_tokens(name)
        if not words:
            return False
        return (words in self.tails or (len(words) == 1 and words[0] in self.firsts)
                or (words[0],) in self.full or any(words[i:] in self.full for i in range(len(words)))
                or words in self.heads or self._initials(words) or self._spelled(words))

    def _initials(self, words: tuple[str, ...]) -> bool:
        if len(words) == 1:
            return len(words[0]) >= 2 and words[0] in self.initials
        return len(words) >= 3 and (initials(words),) in self.full

    def _spelled(self, words: tuple[str, ...]) -> bool:
        for known in self.full:
            if len(known) != len(words) or known == words:
                continue
            odd = [(a, b) for a, b in zip(known, words, strict=True) if a != b]
            if len(odd) == 1 and min(map(len, odd[0])) >= 5 and \
                    SequenceMatcher(None, *odd[0]).ratio() >= SPELLING:
                return True
        return False
