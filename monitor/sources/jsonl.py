"""A JSON Lines file as a source: one article a line; ``follow`` tails a growing file."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import IO

from monitor.decode import DecodeError, decode_record
from monitor.errors import SourceError
from monitor.sources.base import Record

log = logging.getLogger("monitor.source")
_PEEK_BYTES = 64 * 1_048_576  # only to read a time: the run loop applies the real limit


class JsonlSource:
    """Lines are offsets: a restart over the same state resumes after the last line done."""

    clock = "event"

    def __init__(self, path: str | Path, *, follow: bool = False) -> None:
        self.path = Path(path)
        self.name = str(self.path)
        self.follow = follow
        if follow:
            self.clock = "wall"
        try:
            self._file: IO[bytes] = self.path.open("rb")
        except OSError as exc:
            raise SourceError(f"{path}: cannot open: {exc.strerror}") from None
        self._line = 0
        self._partial = b""
        self._ahead: bytes | None = None  # a line read to look at its time, not yet taken
        self._eof = False
        self._at_end = False
        self.rejected: Counter[str] = Counter()

    @property
    def exhausted(self) -> bool:
        return self._eof and not self.follow

    @property
    def caught_up(self) -> bool:
        """At the end of the file (a followed file: until it grows)."""
        return self._at_end

    def seek(self, offsets: Mapping[int, int]) -> None:
        skip = offsets.get(-1, 0)
        while self._line < skip and self._file.readline():
            self._line += 1

    def poll(self, max_records: int, timeout_s: float) -> list[Record]:
        """Up to ``max_records`` lines, and past that the lines of the last one's publication
        time: a batch never ends inside one moment (see ``monitor.sources.alignment``)."""
        out: list[Record] = []
        deadline = time.monotonic() + timeout_s
        while len(out) < max_records or self._same_moment(out):
            chunk = self._readline()
            self._at_end = not chunk or not chunk.endswith(b"\n")
            if self._at_end:
                self._partial += chunk
                if not self.follow:
                    if self._partial:  # a last line without a newline
                        out.append(self._record(self._partial))
                        self._partial = b""
                    self._eof = True
                    break
                if out or time.monotonic() >= deadline:
                    break
                time.sleep(0.05)
                continue
            line, self._partial = self._partial + chunk, b""
            if line.strip():
                out.append(self._record(line.rstrip(b"\r\n")))
            else:
                self._line += 1
        return out

    def _readline(self) -> bytes:
        chunk, self._ahead = (self._ahead, None) if self._ahead is not None else (self._file.readline(), None)
        return chunk

    def _same_moment(self, out: list[Record]) -> bool:
        """Whether the next complete line has the publication time of the last line taken."""
        if not out or self._partial:
            return False
        chunk = self._ahead = self._file.readline()
        if not chunk.endswith(b"\n") or not chunk.strip():
            return False
        last = _moment(out[-1].value)
        return last is not None and _moment(chunk) == last

    def _record(self, line: bytes) -> Record:
        record = Record(self.name, -1, self._line, line)
        self._line += 1
        return record

    def flush(self) -> None:
        return None

    def commit(self, offsets: Mapping[tuple[str, int], int]) -> None:
        return None  # the state store holds file positions

    def reject(self, record: Record, error: DecodeError) -> None:
        self.rejected[error.reason] += 1
        log.warning("bad_article_line", extra={"where": record.where, "reason": error.reason,
                                                "detail": error.detail})

    def close(self) -> None:
        self._file.close()


def _moment(line: bytes | str | None) -> float | None:
    """A line's publication time, when it decodes to an article (a cheap second decode)."""
    article = decode_record(line, None, _PEEK_BYTES)
    return None if isinstance(article, DecodeError) else article.published_at.timestamp()
