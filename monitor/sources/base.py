"""The source contract the run loop drives."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from monitor.decode import DecodeError, decode_record
from monitor.model import Article


@dataclass(frozen=True, slots=True)
class Record:
    """One raw record and where it sits: ``(source, partition, offset)``."""

    source: str
    partition: int
    offset: int
    value: bytes | str | None
    timestamp: datetime | None = None
    key: bytes | None = None
    headers: tuple[tuple[str, bytes], ...] = field(default=())
    # what the source decoded it to (an Article, or a matches-topic record for the detect role)
    decoded: Any = field(default=None, compare=False, repr=False)

    @property
    def where(self) -> str:
        return f"{self.source}:{self.offset + 1}" if self.partition < 0 else (
            f"{self.source}[{self.partition}]@{self.offset}"
        )


@dataclass(frozen=True)
class Decoder:
    """The decode stage for one record, and the check that its article is not from the future.

    ``future_s`` None: no check (a file replayed or backtested keeps its dates, whatever
    they are). Otherwise an article dated more than ``future_s`` after ``clock()`` is
    refused as ``future_timestamp``: it goes to the dead-letter topic and never moves the
    watermark.
    """

    max_bytes: int
    future_s: float | None = None
    clock: Callable[[], float] = time.time

    def __call__(self, record: Record) -> Article | DecodeError:
        if isinstance(record.decoded, Article | DecodeError):
            return record.decoded
        result = decode_record(record.value, record.timestamp, self.max_bytes)  # never raises
        if isinstance(result, DecodeError) or self.future_s is None:
            return result
        ahead = result.published_at.timestamp() - self.clock()
        if ahead > self.future_s:
            stamp = result.published_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            limit = f"detect.future_tolerance_s={self.future_s:g}"
            return DecodeError("future_timestamp", f"published_at {stamp} is {ahead:.0f}s ahead of the clock"
                                                   f" (limit {limit})")
        return result


class Source(Protocol):
    """Hands out batches of records and takes back the offsets of finished work."""

    name: str
    clock: str  # "event": ticks follow the articles' time; "wall": the real clock

    @property
    def caught_up(self) -> bool:
        """Nothing known to be waiting upstream: the wall clock may stand in for event time."""

    def poll(self, max_records: int, timeout_s: float) -> list[Record]: ...

    @property
    def exhausted(self) -> bool: ...

    def seek(self, offsets: Mapping[int, int]) -> None: ...

    def flush(self) -> None:
        """Make rejected records durable (dead-letter topic) before offsets are stored."""

    def commit(self, offsets: Mapping[tuple[str, int], int]) -> None: ...

    def reject(self, record: Record, error: DecodeError) -> None: ...

    def close(self) -> None: ...
