"""Event time against a real broker: the alerts of a Kafka run depend neither on how many
partitions the topic has, nor on how far behind the consumer is, nor on pauses, broker
outages or kill -9 restarts. Each run's alerts, the time-driven ones included (silence,
resolved), must be exactly those of ``backtest`` on the same articles.

The stream is ``kafka_fixtures.generated_stream``: about a thousand fictional articles of 40
labelled stories (``story_id``) in bursts over six days, plus unrelated ones, each story in
one partition (so in order there), read by tests/fixtures/event-time-rules.yaml. The daemon
runs with the default ``detect.grace_s`` and a wall-clock tick every second
(``kafka_fixtures.base_env``).
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from kafka_broker import KafkaBroker
from kafka_fixtures import (
    REPO,
    Daemon,
    Out,
    alert_identity,
    backtest,
    committed_offsets,
    encode,
    end_offsets,
    expected_events,
    fresh_topic,
    generated_stream,
    metric_samples,
    printed_identity,
    produce,
    public,
    read_state,
    write_jsonl,
)
from kafka_fixtures import kafka_broker as kafka_broker  # the session's broker fixture

from monitor.settings import KafkaSettings
from monitor.sources.kafka import KafkaSource

pytestmark = pytest.mark.kafka

RULES = REPO / "tests" / "fixtures" / "event-time-rules.yaml"
PARTITIONS = 6
SESSION_TIMEOUT_S = 45.0  # kafka.session_timeout_ms, the default the kill test keeps
DaemonFactory = Callable[..., Daemon]
Stream = list[dict[str, Any]]


@pytest.fixture
def daemons(kafka_broker: KafkaBroker, tmp_path: Path) -> Iterator[DaemonFactory]:
    """Make daemons for this test; none outlives it."""
    made: list[Daemon] = []

    def make(topic: str, **env: str) -> Daemon:
        workdir = tmp_path / f"daemon-{len(made) + 1}"
        workdir.mkdir()
        daemon = Daemon(workdir, kafka_broker.bootstrap, topic, RULES, env)
        made.append(daemon)
        return daemon

    try:
        yield make
    finally:
        for daemon in made:
            daemon.cleanup()


@pytest.fixture(scope="module")
def stream() -> Stream:
    return generated_stream()


@pytest.fixture(scope="module")
def expected(stream: Stream, tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """The backtest of the whole stream: every kind of alert, many of each."""
    path = write_jsonl(tmp_path_factory.mktemp("event-time") / "stream.jsonl", map(public, stream))
    alerts = backtest(RULES, path)
    kinds = Counter(k for a in alerts for k in a.get("kinds", [a["kind"]]))  # merged moments too
    assert {k for k, n in kinds.items() if n >= 10} == {
        "threshold", "resolved", "spike", "silence"}
    return alerts


def placed(articles: Stream, used: int) -> list[Out]:
    """Story n (and unrelated article n) in partition n % ``used``: each partition in event-time
    order, and the partitions interleaved in time across the whole stream."""
    out = []
    for a in articles:
        key = a.get("story_id") or a["id"]
        number = int(re.findall(r"\d+", key)[0])
        out.append(Out(key.encode(), encode(public(a)), number % used))
    return out


def comparable(alerts: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted((*alert_identity(a), a["summary"], a["reason"]) for a in alerts)


def dropped(daemon: Daemon) -> dict[str, float]:
    samples = metric_samples(daemon.metrics(), "story_monitor_dropped_total")
    return {dict(k)["reason"]: v for k, v in samples.items() if v}


def ts(event: dict[str, Any]) -> float:
    return datetime.fromisoformat(event["ts"]).timestamp()


# --- 1. a backlog on six partitions, and with one of them idle ---------------------------------
@pytest.mark.parametrize("used", [PARTITIONS, PARTITIONS - 1], ids=["six-partitions", "one-partition-idle"])
def test_a_backlog_on_six_partitions_gives_the_backtest_alerts(
    kafka_broker: KafkaBroker, daemons: DaemonFactory, stream: Stream, expected: list[dict[str, Any]],
    used: int,
) -> None:
    topic = fresh_topic(kafka_broker, f"evtime-{used}", PARTITIONS)
    produce(kafka_broker.bootstrap, topic, placed(stream, used))
    ends = end_offsets(kafka_broker, topic, PARTITIONS)
    assert sum(ends.values()) == len(stream) and sum(1 for n in ends.values() if n) == used

    daemon = daemons(topic).start()
    daemon.wait_offsets(ends, timeout_s=120)
    state = daemon.wait_delivered()

    assert comparable(state.alerts()) == comparable(expected)
    assert set(state.events) == expected_events(stream)
    assert "late" not in dropped(daemon)
    newest: dict[str, float] = {}  # partition -> its newest publication time
    for out, a in zip(placed(stream, used), stream, strict=True):
        at = datetime.fromisoformat(a["published_at"].replace("Z", "+00:00")).timestamp()
        newest[str(out.partition)] = max(newest.get(str(out.partition), 0.0), at)

    def watermarks() -> dict[str, float] | None:
        found = metric_samples(daemon.metrics(), "story_monitor_partition_watermark_seconds")
        marks = {dict(k)["partition"]: v for k, v in found.items()}
        return marks if marks == newest else None

    daemon.wait_until("each partition's watermark on /metrics", watermarks, timeout_s=20)
    daemon.signal(15)
    assert daemon.wait(30) == 0, daemon.tail()
    assert committed_offsets(kafka_broker, daemon.group, topic) == {p: n for p, n in ends.items() if n}


# --- 2. a pause in the input, then a broker outage ---------------------------------------------
@pytest.mark.slow
def test_a_pause_and_a_broker_outage_mid_stream_change_no_alert(
    kafka_broker: KafkaBroker, daemons: DaemonFactory, stream: Stream, expected: list[dict[str, Any]],
) -> None:
    """A third of the stream, 60 s of nothing (sixty wall-clock ticks), a third, the broker
    stopped and started again under the daemon, the rest."""
    topic = fresh_topic(kafka_broker, "evtime-pause", PARTITIONS)
    records = placed(stream, PARTITIONS)
    cut = [0, len(records) // 3, 2 * len(records) // 3, len(records)]
    daemon = daemons(topic)

    def feed(part: int) -> None:
        produce(kafka_broker.bootstrap, topic, records[cut[part]:cut[part + 1]])
        if not daemon.alive():
            daemon.start()
        daemon.wait_offsets(end_offsets(kafka_broker, topic, PARTITIONS), timeout_s=90)

    feed(0)
    time.sleep(60)
    assert daemon.alive()
    feed(1)
    kafka_broker.stop()  # keeps data and port
    try:
        daemon.wait_until("kafka_unreachable", lambda: daemon.events("kafka_unreachable"), 30)
        time.sleep(3)
    finally:
        kafka_broker.start()
    feed(2)
    state = daemon.wait_delivered()

    assert comparable(state.alerts()) == comparable(expected)
    assert Counter(state.events) == Counter(expected_events(stream))
    assert "late" not in dropped(daemon)


# --- 3. kill -9, again and again, with the default session timeout ---------------------------------
@pytest.mark.slow
def test_kill_9_at_several_points_loses_nothing_and_a_restart_gets_its_partitions_at_once(
    kafka_broker: KafkaBroker, daemons: DaemonFactory, stream: Stream, expected: list[dict[str, Any]],
) -> None:
    """Killed without warning three times in a backlog; each restart joins as the same static
    member and gets its six partitions back long before the 45 s session timeout would."""
    topic = fresh_topic(kafka_broker, "evtime-kill", PARTITIONS)
    produce(kafka_broker.bootstrap, topic, placed(stream, PARTITIONS))
    ends = end_offsets(kafka_broker, topic, PARTITIONS)
    daemon = daemons(topic, STORY_MONITOR_KAFKA__MAX_POLL_RECORDS="4").start()  # many small commits

    def outbox_holds(count: int) -> bool:
        return len(read_state(daemon.db).outbox) >= count

    for share in (0.15, 0.45, 0.75):
        want = int(len(expected) * share)
        daemon.wait_until(f"{want} alerts in the outbox", partial(outbox_holds, want), timeout_s=120)
        daemon.kill()
        assert sum(read_state(daemon.db).offsets.values()) < len(stream), "the run ended before the kill"
        daemon.start()
    daemon.wait_offsets(ends, timeout_s=180)
    state = daemon.wait_delivered()

    assert comparable(state.alerts()) == comparable(expected)
    counted = Counter(state.events)
    assert set(counted) == expected_events(stream) and max(counted.values()) == 1
    printed = daemon.printed()  # the console cannot tell what it printed just before a kill
    assert set(printed) == {printed_identity(a) for a in expected} and len(printed) - len(expected) <= 3
    waits = []
    for run in range(2, 5):
        started = daemon.events("started", run)[0]
        assigned = daemon.events("partitions_assigned", run)
        assert [e["partitions"] for e in assigned] == [list(range(PARTITIONS))], "no rebalance"
        waits.append(ts(assigned[0]) - ts(started))
    assert max(waits) < SESSION_TIMEOUT_S * 2 / 3, f"partitions back after {waits} s"
    daemon.signal(15)
    assert daemon.wait(30) == 0, daemon.tail()
    assert committed_offsets(kafka_broker, daemon.group, topic) == ends


# --- 4. a rebalance while records wait in their lanes ---------------------------------------------
def test_a_rebalance_reads_again_what_waited_in_the_lanes(kafka_broker: KafkaBroker) -> None:
    """Partition 0 is days ahead of partition 1, so its records wait (fetched, never stored)
    while partition 1 is read; then a second consumer joins. Whoever gets partition 0 reads it
    from its first record: nothing that waited is skipped."""
    topic = fresh_topic(kafka_broker, "evtime-rebalance", 2)
    day = 86_400
    records = [Out(None, encode({"id": f"p{p}-{i}", "title": "t", "published_at": datetime.fromtimestamp(
        1_767_225_600 + (10 * day if p == 0 else 0) + 600 * i, UTC).isoformat()}), p)
        for p in (0, 1) for i in range(30)]
    produce(kafka_broker.bootstrap, topic, records)
    settings = KafkaSettings(bootstrap_servers=kafka_broker.bootstrap, topic=topic, group_id=f"{topic}-group",
                             max_poll_records=8, session_timeout_ms=6_000, heartbeat_interval_ms=1_000)
    first, second = KafkaSource(settings), KafkaSource(settings)
    done: list[tuple[int, int]] = []

    def turn(source: KafkaSource) -> None:
        batch = source.poll(2, 0.2)
        done.extend((r.partition, r.offset) for r in batch)
        offsets: dict[tuple[str, int], int] = {}
        for r in batch:
            offsets[(r.source, r.partition)] = r.offset + 1
        source.commit(offsets)

    try:
        first.seek({})
        second.seek({})
        deadline = time.monotonic() + 60
        while not any(p == 1 for p, _ in done) and time.monotonic() < deadline:
            turn(first)
        assert first.lanes.lanes[0].queue, "partition 0 waits in its lane, fetched but not stored"
        assert 0 not in first.stored
        while len(set(done)) < len(records) and time.monotonic() < deadline:
            turn(first)
            turn(second)
        assert set(done) == {(p, i) for p in (0, 1) for i in range(30)}
        assert second.ready and first.ready, "both consumers hold a partition"
    finally:
        first.close()
        second.close()
