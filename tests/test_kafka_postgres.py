"""The daemon on Kafka with its state in PostgreSQL: kill -9 mid-stream loses and repeats nothing."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka_broker import KafkaBroker
from kafka_fixtures import (
    KAFKA_RULES,
    Daemon,
    Out,
    State,
    alert_identity,
    backtest,
    encode,
    end_offsets,
    expected_events,
    fresh_topic,
    generated_stream,
    produce,
    public,
    write_jsonl,
)
from kafka_fixtures import kafka_broker as kafka_broker  # the session's broker fixture
from postgres_fixtures import postgres_server as postgres_server  # one PostgreSQL a session
from postgres_fixtures import postgres_url as postgres_url

from monitor.state.db import open_db

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(400)]


def read_pg_state(url: str) -> State:
    db = open_db(url)
    try:
        outbox = [dict(zip(("key", "rule", "story", "kind", "at", "payload", "status"), r, strict=True))
                  for r in db.execute("SELECT key, rule, story, kind, at, payload, status FROM outbox"
                                      " ORDER BY seq").fetchall()]
        events = [(r[0], r[1], r[2]) for r in db.execute("SELECT rule, story, article_id FROM events")]
        offsets = {int(p): int(o) for p, o in db.execute("SELECT partition, next_offset FROM offsets")}
    finally:
        db.close()
    return State(outbox, events, offsets)


def comparable(alerts: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted((*alert_identity(a), a["summary"], a["reason"]) for a in alerts)


@pytest.fixture
def daemon(kafka_broker: KafkaBroker, postgres_url: str, tmp_path: Path) -> Iterator[Daemon]:
    topic = fresh_topic(kafka_broker, "pg")
    env = {"STORY_MONITOR_STATE__URL": postgres_url, "STORY_MONITOR_KAFKA__MAX_POLL_RECORDS": "4",
           "STORY_MONITOR_KAFKA__SESSION_TIMEOUT_MS": "6000",
           "STORY_MONITOR_KAFKA__HEARTBEAT_INTERVAL_MS": "1000"}
    made = Daemon(tmp_path, kafka_broker.bootstrap, topic, KAFKA_RULES, env)
    try:
        yield made
    finally:
        made.cleanup()


def test_kill_9_on_postgres_state_loses_and_repeats_nothing(
    kafka_broker: KafkaBroker, daemon: Daemon, postgres_url: str, tmp_path: Path,
) -> None:
    stream = generated_stream()
    produce(kafka_broker.bootstrap, daemon.topic,
            [Out((a.get("story_id") or a["id"]).encode(), encode(public(a))) for a in stream])
    ends = end_offsets(kafka_broker, daemon.topic)
    expected = backtest(KAFKA_RULES, write_jsonl(tmp_path / "stream.jsonl", map(public, stream)))
    assert len(expected) > 100

    daemon.start()
    want = len(expected) // 3
    daemon.wait_until(f"{want} alerts in PostgreSQL", lambda: len(read_pg_state(postgres_url).outbox) >= want)
    daemon.kill()
    assert sum(read_pg_state(postgres_url).offsets.values()) < len(stream), "the run ended before the kill"
    daemon.start()

    def finished() -> State | None:
        state = read_pg_state(postgres_url)
        done = state.offsets == ends and all(r["status"] == "sent" for r in state.outbox)
        return state if done else None

    state = daemon.wait_until("the stream done and the outbox drained", finished, timeout_s=180)
    assert comparable([json.loads(r["payload"]) for r in state.outbox]) == comparable(expected)
    counted = Counter(state.events)
    assert set(counted) == expected_events(stream) and max(counted.values()) == 1
    assert not daemon.db.exists()  # nothing went to a SQLite file
