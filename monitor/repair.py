"""Letters a scraper lost: runs of U+FFFD inside words, restored where English knows the word.

A feed that read its pages with the wrong codec, and replaced what it could not read,
delivers "Sinn F\ufffd\ufffdin", "the D\ufffd\ufffdil", "Th\ufffd\ufffdo": in the 2016-17 corpus 535 of
3,824 articles (14%) carry such runs, most of the Irish ones among them. The letter is gone,
and with it every alias and keyword that has it ("Sinn Féin", "Théo", "Gardaí") and the name
the desk reads in the alert. So a word with one or two such runs (``MAX_RUNS``), each of one
or two replacement characters next to a letter, takes at each the accented letter (or
apostrophe: "O'Reilly") that makes the commonest English word (wordfreq, the Zipf scale),
"F?in" -> "Féin", "Beyonc?" -> "Beyoncé", "Se?n" -> "Seán"; a word no candidate makes
known ("Iarnr?d", "?10" for a lost currency sign) keeps its characters.

ftfy, the maintained library for mojibake, mends text decoded with the wrong codec ("FÃ©in");
it cannot bring back a character the decoder replaced, which is what these feeds carry.
"""

from __future__ import annotations

import itertools
import re
from functools import lru_cache

from wordfreq import zipf_frequency

LOST = "\ufffd"
MAX_RUNS = 2  # runs restored in one word (candidates multiply: 32 ** 2 lookups at most)
MIN_ZIPF = 1.0  # the restored word must be this common in English (1: about once in 100 million words)
LETTERS = "áéíóúàèìòùâêîôûäëïöüçñãõåøæœßýÿ"
CANDIDATES = (*LETTERS, "'")
_CONTRACTIONS = frozenset(("s", "t", "re", "ll", "ve", "d", "m"))
_WORD = re.compile(r"[\w\ufffd]*\ufffd[\w\ufffd]*")
_RUN = re.compile(r"\ufffd{1,2}")


def repair(text: str) -> str:
    """``text`` with the letters of its U+FFFD runs restored where a known word says which."""
    if LOST not in text:  # nearly every text: one scan in C
        return text
    return _WORD.sub(lambda m: _word(m.group()), text)


@lru_cache(maxsize=16_384)
def _word(broken: str) -> str:
    pieces, runs = _RUN.split(broken), _RUN.findall(broken)
    if not 1 <= len(runs) <= MAX_RUNS or any(len(r) != len(runs[0]) for r in runs) or LOST in "".join(pieces):
        return broken  # three runs or more, or one of three characters: no single letter each
    if not any(p[-1:].isalpha() for p in pieces[:-1]) and not any(p[:1].isalpha() for p in pieces[1:]):
        return broken  # not beside a letter: a lost currency sign or quote mark ("?10")
    best, score = broken, MIN_ZIPF
    for letters in itertools.product(CANDIDATES, repeat=len(runs)):
        if "'" in letters and not _inner(pieces, letters):
            continue
        word = pieces[0] + "".join(c + p for c, p in zip(letters, pieces[1:], strict=True))
        found = zipf_frequency(word, "en")
        if found > score:
            best, score = _cased(pieces, letters), found
    return best


def _inner(pieces: list[str], letters: tuple[str, ...]) -> bool:
    """An apostrophe between letters, before a name ("O'Reilly") or a contraction ("don't")."""
    return all(pieces[i] and (pieces[i + 1][:1].isupper() or pieces[i + 1].lower() in _CONTRACTIONS)
               for i, c in enumerate(letters) if c == "'")


def _cased(pieces: list[str], letters: tuple[str, ...]) -> str:
    """The word with its restored letters in the case around them: capital at the start of a
    word ("?ireann" -> "Éireann") or in a word in capitals, small otherwise."""
    out = pieces[0]
    for letter, after in zip(letters, pieces[1:], strict=True):
        upper = (not out and after[:1].islower()) or (out.isupper() and (not after or after.isupper()))
        out += (letter.upper() if upper and letter != "'" else letter) + after
    return out
