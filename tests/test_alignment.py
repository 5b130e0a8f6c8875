"""Event time across partitions: the aligner's lanes, watermarks, idle timeout and pausing,
as timelines of fetches (partition, offset, hour) at wall-clock seconds and what leaves."""

from __future__ import annotations

import random
from datetime import timedelta
from itertools import pairwise
from typing import Any

import pytest
from builders import T0

from monitor.decode import DecodeError
from monitor.model import Article
from monitor.sources.alignment import Aligner, AlignSettings
from monitor.sources.base import Record

Step = tuple[Any, ...]


def rec(partition: int, offset: int, hours: float | None) -> Record:
    """A fetched record; ``hours`` None stands for one that failed to decode."""
    decoded: Article | DecodeError = (
        DecodeError("not_json", "x") if hours is None
        else Article(id=f"p{partition}-{offset}", title="t", published_at=T0 + timedelta(hours=hours)))
    return Record("articles", partition, offset, b"{}", decoded=decoded)


def play(steps: list[Step], partitions: int = 2, **settings: Any) -> list[Any]:
    """Run the steps on lanes for ``partitions`` partitions, assigned at second 0.

    ("add", now, [(p, offset, hours), ...]); ("out", now) releases: its (p, offset) go to the
    result; ("blocking", now) puts the lanes to check at the broker; ("idle", now, [p]) and
    ("behind", now, [p]): what the broker said of them; ("full",) the lanes to pause.
    """
    lanes = Aligner(AlignSettings(**settings))
    lanes.assign(range(partitions), 0.0)
    seen: list[Any] = []
    for step in steps:
        if step[0] == "add":
            lanes.add([rec(*r) for r in step[2]], step[1])
        elif step[0] == "out":
            seen.append([(r.partition, r.offset) for r in lanes.release(100, step[1])])
        elif step[0] == "blocking":
            seen.append(lanes.blocking(step[1]))
        elif step[0] == "idle":
            lanes.checked(step[2], [], step[1])
        elif step[0] == "behind":
            lanes.checked([], step[2], step[1])
        elif step[0] == "full":
            seen.append(sorted(lanes.full()))
    return seen


TIMELINES = [
    pytest.param(
        [("add", 0, [(0, 0, 1), (0, 1, 3), (1, 0, 2), (1, 1, 4)]), ("out", 0)],
        [[(0, 0), (1, 0), (0, 1)]],
        id="merged-by-event-time-up-to-the-lowest-watermark",
    ),
    pytest.param(
        [("add", 0, [(0, 0, 1), (0, 1, 5)]), ("out", 0), ("add", 1, [(1, 0, 2)]), ("out", 1),
         ("add", 2, [(1, 1, 6)]), ("out", 2)],
        [[], [(0, 0), (1, 0)], [(0, 1)]],
        id="a-partition-that-has-delivered-nothing-holds-everything",
    ),
    pytest.param(
        [("add", 0, [(0, 0, 1), (0, 1, 2), (1, 0, 1.5)]), ("out", 0), ("blocking", 1), ("blocking", 2.5)],
        [[(0, 0), (1, 0)], [], [1]],
        id="an-empty-lane-is-checked-only-after-the-idle-timeout",
    ),
    pytest.param(
        [("add", 0, [(0, 0, 1), (0, 1, 9)]), ("blocking", 2), ("idle", 2, [1]), ("out", 2)],
        [[1], [(0, 0), (0, 1)]],
        id="an-idle-partition-stops-holding-time-back",
    ),
    pytest.param(
        [("add", 0, [(0, 0, 1)]), ("blocking", 2), ("behind", 2, [1]), ("out", 2), ("blocking", 3),
         ("blocking", 4), ("add", 4.5, [(1, 0, 0.5)]), ("out", 4.5)],
        [[1], [], [], [1], [(1, 0)]],  # and (0, 0) waits for partition 1 to pass hour 1
        id="a-partition-behind-its-log-end-is-waited-for-and-asked-again-later",
    ),
    pytest.param(
        [("add", 0, [(0, 0, 1), (0, 1, 9)]), ("idle", 2, [1]), ("out", 2),
         ("add", 60, [(0, 2, 10)]), ("out", 60), ("blocking", 61),
         ("add", 61.5, [(1, 0, 9.5)]), ("out", 61.5)],
        [[(0, 0), (0, 1)], [], [], [(1, 0)]],  # and (0, 2) waits for partition 1 to pass hour 10
        id="after-a-pause-an-idle-partition-is-waited-for-again",
    ),
    pytest.param(
        [("add", 0, [(0, 0, None), (0, 1, 3), (1, 0, 2)]), ("out", 0)],
        [[(0, 0), (1, 0)]],
        id="a-record-that-is-no-article-leaves-at-once-and-moves-no-watermark",
    ),
    pytest.param(
        [("add", 0, [(0, 0, 5), (0, 1, 1), (0, 2, 3)]), ("idle", 0, [1]), ("out", 0)],
        [[(0, 0), (0, 1), (0, 2)]],
        id="within-a-partition-the-log-order-is-kept",
    ),
    pytest.param(
        [("add", 0, [(0, i, i) for i in range(4)]), ("full",), ("add", 0, [(1, 0, 1)]), ("out", 0),
         ("full",)],
        [[0], [(0, 0), (0, 1), (1, 0)], []],
        id="a-partition-that-runs-ahead-is-paused-until-it-drains",
    ),
]


@pytest.mark.parametrize(("steps", "expected"), TIMELINES)
def test_lanes_hand_out_records_in_event_time(steps: list[Step], expected: list[Any]) -> None:
    assert play(steps, max_records=4) == expected


def test_one_partition_is_never_held_back() -> None:
    assert play([("add", 0, [(0, 0, 3), (0, 1, 1)]), ("out", 0)], partitions=1) == [[(0, 0), (0, 1)]]


def test_a_revoked_partition_forgets_what_it_buffered() -> None:
    lanes = Aligner()
    lanes.assign([0, 1], 0.0)
    lanes.add([rec(0, 0, 1), rec(0, 1, 2), rec(1, 7, 5), rec(1, 8, 6)], 0.0)
    assert lanes.revoke([1]) == {1: 7}  # where the source must read partition 1 again from
    assert [r.offset for r in lanes.release(10, 0.0)] == [0, 1]
    lanes.add([rec(0, 2, 3)], 0.0)
    lanes.assign([0], 1.0)  # assigned again: the source seeks back to the stored offset
    assert lanes.buffered == 0 and lanes.release(10, 1.0) == []


def test_any_fetch_order_gives_the_global_event_time_order() -> None:
    """Each partition sorted by time, fetched in random chunks: what leaves is sorted across all."""
    rnd = random.Random(3)
    for _ in range(30):
        partitions = rnd.randint(2, 6)
        logs = {p: sorted(rnd.uniform(0, 100) for _ in range(rnd.randint(0, 25))) for p in range(partitions)}
        lanes = Aligner(AlignSettings(idle_timeout_s=1.0))
        lanes.assign(range(partitions), 0.0)
        fetched = dict.fromkeys(logs, 0)
        out: list[Record] = []
        now = 0.0
        while len(out) < sum(map(len, logs.values())):
            now += 0.25
            p = rnd.randrange(partitions)
            upto = min(len(logs[p]), fetched[p] + rnd.randint(0, 4))
            lanes.add([rec(p, o, logs[p][o]) for o in range(fetched[p], upto)], now)
            fetched[p] = upto
            silent = lanes.blocking(now)  # the broker's answer: at the end once all is fetched
            lanes.checked([q for q in silent if fetched[q] == len(logs[q])],
                          [q for q in silent if fetched[q] < len(logs[q])], now)
            out += lanes.release(rnd.randint(1, 8), now)
        times = [r.decoded.published_at for r in out]  # type: ignore[union-attr]
        assert times == sorted(times)


def test_a_batch_never_ends_inside_one_publication_time() -> None:
    """Three partitions tie at hour 2: a release of two hands out all three, then hour 3."""
    lanes = Aligner()
    lanes.assign(range(3), 0.0)
    lanes.add([rec(0, 0, 1), rec(0, 1, 2), rec(1, 0, 2), rec(2, 0, 2), rec(0, 2, 3), rec(1, 1, 3),
               rec(2, 1, 3)], 0.0)
    first = lanes.release(2, 0.0)
    assert [(r.partition, r.offset) for r in first] == [(0, 0), (0, 1), (1, 0), (2, 0)]
    assert [(r.partition, r.offset) for r in lanes.release(2, 0.0)] == [(0, 2), (1, 1), (2, 1)]


def test_ties_stay_in_one_batch_whatever_the_fetch_order_and_batch_sizes() -> None:
    """Whole hours on five partitions, ties across them, fetched in random chunks and released in
    random sizes: the time a batch ends on never shows up again in the next batch. (Two records
    of one time in one partition, fetched by two polls, can still be cut apart.)"""
    rnd = random.Random(7)
    for _ in range(30):
        logs = {p: sorted(rnd.sample(range(13), rnd.randint(3, 10))) for p in range(5)}
        lanes = Aligner(AlignSettings(idle_timeout_s=1.0))
        lanes.assign(range(5), 0.0)
        fetched = dict.fromkeys(logs, 0)
        batches: list[list[float]] = []
        now = 0.0
        while sum(map(len, batches)) < sum(map(len, logs.values())):
            now += 0.25
            p = rnd.randrange(5)
            upto = min(len(logs[p]), fetched[p] + rnd.randint(0, 4))
            lanes.add([rec(p, o, logs[p][o]) for o in range(fetched[p], upto)], now)
            fetched[p] = upto
            silent = lanes.blocking(now)
            lanes.checked([q for q in silent if fetched[q] == len(logs[q])],
                          [q for q in silent if fetched[q] < len(logs[q])], now)
            out = lanes.release(rnd.randint(1, 3), now)
            if out:
                batches.append([r.decoded.published_at.timestamp() for r in out])  # type: ignore[union-attr]
        for before, after in pairwise(batches):
            assert before[-1] < after[0]
