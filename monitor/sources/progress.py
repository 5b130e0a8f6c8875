"""A progress bar on the terminal for a file run or a backtest: articles, articles/s, ETA."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from monitor.decode import DecodeError
from monitor.sources.base import Record, Source


def count_lines(path: Path) -> int:
    """The articles a JSON Lines file holds, for the ETA (blank lines included; cheap)."""
    lines, last = 0, b"\n"
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (last != b"\n")


def wanted(stream: IO[str] | None = None, *, quiet: bool = False) -> bool:
    """A bar only for a person at a terminal: not into a pipe or a log file, not with --json."""
    stream = stream if stream is not None else sys.stderr
    return not quiet and stream.isatty()


def _width(stream: IO[str]) -> int:
    """The terminal's columns; 0 when it does not say (a bare pseudo-terminal)."""
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError):
        return 0


class ProgressSource:
    """Wraps a source; advances a bar as batches are committed (done, not merely read)."""

    def __init__(self, source: Source, total: int | None, stream: IO[str] | None = None) -> None:
        self.source = source
        self.name = source.name
        self.clock = source.clock
        stream = stream if stream is not None else sys.stderr
        self._logs = logging_redirect_tqdm()  # log lines print above the bar, not through it
        self._logs.__enter__()
        self.bar = tqdm(total=total, unit=" articles", dynamic_ncols=_width(stream) > 0,
                        ncols=None if _width(stream) > 0 else 100, file=stream, smoothing=0.1)

    @property
    def exhausted(self) -> bool:
        return self.source.exhausted

    def poll(self, max_records: int, timeout_s: float) -> list[Record]:
        return self.source.poll(max_records, timeout_s)

    def seek(self, offsets: Mapping[int, int]) -> None:
        self.source.seek(offsets)
        done = max(offsets.values(), default=0)
        if done:
            self.bar.update(done)  # resumed: what an earlier run did counts as done

    def flush(self) -> None:
        self.source.flush()

    def commit(self, offsets: Mapping[tuple[str, int], int]) -> None:
        self.source.commit(offsets)
        done = max(offsets.values(), default=0)
        if done > self.bar.n:
            self.bar.update(done - self.bar.n)

    def reject(self, record: Record, error: DecodeError) -> None:
        self.source.reject(record, error)

    def close(self) -> None:
        self.bar.close()
        self._logs.__exit__(None, None, None)
        self.source.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.source, name)
