"""Scale-out: annotate and detect workers on a real broker and a real PostgreSQL post to a fake
Slack (real slack-sdk) the very alerts one ``--role all`` process posts, each exactly once,
when workers are killed with SIGKILL and restarted, or when a detect worker stops for good.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fakeslack import FakeSlack
from kafka_broker import KafkaBroker
from kafka_fixtures import (
    REPO,
    Daemon,
    Out,
    committed_offsets,
    encode,
    end_offsets,
    fresh_topic,
    produce,
    public,
    read_state,
)
from kafka_fixtures import generated_stream as generated_stream
from kafka_fixtures import kafka_broker as kafka_broker  # the session's broker fixture
from postgres_fixtures import postgres_server as postgres_server  # one PostgreSQL a session
from postgres_fixtures import postgres_url as postgres_url
from slack_fixtures import keys

from monitor.state.db import open_db

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(600)]
RULES = REPO / "tests" / "fixtures" / "roles-rules.yaml"
PARTITIONS = 6
FAST_GROUP = {"STORY_MONITOR_KAFKA__SESSION_TIMEOUT_MS": "6000",
              "STORY_MONITOR_KAFKA__HEARTBEAT_INTERVAL_MS": "1000",
              "STORY_MONITOR_KAFKA__MAX_POLL_RECORDS": "16"}


def slack_env(fake: FakeSlack) -> dict[str, str]:
    return {"STORY_MONITOR_SLACK__TOKEN": "xoxb-test", "STORY_MONITOR_SLACK__BASE_URL": fake.base_url,
            "STORY_MONITOR_SLACK__RATE_PER_S": "200", "STORY_MONITOR_SLACK__BURST": "200",
            "STORY_MONITOR_SLACK__RETRY_MAX_S": "1"}


@dataclass
class Deployment:
    """Annotate and detect workers of one articles topic, their state in one PostgreSQL database."""

    broker: KafkaBroker
    workdir: Path
    topic: str
    url: str
    fake: FakeSlack
    workers: dict[str, Daemon] = field(default_factory=dict)
    others: list[Daemon] = field(default_factory=list)  # stopped with the workers: no orphans

    @property
    def matches(self) -> str:
        return f"{self.topic}.matches"

    def worker(self, name: str, role: str) -> Daemon:
        env = {**FAST_GROUP, **slack_env(self.fake), "STORY_MONITOR_STATE__URL": self.url}
        made = Daemon(self.workdir / name, self.broker.bootstrap, self.topic, RULES, env,
                      args=("--role", role))
        made.workdir.mkdir(parents=True)
        self.workers[name] = made
        return made.start()

    def posted(self) -> list[str]:
        return keys(self.fake.messages)

    def outbox(self) -> list[tuple[str, str]]:
        db = open_db(self.url)
        try:
            return [(str(k), str(s)) for k, s in db.execute("SELECT key, status FROM outbox")]
        except Exception:  # the schema is not there yet
            return []
        finally:
            db.close()

    def detect_offsets(self) -> dict[int, int]:
        db = open_db(self.url)
        try:
            rows = db.execute("SELECT partition, next_offset FROM offsets WHERE source=?", (self.matches,))
            return {int(p): int(o) for p, o in rows}
        finally:
            db.close()

    def done(self) -> bool:
        """Every article annotated, every match detected, every alert delivered."""
        articles = end_offsets(self.broker, self.topic, PARTITIONS)
        if committed_offsets(self.broker, f"{self.topic}-group-annotate", self.topic) != articles:
            return False
        matches = {p: o for p, o in end_offsets(self.broker, self.matches, PARTITIONS).items() if o}
        if {p: o for p, o in self.detect_offsets().items() if o} != matches:
            return False
        rows = self.outbox()
        return bool(rows) and all(s == "sent" for _, s in rows) and len(self.posted()) == len(rows)

    def wait(self, what: str, check: object, timeout_s: float = 240.0) -> None:
        alive = next(w for w in self.workers.values() if w.alive())
        alive.wait_until(what, check, timeout_s=timeout_s, every_s=0.5)  # type: ignore[arg-type]

    def cleanup(self) -> None:
        for w in [*self.workers.values(), *self.others]:
            w.cleanup()


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


@pytest.fixture
def reference_fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


@pytest.fixture
def deployment(kafka_broker: KafkaBroker, postgres_url: str, fake: FakeSlack, tmp_path: Path,
               ) -> Iterator[Deployment]:
    topic = fresh_topic(kafka_broker, "roles", PARTITIONS)
    kafka_broker.create_topic(f"{topic}.matches", PARTITIONS)
    kafka_broker.create_topic(f"{topic}.matches.dlq", 1)
    stream = [public(a) for a in generated_stream()]
    produce(kafka_broker.bootstrap, topic, [Out(a["id"].encode(), encode(a)) for a in stream])
    made = Deployment(kafka_broker, tmp_path, topic, postgres_url, fake)
    try:
        yield made
    finally:
        made.cleanup()


def reference(deployment: Deployment, fake: FakeSlack) -> Daemon:
    """One ``--role all`` process over the same topic (its own group, SQLite, its own Slack)."""
    env = {**FAST_GROUP, **slack_env(fake)}
    workdir = deployment.workdir / "all"
    workdir.mkdir()
    made = Daemon(workdir, deployment.broker.bootstrap, deployment.topic, RULES, env, args=("--role", "all"))
    deployment.others.append(made)  # the deployment's cleanup stops it with the workers
    return made.start()


def delivered(single: Daemon, fake: FakeSlack) -> bool:
    rows = read_state(single.db).outbox
    return bool(rows) and all(r["status"] == "sent" for r in rows) and len(keys(fake.messages)) == len(rows)


def test_workers_killed_and_restarted_post_what_one_process_posts_once_each(
    deployment: Deployment, reference_fake: FakeSlack,
) -> None:
    single = reference(deployment, reference_fake)
    a1, a2 = deployment.worker("a1", "annotate"), deployment.worker("a2", "annotate")
    d1, d2 = deployment.worker("d1", "detect"), deployment.worker("d2", "detect")
    deployment.wait("some alerts posted", lambda: len(deployment.posted()) >= 10)
    a1.kill()  # an annotate worker dies mid-stream, before it committed what it produced
    deployment.wait("more alerts posted", lambda: len(deployment.posted()) >= 40)
    d2.kill()  # a detect worker dies mid-batch, holding partitions and their locks
    a1.start()
    deployment.wait("still more alerts", lambda: len(deployment.posted()) >= 60)
    d2.start()
    deployment.wait("the stream done and delivered", deployment.done)
    single.wait_until("the single process done", lambda: delivered(single, reference_fake), timeout_s=240)
    want = keys(reference_fake.messages)
    got = deployment.posted()
    assert len(want) > 60
    assert sorted(got) == sorted(want)
    assert len(set(got)) == len(got)  # each exactly once
    claimed = d1.events("partition_claimed") + d2.events("partition_claimed")
    assert {e["partition"] for e in claimed} == set(range(PARTITIONS))
    assert a2.alive() and d1.alive()


def test_a_detect_worker_stopped_for_good_leaves_its_partitions_to_the_survivor(
    deployment: Deployment, reference_fake: FakeSlack,
) -> None:
    single = reference(deployment, reference_fake)
    deployment.worker("a1", "annotate")
    deployment.worker("a2", "annotate")
    d1, d2 = deployment.worker("d1", "detect"), deployment.worker("d2", "detect")
    deployment.wait("both detect workers hold partitions",
                    lambda: d1.events("partition_claimed") and d2.events("partition_claimed"))
    deployment.wait("some alerts posted", lambda: len(deployment.posted()) >= 20)
    d2.signal(signal.SIGTERM)
    assert d2.wait(60) == 0
    deployment.wait("the stream done and delivered", deployment.done)
    single.wait_until("the single process done", lambda: delivered(single, reference_fake), timeout_s=240)
    got, want = deployment.posted(), keys(reference_fake.messages)
    assert sorted(got) == sorted(want) and len(set(got)) == len(got)
    taken = {e["partition"] for e in d1.events("partition_claimed")}
    assert taken == set(range(PARTITIONS))  # the survivor claimed d2's partitions too

