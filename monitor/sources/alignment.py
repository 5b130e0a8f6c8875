"""Event time across partitions: hand out the records of several partitions in publication order.

Kafka keeps order within a partition only, and a consumer behind on a backlog fetches each
partition at its own pace. Processed as fetched, the partition that runs ahead would make
the others' articles late. So records wait here, one FIFO lane per partition, and leave in
event-time order (``published_at``, from the decoded article), as Kafka Streams and Flink
align their inputs:

- each lane keeps a watermark, the newest event time fetched from its partition; the
  minimum over the lanes bounds what may leave: a record leaves once no partition can
  still bring an earlier one (a lane with nothing buffered holds the others back at its
  watermark, so a lagging partition is waited for);
- a lane that runs ahead fills up and is reported ``full``: the source pauses fetching it
  until the others catch up (memory stays bounded, the fetcher turns to the laggards);
- a partition with nothing to give must not hold time back forever: once records have
  waited ``idle_timeout_s`` (the wall clock, passed in), the source checks the empty lanes
  against the broker's log end, and a lane confirmed at its end is ``idle``: left out of
  the minimum until it brings a record again, or until nothing waits any more;
- a record with no event time (it failed to decode; the run loop rejects it) leaves as
  soon as it is at the head of its lane and moves no watermark;
- a batch never ends inside one publication time (ties across partitions leave together),
  so what a detector reads of the feed at a moment does not depend on batch cuts (two
  records of one time in one partition fetched by two polls can still be cut apart).

Pure logic: no I/O and no clock of its own.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from monitor.sources.base import Record

INF = math.inf


@dataclass(frozen=True, slots=True)
class AlignSettings:
    """How long to wait for a silent partition, and how much one partition may buffer."""

    idle_timeout_s: float = 2.0
    max_records: int = 512  # per partition; more and it is paused
    max_bytes: int = 16 * 1_048_576  # per partition


@dataclass
class _Lane:
    queue: deque[tuple[float | None, Record]] = field(default_factory=deque)
    watermark: float = -INF  # newest event time fetched from this partition
    bytes: int = 0
    empty_since: float | None = None  # when its queue was last seen empty
    idle: bool = False  # confirmed at its end after the idle timeout: not waited for


def event_time(record: Record) -> float | None:
    """The record's event time, from its decoded article; None when it is not an article."""
    decoded = record.decoded
    published = getattr(decoded, "published_at", None)
    return None if published is None else float(published.timestamp())


class Aligner:
    """Per-partition lanes whose minimum watermark decides which buffered records may leave."""

    def __init__(self, settings: AlignSettings | None = None,
                 lane: Callable[[Record], int] | None = None) -> None:
        """``lane``: which lane a record waits in (default its partition; the detect role
        keys lanes by matches partition and the articles partition its record came from)."""
        self.settings = settings or AlignSettings()
        self.lane_of = lane or _partition
        self.lanes: dict[int, _Lane] = {}
        self.waiting_since: float | None = None  # since when records have been waiting

    # --- partitions come and go ---------------------------------------------------------------
    def assign(self, partitions: Iterable[int], now: float) -> None:
        """Fresh lanes: the source seeks these partitions back to the stored offsets."""
        for p in partitions:
            self.lanes[p] = _Lane(empty_since=now)

    def revoke(self, partitions: Iterable[int]) -> dict[int, int]:
        """Drop these lanes; returns, per partition, the offset of the first record dropped."""
        dropped = {}
        for p in partitions:
            lane = self.lanes.pop(p, None)
            if lane is not None and lane.queue:
                dropped[p] = lane.queue[0][1].offset
        self._settle(None)
        return dropped

    def reset(self) -> None:
        """Forget everything buffered (a new consumer starts from the stored offsets)."""
        self.lanes.clear()
        self.waiting_since = None

    # --- records in and out -------------------------------------------------------------------
    def add(self, records: Iterable[Record], now: float) -> None:
        for record in records:
            lane = self.lanes.setdefault(self.lane_of(record), _Lane())
            at = event_time(record)
            lane.queue.append((at, record))
            lane.bytes += _size(record)
            lane.idle = False
            lane.empty_since = None
            if at is not None and at > lane.watermark:
                lane.watermark = at
        self._settle(now)

    def release(self, max_records: int, now: float) -> list[Record]:
        """Up to ``max_records`` records, earliest event time first, none past the watermark.

        A batch never ends inside one publication time: records of the time the last one
        has follow it past ``max_records``. Every partition holding such a record has
        fetched it already (its watermark reached that time), so the articles of one moment
        are detected together, wherever the batch would have been cut, as in a backtest.
        """
        bound = self.watermark
        out: list[Record] = []
        last: float | None = None
        while True:
            lane = self._next(bound)
            if lane is None:
                break
            at = lane.queue[0][0]
            if len(out) >= max_records and (last is None or at != last):
                break
            last = at
            _, record = lane.queue.popleft()
            lane.bytes -= _size(record)
            if not lane.queue:
                lane.empty_since = now
            out.append(record)
        self._settle(now)
        return out

    def _next(self, bound: float) -> _Lane | None:
        best: _Lane | None = None
        best_key: tuple[float, int] | None = None
        for p, lane in self.lanes.items():
            if not lane.queue:
                continue
            at = lane.queue[0][0]
            if at is None:
                return lane  # not an article: nothing to order it by
            if at <= bound and (best_key is None or (at, p) < best_key):
                best, best_key = lane, (at, p)
        return best

    # --- what the source asks ----------------------------------------------------------------
    @property
    def watermark(self) -> float:
        """The event time every partition waited for has reached (+inf when none is waited for)."""
        return min((lane.watermark for lane in self.lanes.values() if not lane.idle), default=INF)

    def watermarks(self) -> dict[int, float]:
        """Each lane's watermark, for the lanes that fetched an article."""
        return {p: lane.watermark for p, lane in self.lanes.items() if lane.watermark > -INF}

    @property
    def buffered(self) -> int:
        return sum(len(lane.queue) for lane in self.lanes.values())

    def ready(self) -> bool:
        """Whether ``release`` would hand out something now."""
        return self._next(self.watermark) is not None

    def full(self) -> set[int]:
        """Partitions that ran ahead: the source pauses them until they drain."""
        s = self.settings
        return {p for p, lane in self.lanes.items()
                if len(lane.queue) >= s.max_records or (lane.queue and lane.bytes >= s.max_bytes)}

    def blocking(self, now: float) -> list[int]:
        """Empty lanes that held records back for ``idle_timeout_s``: to check at the broker."""
        return sorted(p for p, t in self._silent(now).items() if t <= now)

    def due_in(self, now: float) -> float:
        """Seconds until ``blocking`` names a lane (inf when nothing waits on an empty lane)."""
        return max(0.0, min(self._silent(now).values(), default=INF) - now)

    def _silent(self, now: float) -> dict[int, float]:
        """Empty lanes holding records back, with the time their idle timeout ends."""
        if self.waiting_since is None:
            return {}
        heads = [lane.queue[0][0] for lane in self.lanes.values() if lane.queue]
        held = min((at for at in heads if at is not None), default=INF)
        out = {}
        for p, lane in self.lanes.items():
            if lane.queue or lane.idle or lane.watermark >= held:
                continue
            since = now if lane.empty_since is None else lane.empty_since
            out[p] = max(since, self.waiting_since) + self.settings.idle_timeout_s
        return out

    def checked(self, at_end: Iterable[int], behind: Iterable[int], now: float) -> None:
        """What the broker said of the ``blocking`` lanes: those at their log end are idle;
        those behind it have records on the way, so wait another timeout before asking again."""
        for p in at_end:
            lane = self.lanes.get(p)
            if lane is not None and not lane.queue:
                lane.idle = True
        for p in behind:
            lane = self.lanes.get(p)
            if lane is not None and not lane.queue:
                lane.empty_since = now

    def _settle(self, now: float | None) -> None:
        """Start the idle clock when records wait; stop it, and forget idleness, when none do."""
        if any(lane.queue for lane in self.lanes.values()):
            if self.waiting_since is None and now is not None:
                self.waiting_since = now
            return
        self.waiting_since = None
        for lane in self.lanes.values():
            lane.idle = False  # the next wait checks every partition again


def _partition(record: Record) -> int:
    return record.partition


def _size(record: Record) -> int:
    return len(record.value) if record.value is not None else 0
