"""The daemon against a real Kafka broker: the promises of issue 3, shown end to end.

Each test drives the real ``python -m monitor run`` as a subprocess on a fresh topic, reads
what it leaves behind (the SQLite outbox, events and offsets, the dead-letter topic, the
group's committed offsets, its JSON logs and /metrics) with bounded waits, and compares
the alerts with ``python -m monitor backtest --json`` of the same articles.

Event time across partitions: records keep their order within a partition only, so the
producer keys every article by its story (the samples' id prefix, or ``story_id``) and a
story's articles stay in order; the daemon merges the partitions by event time, with the
default ``detect.grace_s`` and a wall-clock tick every second (``kafka_fixtures.base_env``),
so every alert compares, the time-driven ones (silence, resolved) included. More on event
time (six partitions, an idle one, a pause, restarts) in tests/test_kafka_event_time.py.
"""

from __future__ import annotations

import hashlib
import logging
import signal
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from kafka_broker import KafkaBroker
from kafka_fixtures import (
    KAFKA_RULES,
    REAL_MODEL,
    RULES_DIR,
    SAMPLES,
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
    read_jsonl,
    read_state,
    read_topic,
    write_jsonl,
)
from kafka_fixtures import kafka_broker as kafka_broker  # the session's broker fixture

from monitor.obs.metrics import Metrics
from monitor.settings import KafkaSettings
from monitor.sources.base import Record
from monitor.sources.kafka import HEADER_PREFIX, KafkaSource

pytestmark = pytest.mark.kafka

DaemonFactory = Callable[..., Daemon]
FAST_REJOIN = {"STORY_MONITOR_KAFKA__SESSION_TIMEOUT_MS": "6000",
               "STORY_MONITOR_KAFKA__HEARTBEAT_INTERVAL_MS": "1000"}
PARTITION_OF_STORY = {"port": 0, "dam": 1, "misc": 2}  # the samples' three stories, one per partition


@pytest.fixture
def daemons(kafka_broker: KafkaBroker, tmp_path: Path) -> Iterator[DaemonFactory]:
    """Make daemons for this test; none outlives it."""
    made: list[Daemon] = []

    def make(topic: str, rules: Path, **env: str) -> Daemon:
        workdir = tmp_path / f"daemon-{len(made) + 1}"
        workdir.mkdir()
        daemon = Daemon(workdir, kafka_broker.bootstrap, topic, rules, env)
        made.append(daemon)
        return daemon

    try:
        yield make
    finally:
        for daemon in made:
            daemon.cleanup()


def comparable(alerts: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Alerts as sortable tuples, with the summary and reason (they carry the count)."""
    return sorted((*alert_identity(a), a["summary"], a["reason"]) for a in alerts)


def by_story(articles: list[dict[str, Any]]) -> list[Out]:
    """Keyed by story, the default partitioner keeps each story's articles in order in one partition."""
    return [Out((a.get("story_id") or a["id"]).encode(), encode(public(a))) for a in articles]


def outbox_holds(daemon: Daemon, count: int) -> bool:
    return len(read_state(daemon.db).outbox) >= count


def stop_cleanly(daemon: Daemon, timeout_s: float = 30.0) -> None:
    daemon.signal(signal.SIGTERM)
    assert daemon.wait(timeout_s) == 0, daemon.tail()


# --- 1. a stream over three partitions --------------------------------------------------------------
def test_three_partitions_give_the_backtest_alerts_exactly_once(
    kafka_broker: KafkaBroker, daemons: DaemonFactory,
) -> None:
    """samples/articles.jsonl with rules/: each story in its own partition (key = story)."""
    articles = read_jsonl(SAMPLES)
    topic = fresh_topic(kafka_broker, "samples")
    stories = [a["id"].split("-")[0] for a in articles]
    keyed = zip(stories, articles, strict=True)
    produce(kafka_broker.bootstrap, topic,
            [Out(s.encode(), encode(a), PARTITION_OF_STORY[s]) for s, a in keyed])
    ends = end_offsets(kafka_broker, topic)
    assert ends == {p: stories.count(s) for s, p in PARTITION_OF_STORY.items()}
    expected = backtest(RULES_DIR, SAMPLES)
    assert len(comparable(expected)) >= 3

    daemon = daemons(topic, RULES_DIR).start()
    daemon.wait_offsets(ends)
    state = daemon.wait_delivered()

    assert comparable(state.alerts()) == comparable(expected)
    assert any(a["kind"] == "silence" for a in expected)  # time-driven alerts compare too
    assert Counter(daemon.printed()) == Counter(printed_identity(a) for a in state.alerts())
    assert read_state(daemon.db).offsets == ends

    def lag_is_zero() -> dict[Any, float] | None:  # consumer lag per partition on /metrics
        lag = metric_samples(daemon.metrics(), "story_monitor_consumer_lag")
        wanted = {frozenset({("partition", str(p))}) for p in range(3)}
        return lag if wanted <= lag.keys() and not any(lag.values()) else None

    daemon.wait_until("consumer lag 0 for partitions 0, 1, 2 on /metrics", lag_is_zero, timeout_s=20)
    stop_cleanly(daemon)
    assert committed_offsets(kafka_broker, daemon.group, topic) == ends
    assert len(daemon.events("kafka_connected")) == 1 and not daemon.events("kafka_unreachable")


# --- 2. kill -9 mid-stream ---------------------------------------------------------------------
@pytest.mark.slow
def test_kill_9_mid_stream_loses_and_repeats_nothing(
    kafka_broker: KafkaBroker, daemons: DaemonFactory, tmp_path: Path,
) -> None:
    """Killed twice without warning while a long stream is half read; the third run finishes it."""
    stream = generated_stream()
    topic = fresh_topic(kafka_broker, "crash")
    produce(kafka_broker.bootstrap, topic, by_story(stream))
    ends = end_offsets(kafka_broker, topic)
    assert sum(ends.values()) == len(stream) and all(ends.values())
    expected = backtest(KAFKA_RULES, write_jsonl(tmp_path / "stream.jsonl", map(public, stream)))
    assert len(expected) > 100

    # Small batches: many commits, so a kill lands between and inside them. A short session
    # timeout lets the group drop the killed member soon, instead of after the default 45s.
    daemon = daemons(topic, KAFKA_RULES, **FAST_REJOIN, STORY_MONITOR_KAFKA__MAX_POLL_RECORDS="4").start()
    kills = 0
    for share in (0.2, 0.55):
        want = int(len(expected) * share)
        daemon.wait_until(f"{want} alerts in the outbox", partial(outbox_holds, daemon, want))
        daemon.kill()
        kills += 1
        at_kill = read_state(daemon.db)
        assert sum(at_kill.offsets.values()) < len(stream), "the run ended before the kill: lengthen it"
        daemon.start()
    daemon.wait_offsets(ends, timeout_s=120)
    state = daemon.wait_delivered()

    assert comparable(state.alerts()) == comparable(expected)
    counted = Counter(state.events)
    assert set(counted) == expected_events(stream), "an article was skipped or counted in the wrong story"
    assert max(counted.values()) == 1
    printed = daemon.printed()  # the console cannot tell what it printed just before a kill
    assert set(printed) == {printed_identity(a) for a in expected}
    assert len(printed) - len(expected) <= kills
    stop_cleanly(daemon)
    assert committed_offsets(kafka_broker, daemon.group, topic) == ends == read_state(daemon.db).offsets


# --- 3. malformed records -------------------------------------------------------------------------
def json_nest(levels: int) -> object:
    value: object = "deep"
    for _ in range(levels):
        value = [value]
    return value


GOOD = {"id": "bad-base", "title": "A title", "published_at": "2026-03-02T10:00:00Z"}
MB = 1_048_576
DLQ_LIMIT = 4 * MB  # the daemon's dead-letter limit in this test: 1.5 MB goes whole, 10 MB is cut
DUPLICATE = "duplicate-id"  # its value is a copy of the good article just before it
MALFORMED: list[tuple[str, bytes | None, str]] = [  # (name, value, reason)
    ("not-utf8", b'{"id": "x", "title": "caf\xe9"}', "not_utf8"),
    ("not-json", b'{"id": "x", "title": ', "not_json"),
    ("json-array", b'[{"id": "x", "title": "t"}]', "not_object"),
    ("json-string", b'"Dockers strike at Brennport"', "not_object"),
    ("json-null", b"null", "not_object"),
    ("json-number", b"42", "not_object"),
    ("missing-id", encode({k: v for k, v in GOOD.items() if k != "id"}), "missing_field"),
    ("missing-title", encode({k: v for k, v in GOOD.items() if k != "title"}), "missing_field"),
    ("title-and-body-blank", encode({**GOOD, "title": " ", "body": ""}), "missing_field"),
    ("id-not-string", encode({**GOOD, "id": 42}), "wrong_type"),
    ("body-not-string", encode({**GOOD, "body": ["a", "list"]}), "wrong_type"),
    ("title-nan", b'{"id": "x", "title": NaN, "published_at": "2026-03-02T10:00:00Z"}', "wrong_type"),
    ("bad-published-at", encode({**GOOD, "published_at": "last Tuesday"}), "bad_timestamp"),
    ("published-at-out-of-range", encode({**GOOD, "published_at": "9999-12-31T23:00:00-05:00"}),
     "bad_timestamp"),
    ("far-future", encode({**GOOD, "id": "from-2099", "published_at": "2099-01-01T00:00:00Z"}),
     "future_timestamp"),
    ("lone-surrogate", b'{"id": "x", "title": "Brennport \\ud800", "published_at": "2026-03-02T10:00:00Z"}',
     "bad_text"),
    ("huge-integer", b'{"id": 1' + b"0" * 5000 + b', "title": "t"}', "not_json"),
    ("nested-100000", b"[" * 100_000 + b"]" * 100_000, "too_deep"),
    ("nested-40-in-a-field", encode({**GOOD, "extra": json_nest(40)}), "too_deep"),
    ("oversized-1.5mb", encode({**GOOD, "body": "Brennport strike. " * (MB * 3 // 2 // 18)}), "oversized"),
    ("title-10mb", encode({**GOOD, "title": "Brennport " * MB}), "oversized"),
    ("empty-value", b"", "not_json"),
    ("tombstone", None, "empty"),  # a key-only record
    (DUPLICATE, None, "duplicate_id"),
]


def with_malformed(articles: list[dict[str, Any]]) -> tuple[list[Out], dict[int, str]]:
    """The samples by story, a malformed record after each article until all are placed; where each went."""
    records: list[Out] = []
    bad_at: dict[int, str] = {}  # index in `records` -> malformed name
    for article in articles:
        story = article["id"].split("-")[0]
        records.append(Out(story.encode(), encode(article), PARTITION_OF_STORY[story]))
        if len(bad_at) < len(MALFORMED):
            name, value, _ = MALFORMED[len(bad_at)]
            partition = len(bad_at) % 3
            if name == DUPLICATE:  # behind the original, in its partition
                value, partition = encode(article), PARTITION_OF_STORY[story]
            bad_at[len(records)] = name
            trace = (("trace-id", f"trace-{name}".encode()),)
            records.append(Out(f"key-{name}".encode(), value, partition, trace))
    assert len(bad_at) == len(MALFORMED)
    return records, bad_at


def test_malformed_records_go_to_the_dead_letter_topic_and_the_rest_is_processed(
    kafka_broker: KafkaBroker, daemons: DaemonFactory,
) -> None:
    """Every kind of poison record is dead-lettered with its reason; none stops the daemon.

    The articles topic takes 16 MB records; its ``.dlq`` starts with the broker's 1 MB
    default, so the 1.5 MB record lands whole only because the daemon raised the DLQ's
    limit at start; the 10 MB one exceeds even that and lands cut, with size and SHA-256."""
    articles = read_jsonl(SAMPLES)
    topic = fresh_topic(kafka_broker, "dlq", max_message_bytes=16 * MB)
    records, bad_at = with_malformed(articles)
    placed = produce(kafka_broker.bootstrap, topic, records, max_request_size=16 * MB)
    ends = end_offsets(kafka_broker, topic)

    daemon = daemons(topic, RULES_DIR, STORY_MONITOR_KAFKA__DLQ_MAX_MESSAGE_BYTES=str(DLQ_LIMIT)).start()
    daemon.wait_offsets(ends, timeout_s=120)
    state = daemon.wait_delivered()
    assert daemon.alive()

    reasons = {name: reason for name, _, reason in MALFORMED}
    values = {name: records[i].value for i, name in bad_at.items()}
    dead = read_topic(kafka_broker, f"{topic}.dlq", len(MALFORMED))
    assert len(dead) == len(MALFORMED)
    seen = set()
    for record in dead:
        headers = dict(record.headers)
        name = record.key.decode().removeprefix("key-")
        seen.add(name)
        index = next(i for i, n in bad_at.items() if n == name)
        original = values[name]
        if name == "title-10mb":  # cut to fit the dead-letter topic, saying so
            assert original is not None and len(record.value) < DLQ_LIMIT < len(original)
            assert original.startswith(record.value)
            assert headers[HEADER_PREFIX + "original.size"] == str(len(original)).encode()
            assert headers[HEADER_PREFIX + "original.sha256"] == hashlib.sha256(original).hexdigest().encode()
            assert headers[HEADER_PREFIX + "truncated"].startswith(b"first ")
        else:
            assert record.value == original, name  # the original bytes, untouched
            assert HEADER_PREFIX + "truncated" not in headers, name
        assert headers[HEADER_PREFIX + "reason"].decode() == reasons[name], name
        assert headers[HEADER_PREFIX + "detail"], name
        assert headers[HEADER_PREFIX + "origin.topic"].decode() == topic
        partition, offset = placed[index]
        assert headers[HEADER_PREFIX + "origin.partition"].decode() == str(partition), name
        assert headers[HEADER_PREFIX + "origin.offset"].decode() == str(offset), name
        assert headers["trace-id"] == f"trace-{name}".encode(), "the record's own headers are kept"
    assert seen == set(reasons)

    # the valid articles went through as if alone
    assert comparable(state.alerts()) == comparable(backtest(RULES_DIR, SAMPLES))
    metrics = daemon.metrics()
    errors = metric_samples(metrics, "story_monitor_decode_errors_total")
    assert {dict(k)["reason"]: v for k, v in errors.items()} == dict(Counter(reasons.values()))
    assert metric_samples(metrics, "story_monitor_articles_total")[frozenset()] == len(articles)
    assert metric_samples(metrics, "story_monitor_dlq_truncated_total")[frozenset()] == 1
    logged = daemon.events("records_dead_lettered")  # one line per batch, with counts
    assert sum(e["count"] for e in logged) == len(MALFORMED) and len(logged) < len(MALFORMED)
    assert all(e["topic"] == f"{topic}.dlq" for e in logged)
    [resized] = daemon.events("dlq_topic_resized")
    assert resized["to"] == DLQ_LIMIT and resized["from"] < 1.5 * MB
    stop_cleanly(daemon)
    assert committed_offsets(kafka_broker, daemon.group, topic) == ends


def set_topic_config(broker: KafkaBroker, topic: str, **configs: str) -> None:
    from kafka.admin import ConfigResource, ConfigResourceType

    admin = broker.admin()
    try:
        resource = ConfigResource(ConfigResourceType.TOPIC, topic, {k.replace("_", "."): v
                                                                     for k, v in configs.items()})
        assert admin.alter_configs([resource], incremental=True)["topic"][topic] == "OK"
    finally:
        admin.close()


def http_get(daemon: Daemon, path: str) -> tuple[int, dict[str, Any]]:
    import json
    import urllib.error
    import urllib.request

    port = int((daemon.state_dir / "http.port").read_text().strip())
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_a_refusing_dead_letter_topic_holds_the_offsets_until_it_takes_the_record(
    kafka_broker: KafkaBroker, daemons: DaemonFactory,
) -> None:
    """The DLQ refuses every write (its limit lowered under the running daemon to 100 bytes):
    nothing is committed past the bad record, /readyz says why while /healthz stays 200;
    once it takes writes again, everything lands, the bad record in the DLQ whole."""
    articles = read_jsonl(SAMPLES)
    topic = fresh_topic(kafka_broker, "dlqdown", partitions=1)
    dlq = f"{topic}.dlq"
    first = 3
    produce(kafka_broker.bootstrap, topic, [Out(b"k", encode(a), 0) for a in articles[:first]])
    daemon = daemons(topic, RULES_DIR).start()
    daemon.wait_offsets({0: first})
    set_topic_config(kafka_broker, dlq, max_message_bytes="100")
    rest = [Out(b"poison", b'{"id": "x", "title": ', 0)] + [Out(b"k", encode(a), 0) for a in articles[first:]]
    produce(kafka_broker.bootstrap, topic, rest)

    def blamed() -> bool:
        return "dead-letter" in http_get(daemon, "/readyz")[1]["reason"]
    daemon.wait_until("/readyz to blame the dead-letter topic", blamed, timeout_s=60)
    [failing] = daemon.events("dlq_unavailable")
    assert failing["topic"] == dlq and failing["waiting"] == 1
    time.sleep(3)  # it keeps retrying; nothing moves past the poison record meanwhile
    assert read_state(daemon.db).offsets == {0: first}
    assert committed_offsets(kafka_broker, daemon.group, topic) == {0: first}
    assert http_get(daemon, "/healthz")[0] == 200
    status, body = http_get(daemon, "/readyz")
    assert status == 503 and "offsets held" in body["reason"]
    metrics = daemon.metrics()
    assert metric_samples(metrics, "story_monitor_dlq_available")[frozenset()] == 0
    assert metric_samples(metrics, "story_monitor_dlq_waiting")[frozenset()] == 1
    assert sum(metric_samples(metrics, "story_monitor_dlq_send_failures_total").values()) >= 2

    set_topic_config(kafka_broker, dlq, max_message_bytes=str(1_048_588))
    total = first + len(rest)
    daemon.wait_offsets({0: total}, timeout_s=90)
    state = daemon.wait_delivered()
    [dead] = read_topic(kafka_broker, dlq, 1)
    assert dead.key == b"poison" and dead.value == rest[0].value
    assert dict(dead.headers)[HEADER_PREFIX + "reason"] == b"not_json"
    assert comparable(state.alerts()) == comparable(backtest(RULES_DIR, SAMPLES))
    assert daemon.events("dlq_recovered")
    assert http_get(daemon, "/readyz")[0] == 200
    assert metric_samples(daemon.metrics(), "story_monitor_dlq_available")[frozenset()] == 1
    stop_cleanly(daemon)
    assert committed_offsets(kafka_broker, daemon.group, topic) == {0: total}


def test_sigterm_while_the_dead_letter_topic_refuses_exits_0_and_commits_nothing_past_it(
    kafka_broker: KafkaBroker, daemons: DaemonFactory,
) -> None:
    """Stopping while the bad record's letter waits leaves its batch uncommitted; the next
    start, with the topic taking writes again, dead-letters it and processes the rest."""
    articles = read_jsonl(SAMPLES)
    topic = fresh_topic(kafka_broker, "dlqstop", partitions=1)
    dlq = f"{topic}.dlq"
    produce(kafka_broker.bootstrap, topic, [Out(b"k", encode(articles[0]), 0)])
    daemon = daemons(topic, RULES_DIR).start()
    daemon.wait_offsets({0: 1})
    set_topic_config(kafka_broker, dlq, max_message_bytes="100")
    rest = [Out(b"poison", b"[1, 2]", 0)] + [Out(b"k", encode(a), 0) for a in articles[1:]]
    produce(kafka_broker.bootstrap, topic, rest)
    daemon.wait_until("dlq_unavailable", lambda: daemon.events("dlq_unavailable"), timeout_s=60)
    stop_cleanly(daemon, timeout_s=30)
    assert read_state(daemon.db).offsets == {0: 1}
    assert committed_offsets(kafka_broker, daemon.group, topic) == {0: 1}
    assert daemon.events("batch_not_committed")

    set_topic_config(kafka_broker, dlq, max_message_bytes=str(1_048_588))
    daemon.start()
    daemon.wait_offsets({0: 1 + len(rest)}, timeout_s=90)
    state = daemon.wait_delivered()
    [dead] = read_topic(kafka_broker, dlq, 1)
    assert dead.key == b"poison" and dict(dead.headers)[HEADER_PREFIX + "reason"] == b"not_object"
    assert comparable(state.alerts()) == comparable(backtest(RULES_DIR, SAMPLES))
    stop_cleanly(daemon)


# --- 4. the broker goes away and comes back ----------------------------------------------------------
@pytest.mark.slow
def test_broker_down_at_start_and_under_a_running_daemon_loses_nothing(
    kafka_broker: KafkaBroker, daemons: DaemonFactory, tmp_path: Path,
) -> None:
    """Kafka is down when the daemon starts, comes up, goes down under it, comes back (same port,
    same data): the daemon recovers by itself, one log line per change of state."""
    stream = generated_stream(stories=20, bursts=4, seed=11)
    half = len(stream) // 2
    topic = fresh_topic(kafka_broker, "outage")
    produce(kafka_broker.bootstrap, topic, by_story(stream[:half]))
    first = end_offsets(kafka_broker, topic)
    expected = backtest(KAFKA_RULES, write_jsonl(tmp_path / "stream.jsonl", map(public, stream)))
    daemon = daemons(topic, KAFKA_RULES)

    def outage(unreachable: int) -> None:
        kafka_broker.stop()  # keeps data and port
        try:
            if not daemon.alive():
                daemon.start()
            daemon.wait_until(f"kafka_unreachable #{unreachable} in the log",
                              lambda: len(daemon.events("kafka_unreachable")) >= unreachable, 30)
            time.sleep(5)  # several attempts (backoff capped at 2s here), still one log line
            assert daemon.alive()
        finally:
            kafka_broker.start()

    outage(1)  # at start
    daemon.wait_offsets(first, timeout_s=60)
    outage(2)  # under a running daemon
    produce(kafka_broker.bootstrap, topic, by_story(stream[half:]))
    ends = end_offsets(kafka_broker, topic)
    assert sum(ends.values()) == len(stream)
    daemon.wait_offsets(ends, timeout_s=90)
    state = daemon.wait_delivered()

    assert comparable(state.alerts()) == comparable(expected)
    assert set(state.events) == expected_events(stream)
    states = [e["event"] for e in daemon.logs() if e.get("event") in ("kafka_connected", "kafka_unreachable")]
    assert states == ["kafka_unreachable", "kafka_connected"] * 2
    stop_cleanly(daemon)
    assert committed_offsets(kafka_broker, daemon.group, topic) == ends


def test_sigterm_stops_a_daemon_that_never_reached_kafka(daemons: DaemonFactory) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    daemon = daemons("nowhere", KAFKA_RULES)
    daemon.bootstrap = f"127.0.0.1:{port}"
    daemon.start()
    daemon.wait_until("kafka_unreachable", lambda: daemon.events("kafka_unreachable"), 30)
    time.sleep(4)  # attempts at 0.5, 1, 2, 2s: one log line
    assert len(daemon.events("kafka_unreachable")) == 1 and not daemon.events("kafka_connected")
    signalled = time.monotonic()
    stop_cleanly(daemon, timeout_s=15)
    assert time.monotonic() - signalled < 10


# --- 5. SIGTERM in the middle of a batch ---------------------------------------------------------------
@pytest.mark.slow
def test_sigterm_mid_batch_commits_finished_work_only_and_exits_0(
    kafka_broker: KafkaBroker, daemons: DaemonFactory, tmp_path: Path,
) -> None:
    """The real English model on long articles makes each batch take long enough to aim at."""
    stream = generated_stream(stories=12, bursts=5, noise=0.2, seed=5, filler=3)
    topic = fresh_topic(kafka_broker, "sigterm")
    placed = produce(kafka_broker.bootstrap, topic, by_story(stream))
    where = {a["id"]: p for a, p in zip(stream, placed, strict=True)}
    ends = end_offsets(kafka_broker, topic)
    drain_s = 20.0
    # batches of 24, whatever they take: sized by time they would shrink and move the aim
    env = {"STORY_MONITOR_NLP__MODEL": REAL_MODEL, "STORY_MONITOR_KAFKA__MAX_POLL_RECORDS": "24",
           "STORY_MONITOR_KAFKA__MAX_BATCH_S": "600", "STORY_MONITOR_KAFKA__DRAIN_TIMEOUT_S": str(drain_s)}
    daemon = daemons(topic, KAFKA_RULES, **env).start()

    def committed() -> int:
        return sum(read_state(daemon.db).offsets.values())

    # time one batch, then signal a third of the way into the next one
    daemon.wait_until("a first batch", committed, timeout_s=90, every_s=0.01)
    first, t_first = committed(), time.monotonic()
    daemon.wait_until("a second batch", lambda: committed() > first, timeout_s=60, every_s=0.01)
    second, batch_s = committed(), time.monotonic() - t_first
    time.sleep(batch_s / 3)
    assert committed() == second, f"batches take {batch_s:.2f}s, too short to aim at: lengthen the articles"
    signalled = time.monotonic()
    daemon.signal(signal.SIGTERM)
    assert daemon.wait(drain_s + 15) == 0, daemon.tail()
    took = time.monotonic() - signalled

    state = read_state(daemon.db)
    done = state.offsets
    kafka = committed_offsets(kafka_broker, daemon.group, topic)
    assert kafka == done, "Kafka's committed offsets agree with the state store"
    assert 0 < sum(done.values()) - second <= 24, "the batch in flight was finished, no other begun"
    assert sum(done.values()) < sum(ends.values())
    assert took < drain_s, f"shutdown took {took:.1f}s"
    finished = [a for a in stream if where[a["id"]][1] < done.get(where[a["id"]][0], 0)]
    assert set(state.events) == expected_events(finished), "events are exactly those of finished records"
    finished_ids = {a["id"] for a in finished}
    assert all(set(alert_identity(a)[4]) <= finished_ids for a in state.alerts())
    assert daemon.events("shutdown_requested") and daemon.events("stopped")

    daemon.start()  # the rest of the stream, from where the state store stands
    daemon.wait_offsets(ends, timeout_s=120)
    state = daemon.wait_delivered()
    assert set(state.events) == expected_events(stream)
    expected = backtest(KAFKA_RULES, write_jsonl(tmp_path / "stream.jsonl", map(public, stream)))
    assert comparable(state.alerts()) == comparable(expected)
    stop_cleanly(daemon)


# --- 6. consumer settings and lag ---------------------------------------------------------------------
@pytest.mark.slow
def test_consumer_uses_the_settings_survives_a_slow_batch_and_reports_lag(
    kafka_broker: KafkaBroker, caplog: pytest.LogCaptureFixture,
) -> None:
    """A batch slower than the session timeout (but within max_poll_interval) causes no rebalance."""
    topic = fresh_topic(kafka_broker, "settings")
    article = read_jsonl(SAMPLES)[0]
    start = datetime.fromisoformat(article["published_at"])

    def at(p: int, i: int) -> str:  # each its own minute: one instant is never cut, so ties could pass 7
        return (start + timedelta(minutes=10 * i + p)).isoformat()

    produce(kafka_broker.bootstrap, topic, [
        Out(None, encode({**article, "id": f"a-{p}-{i}", "published_at": at(p, i)}), p)
        for p in range(3) for i in range(10)])
    settings = KafkaSettings(
        bootstrap_servers=kafka_broker.bootstrap, topic=topic, group_id=f"{topic}-group",
        max_poll_records=7, max_poll_interval_ms=15_000, session_timeout_ms=6_000,
        heartbeat_interval_ms=1_000,
    )
    metrics = Metrics()
    source = KafkaSource(settings, metrics)
    caplog.set_level(logging.INFO, logger="monitor.kafka")
    try:
        source.seek({})
        records: list[Record] = []
        deadline = time.monotonic() + 30
        while len(records) < 30 and time.monotonic() < deadline:
            batch = source.poll(settings.max_poll_records, 1.0)
            assert len(batch) <= settings.max_poll_records
            records += batch
        assert len(records) == 30
        consumer = source._consumer
        assert consumer is not None
        for key in ("max_poll_records", "max_poll_interval_ms", "session_timeout_ms",
                    "heartbeat_interval_ms"):
            assert consumer.config[key] == getattr(settings, key), key
        assert consumer.config["enable_auto_commit"] is False
        assert consumer.config["group_id"] == settings.group_id
        assignment = consumer.assignment()
        assert len(assignment) == 3

        source.commit({(topic, p): 4 for p in range(3)})  # 4 of 10 done in each partition
        caplog.clear()
        time.sleep(8)  # "NLP" slower than the session timeout: the heartbeat thread keeps us in
        assert source.poll(settings.max_poll_records, 1.0) == []
        source.commit({(topic, p): 4 for p in range(3)})
        assert consumer.assignment() == assignment
        trouble = ("partitions_revoked", "kafka_commit_failed", "kafka_unreachable")
        assert not [r for r in caplog.records if r.getMessage() in trouble]
        assert committed_offsets(kafka_broker, settings.group_id, topic) == {0: 4, 1: 4, 2: 4}
        lag = {p: metrics.registry.get_sample_value("story_monitor_consumer_lag", {"partition": str(p)})
               for p in range(3)}
        assert lag == {0: 6.0, 1: 6.0, 2: 6.0}
        assert source.ready
    finally:
        source.close()
