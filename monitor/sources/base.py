"""The source contract the run loop drives."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from monitor.decode import DecodeError


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

    @property
    def where(self) -> str:
        return f"{self.source}:{self.offset + 1}" if self.partition < 0 else (
            f"{self.source}[{self.partition}]@{self.offset}"
        )


class Source(Protocol):
    """Hands out batches of records and takes back the offsets of finished work."""

    name: str
    clock: str  # "event": ticks follow the articles' time; "wall": the real clock

    def poll(self, max_records: int, timeout_s: float) -> list[Record]: ...

    @property
    def exhausted(self) -> bool: ...

    def seek(self, offsets: Mapping[int, int]) -> None: ...

    def flush(self) -> None:
        """Make rejected records durable (dead-letter topic) before offsets are stored."""

    def commit(self, offsets: Mapping[tuple[str, int], int]) -> None: ...

    def reject(self, record: Record, error: DecodeError) -> None: ...

    def close(self) -> None: ...
