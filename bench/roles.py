"""Scale-out, measured in one run on one stream: one ``--role all`` process against 2 annotate
workers + 1 detect worker (state in PostgreSQL), end to end; then the detect stage alone,
re-reading the whole matches topic into a fresh database (matches a second).

Both setups read the same articles from a 2-partition topic (one per annotate worker); the
single process takes both partitions. "Done" is every article's offset committed (single:
SQLite offsets; roles: the annotate group committed and the detect worker's PostgreSQL
offsets at the matches topic's log end).
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import psycopg
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from bench.phases import Env, throughput_values
from bench.services import ROOT, Daemon, produce

PARTITIONS = 2


class Postgres:
    """``scripts/postgres`` with a state directory of its own; a new database per use."""

    def __init__(self, state_dir: Path) -> None:
        self.env = {**os.environ, "POSTGRES_STATE_DIR": str(state_dir)}
        self.url = ""

    def start(self) -> str:
        out = subprocess.run([str(ROOT / "scripts" / "postgres"), "start"], env=self.env, check=True,
                             capture_output=True, text=True, timeout=300)
        self.url = next(x for x in out.stdout.splitlines() if x.startswith("POSTGRES_URL=")).split("=", 1)[1]
        return self.url

    def database(self) -> str:
        name = f"bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url.rsplit("/", 1)[0] + "/" + name

    def stop(self) -> None:
        subprocess.run([str(ROOT / "scripts" / "postgres"), "stop"], env=self.env, check=False,
                       capture_output=True, timeout=120)


def roles(env: Env, rules: Path, count: int, timeout_s: float = 3600.0) -> dict[str, Any]:
    pg = Postgres(env.out / "postgres")
    pg.start()
    try:
        single = _single(env, rules, count, timeout_s)
        split = _split(env, rules, count, pg, timeout_s)
    finally:
        for d in env.daemons:
            d.stop(10)
        pg.stop()
    return {"articles": count, "single_docs_per_s": single, **split,
            "speedup": round(split["roles_docs_per_s"] / single, 2)}


def _topic(env: Env, name: str) -> str:
    topic = f"bench-{name}-{env.run_id}"
    for t, n in ((topic, PARTITIONS), (f"{topic}.matches", PARTITIONS), (f"{topic}.matches.dlq", 1)):
        env.kafka.create_topic(t, n)
    return topic


def _start(env: Env, name: str, settings: dict[str, str], role: str) -> Daemon:
    daemon = Daemon(env.out / name, settings, role=role)
    env.daemons.append(daemon)
    daemon.wait_ready()
    return daemon


def _produce(env: Env, topic: str, count: int) -> threading.Thread:
    producer = env.kafka.producer()

    def send() -> None:
        produce(producer, topic, throughput_values(env.docs, count))
        producer.close()

    sender = threading.Thread(target=send)
    sender.start()
    return sender


def _single(env: Env, rules: Path, count: int, timeout_s: float) -> float:
    topic = _topic(env, "roles-all")
    daemon = _start(env, "roles-all", env.settings("roles-all", rules, STORY_MONITOR_KAFKA__TOPIC=topic,
                                                   STORY_MONITOR_KAFKA__GROUP_ID=topic), "all")
    started = time.time()
    sender = _produce(env, topic, count)
    _until(lambda: daemon.committed() >= count, timeout_s, "the single process")
    seconds = time.time() - started
    sender.join()
    daemon.stop()
    return round(count / seconds, 2)


def _split(env: Env, rules: Path, count: int, pg: Postgres, timeout_s: float) -> dict[str, Any]:
    topic = _topic(env, "roles-split")
    url = pg.database()

    def settings(name: str, db: str) -> dict[str, str]:
        return env.settings(name, rules, STORY_MONITOR_KAFKA__TOPIC=topic,
                            STORY_MONITOR_KAFKA__GROUP_ID=topic, STORY_MONITOR_STATE__URL=db)

    annotate = [_start(env, f"roles-a{i}", settings(f"roles-a{i}", url), "annotate") for i in (1, 2)]
    detect = _start(env, "roles-d1", settings("roles-d1", url), "detect")
    progress = Progress(env.kafka.bootstrap, topic)
    started = time.time()
    sender = _produce(env, topic, count)
    _until(lambda: progress.annotated() >= count and progress.detected(url), timeout_s, "the roles")
    seconds = time.time() - started
    sender.join()
    detect.stop()
    fresh = pg.database()  # the detect stage alone: the whole matches topic into a fresh database
    records = progress.matches_end()
    alone = _start(env, "roles-d2", settings("roles-d2", fresh), "detect")
    started = time.time()  # from its assignment (the process start is not the stage's cost)
    _until(lambda: progress.detected(fresh), timeout_s, "the detect stage alone")
    detect_s = time.time() - started
    matches = _metric(alone, "story_monitor_matches_total{")
    busy = _metric(alone, "story_monitor_batch_seconds_sum")  # the stage's own time, input waits left out
    for d in (*annotate, alone):
        d.stop()
    return {"roles_docs_per_s": round(count / seconds, 2), "matches_records": records, "matches": matches,
            "detect_seconds": round(detect_s, 2), "detect_records_per_s": round(records / detect_s, 1),
            "detect_matches_per_s": round(matches / detect_s, 1), "detect_busy_s": round(busy, 2),
            "detect_matches_per_busy_s": round(matches / busy, 1) if busy else None}


class Progress:
    """How far the annotate group and a detect database are, against the topics' log ends."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.bootstrap, self.topic = bootstrap, topic
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, client_id="bench-progress")
        self.admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="bench-progress")

    def annotated(self) -> int:
        group = f"{self.topic}-annotate"
        found = self.admin.list_group_offsets(group).get(group, {})
        return sum(o.offset for tp, o in found.items() if tp.topic == self.topic and o.offset > 0)

    def matches_end(self) -> int:
        tps = [TopicPartition(f"{self.topic}.matches", p) for p in range(PARTITIONS)]
        return int(sum(self.consumer.end_offsets(tps).values()))

    def detected(self, url: str) -> bool:
        try:
            with psycopg.connect(url) as conn:
                row = conn.execute("SELECT COALESCE(SUM(next_offset), 0) FROM offsets WHERE source=%s",
                                   (f"{self.topic}.matches",)).fetchone()
        except psycopg.Error:
            return False
        done = int(row[0]) if row else 0
        return done > 0 and done >= self.matches_end()



def _metric(daemon: Daemon, prefix: str) -> float:
    """A worker's samples whose line starts with ``prefix``, summed (over rules, say)."""
    port = (daemon.state_dir / "http.port").read_text().strip()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix))


def _until(check: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not done after {timeout_s:.0f}s")
        time.sleep(0.2)
