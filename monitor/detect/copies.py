"""Syndicated copies: the same wire text published by several outlets.

Each article gets a MinHash signature (datasketch) of the word 3-grams of its headline and
the first ``LEAD_WORDS`` words of its body, hashed with CRC-32 (stable across processes,
so signatures can be stored). A rule keeps the signatures of its recent articles
(``Copies``: at most ``MAX_KEPT``, none older than the rule's longest window) in an LSH
index; an article whose estimated Jaccard similarity to a kept one reaches ``SAME`` is a
copy of it. Copies count once toward threshold and spike (``StoryState.count``) and go to
the story of the article they copy.

Wire copies are the same text with a few edits (a dateline, a headline rewritten, a
paragraph cut), so their 3-grams agree far above ``SAME``; two articles written about one
event by two reporters share a few names and phrases and stay far below it.
"""

from __future__ import annotations

import base64
import re
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from datasketch import LeanMinHash, MinHash, MinHashLSH

from monitor.model import Article, Fingerprint

NUM_PERM = 64
SAME = 0.7  # estimated Jaccard of 3-gram sets at or above which two articles are one text
LSH_THRESHOLD = 0.5  # the index's recall level, below SAME: candidates are checked exactly
LEAD_WORDS = 300
MIN_SHINGLES = 4  # a text shorter than this has no signature (a one-word headline is no copy)
MAX_KEPT = 2000
_WORD = re.compile(r"[^\W_]+")
_SEED = 1
SCHEME = "affine32"  # datasketch 2: 32-bit values, stored as 4 bytes each


def _crc(data: bytes) -> int:
    return zlib.crc32(data)


_PERMUTATIONS = MinHash(num_perm=NUM_PERM, seed=_SEED, hashfunc=_crc, scheme=SCHEME).permutations
# the index's bands and rows, found once (datasketch integrates for them in every new index)
_PROBE = MinHashLSH(threshold=LSH_THRESHOLD, num_perm=NUM_PERM)
_BANDS = (_PROBE.b, _PROBE.r)


def signature(title: str, body: str | None) -> np.ndarray | None:
    """The MinHash values of an article's text, or None when it is too short to judge."""
    words = _WORD.findall(title.lower())
    if body:
        words += _WORD.findall(body[: LEAD_WORDS * 8].lower())[:LEAD_WORDS]
    shingles = {" ".join(words[i:i + 3]).encode() for i in range(len(words) - 2)}
    if len(shingles) < MIN_SHINGLES:
        return None
    m = MinHash(num_perm=NUM_PERM, seed=_SEED, hashfunc=_crc, scheme=SCHEME, permutations=_PERMUTATIONS)
    m.update_batch(list(shingles))
    return np.asarray(m.hashvalues, dtype=np.uint64)


def fingerprint(article: Article) -> Fingerprint:
    """``signature`` of the article, to carry with its matches (the annotate role's records)."""
    return Fingerprint(signature(article.title, article.body))


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of two signatures."""
    return float(np.count_nonzero(a == b)) / len(a)


@dataclass(frozen=True, slots=True)
class Kept:
    """A recent article of a rule, as the copy index remembers it."""

    id: str
    at: float
    story: str
    values: np.ndarray = field(compare=False)


@dataclass
class Copies:
    """The recent signatures of one rule and their LSH index."""

    kept: dict[str, Kept] = field(default_factory=dict)
    _lsh: MinHashLSH | None = field(default=None, repr=False)
    _last: tuple[np.ndarray, LeanMinHash] | None = field(default=None, repr=False, compare=False)

    @property
    def lsh(self) -> MinHashLSH:
        if self._lsh is None:
            self._lsh = MinHashLSH(threshold=LSH_THRESHOLD, num_perm=NUM_PERM, params=_BANDS)
            for k in self.kept.values():
                self._lsh.insert(k.id, _minhash(k.values))
        return self._lsh

    def original(self, values: np.ndarray | None, since: float) -> Kept | None:
        """The earliest kept article (not older than ``since``) that this text copies."""
        if values is None or not self.kept:
            return None
        found = [self.kept[i] for i in self.lsh.query(self._minhash(values)) if i in self.kept]
        same = [k for k in found if k.at >= since and similarity(k.values, values) >= SAME]
        return min(same, key=lambda k: (k.at, k.id), default=None)

    def keep(self, id_: str, at: float, story: str, values: np.ndarray | None, since: float) -> None:
        """Remember an accepted article; forget, oldest first (in arrival order, which is
        near time order), those older than ``since`` and those past ``MAX_KEPT``."""
        while self.kept and (len(self.kept) >= MAX_KEPT or next(iter(self.kept.values())).at < since):
            self._drop(next(iter(self.kept)))
        if values is None or id_ in self.kept:
            return
        self.kept[id_] = Kept(id_, at, story, values)
        if self._lsh is not None:
            self._lsh.insert(id_, self._minhash(values))

    def _minhash(self, values: np.ndarray) -> LeanMinHash:
        """The index's view of the values: made once for an article's query and its insert."""
        if self._last is None or self._last[0] is not values:
            self._last = (values, _minhash(values))
        return self._last[1]

    def forget_before(self, before: float) -> bool:
        gone = [k.id for k in self.kept.values() if k.at <= before]
        for id_ in gone:
            self._drop(id_)
        return bool(gone)

    def _drop(self, id_: str) -> None:
        del self.kept[id_]
        if self._lsh is not None:
            self._lsh.remove(id_)

    def to_json(self) -> list[Any]:
        return [[k.id, k.at, k.story, encode(k.values)] for k in self.kept.values()]

    @classmethod
    def from_json(cls, data: list[Any]) -> Copies:
        return cls({str(i): Kept(str(i), float(at), str(s), decode(v)) for i, at, s, v in data})


def _minhash(values: np.ndarray) -> LeanMinHash:
    return LeanMinHash(seed=_SEED, hashvalues=values, scheme=SCHEME)


def encode(values: np.ndarray) -> str:
    """Signature values as base64 of their little-endian 32-bit words (344 characters)."""
    return base64.b64encode(values.astype("<u4").tobytes()).decode("ascii")


def decode(text: str) -> np.ndarray:
    """``encode``'s values back; a text that is not ``NUM_PERM`` such words raises ValueError."""
    raw = base64.b64decode(text, validate=True)
    if len(raw) != NUM_PERM * 4:
        raise ValueError(f"a signature is {NUM_PERM * 4} bytes, not {len(raw)}")
    return np.frombuffer(raw, dtype="<u4").astype(np.uint64)
