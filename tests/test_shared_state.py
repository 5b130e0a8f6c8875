"""Shared state on PostgreSQL: one transaction per batch, senders that never post twice, and the
daemon giving the same alerts on PostgreSQL as on SQLite, resuming from its stored offsets.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from builders import item, matches, rule, ruleset
from fakeslack import FakeSlack
from postgres_fixtures import postgres_server as postgres_server  # the fixtures: one server a session
from postgres_fixtures import postgres_url as postgres_url
from postgres_fixtures import state_at as state_at
from slack_fixtures import FAST, alert, commit, keys, notifier, sender

from monitor.detect.engine import Delta, Engine
from monitor.model import Alert
from monitor.notify.base import Delivery, Notifier
from monitor.settings import StateSettings
from monitor.state.outbox import Outbox
from monitor.state.store import Store

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples" / "articles.jsonl"
pytestmark = pytest.mark.timeout(180)


def test_a_batch_that_fails_leaves_no_state_no_alert_and_no_offset(state_at: Path | str) -> None:
    r = rule(count=1)
    engine = Engine(ruleset(r))
    alerts = engine.process(matches("r", item("1", 0)))
    assert alerts
    store = Store(state_at)
    with pytest.raises(Exception, match=r"(?i)adapt|type|support"):  # the offsets, written last, fail
        store.commit({("f", -1): 2, ("f", 0): object()}, engine.take_delta(), alerts)  # type: ignore[dict-item]
    restored = store.restore({r.id: r.state_fingerprint})
    assert (restored.events, restored.states, restored.stories) == ([], {}, {})
    assert store.offsets("f") == {} and store.outbox_pending() == 0


def test_a_batch_the_server_refuses_leaves_nothing_and_the_next_batch_goes_in(state_at: Path | str) -> None:
    # PostgreSQL sends a batch's statements without waiting (pipeline mode): a statement the
    # server refuses fails the batch at its commit, and nothing of the batch stays
    r = rule(count=1)
    engine = Engine(ruleset(r))
    alerts = engine.process(matches("r", item("1", 0)))
    store = Store(state_at)
    with pytest.raises(Exception, match=r"(?i)range|too large|overflow"):
        store.commit({("f", 0): 2**70}, engine.take_delta(), alerts)  # past BIGINT (and SQLite's int)
    assert store.offsets("f") == {} and store.outbox_pending() == 0
    assert store.restore({r.id: r.state_fingerprint}).events == []
    assert store.commit({("f", 0): 5}, Delta(), alerts) == len(alerts)
    assert store.offsets("f") == {0: 5}


def test_held_alerts_come_back_in_the_order_they_were_held(state_at: Path | str) -> None:
    from monitor.detect.engine import Delta
    from monitor.detect.moments import Moments

    held = tuple(alert(n, story=f"s{n}") for n in (3, 1, 2, 0))
    store = Store(state_at)
    store.commit({}, Delta(moments=Moments(held)), [])
    store.commit({}, Delta(moments=Moments(held[1:] + held[:1])), [])  # rewritten whole, new order
    assert store.restore({}).moments == Moments(held[1:] + held[:1])


def test_a_batch_queues_each_new_alert_once_in_its_order_and_counts_only_those(state_at: Path | str) -> None:
    from monitor.state.store import OUTBOX_ROWS

    store = Store(state_at)
    assert store.commit({}, Delta(), [alert(1)]) == 1
    many = [alert(n) for n in range(2, OUTBOX_ROWS + 40)]  # more than one statement holds
    assert store.commit({("f", 0): 9}, Delta(), [alert(0), alert(1), alert(0), *many]) == 1 + len(many)
    rows = store.db.execute("SELECT key FROM outbox ORDER BY seq").fetchall()
    assert [k for (k,) in rows] == [a.key for a in (alert(1), alert(0), *many)]
    assert store.offsets("f") == {0: 9} and store.outbox_pending() == 2 + len(many)


def test_state_url_selects_the_backend(tmp_path: Path) -> None:
    assert StateSettings(dir=tmp_path).location == tmp_path
    assert StateSettings(url="postgresql://u@h:5/db").location == "postgresql://u@h:5/db"
    assert StateSettings(url="sqlite:///x/state.sqlite").location == Path("x/state.sqlite")
    with pytest.raises(ValueError, match=r"state\.url"):
        StateSettings(url="mysql://u@h/db")


class Slow:
    """A notifier that takes a while to post: two senders then really overlap."""

    def __init__(self, inner: Notifier, name: str, log: list[tuple[str, str]]) -> None:
        self.inner, self.name, self.log = inner, name, log

    def send(self, alert: Alert, *, maybe_sent: bool = False) -> Delivery:
        time.sleep(0.03)
        self.log.append((self.name, alert.key))
        return self.inner.send(alert, maybe_sent=maybe_sent)


@pytest.mark.postgres
def test_two_senders_on_one_postgres_never_post_the_same_alert(postgres_url: str) -> None:
    channels = ("#ports-desk", "#rail-desk", "#energy-desk", "#courts-desk")
    alerts = [alert(i, story=f"story-{i % 5}", channel=channels[i % 4]) for i in range(40)]
    commit(postgres_url, *alerts)
    posted: list[tuple[str, str]] = []
    with FakeSlack() as fake:
        senders = [sender(postgres_url, Slow(notifier(fake, postgres_url), name, posted), FAST)
                   for name in ("a", "b")]
        done: list[bool] = []
        threads = [threading.Thread(target=lambda s=s: done.append(s.drain(timeout_s=60))) for s in senders]
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
        assert done == [True, True]
        sent = keys(fake.messages)
    assert sorted(sent) == sorted(a.key for a in alerts) and len(sent) == len(set(sent))
    assert {name for name, _ in posted} == {"a", "b"}, "both senders should have taken a share"
    channel_of = {a.key: a.channel for a in alerts}
    for channel in channels:  # each channel still goes out in the order its alerts were queued
        queued_here = [a.key for a in alerts if a.channel == channel]
        assert [k for k in sent if channel_of[k] == channel] == queued_here
    outbox = Outbox(postgres_url)
    assert outbox.counts() == {"sent": len(alerts)}
    outbox.close()


def run(source: Path, state: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STORY_MONITOR_", "SLACK_"))}
    env.update({"STORY_MONITOR_HTTP__PORT": "0", "STORY_MONITOR_NLP__MODEL": "no_such_model",
                "PYTHONPATH": str(ROOT), **state})
    command = [sys.executable, "-m", "monitor", "run", "--source", str(source), "--rules", "rules/"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=150,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def queued(where: Path | str) -> dict[str, tuple[Any, ...]]:
    """Alert key -> (rule, kind, at, story, status) of everything the runs queued."""
    outbox = Outbox(where)
    try:
        rows = outbox.db.execute("SELECT key, rule, kind, at, story, status FROM outbox").fetchall()
    finally:
        outbox.close()
    return {str(r[0]): tuple(r[1:]) for r in rows}


@pytest.mark.postgres
def test_run_on_postgres_gives_the_sqlite_alerts_and_a_restart_resumes_without_repeats(
    postgres_url: str, tmp_path: Path
) -> None:
    on_sqlite = run(SAMPLES, {"STORY_MONITOR_STATE__DIR": str(tmp_path / "sqlite")})
    expected = queued(tmp_path / "sqlite")
    assert expected, "the sample stream should raise alerts"

    # The same stream in two runs on PostgreSQL: the second resumes after the stored offset.
    lines = SAMPLES.read_text(encoding="utf-8").splitlines(keepends=True)
    source = tmp_path / "articles.jsonl"
    source.write_text("".join(lines[: len(lines) // 2]), encoding="utf-8")
    pg = {"STORY_MONITOR_STATE__DIR": str(tmp_path / "pg-dir"), "STORY_MONITOR_STATE__URL": postgres_url}
    first = run(source, pg)
    half = queued(postgres_url)
    assert 0 < len(half) < len(expected)
    store = Store(postgres_url)
    assert store.offsets(str(source)) == {-1: len(lines) // 2}
    store.close()

    source.write_text("".join(lines), encoding="utf-8")
    second = run(source, pg)
    assert queued(postgres_url) == expected
    assert set(half) <= set(expected)
    printed = [ln for ln in (first.stdout + second.stdout).splitlines() if ln.startswith("[")]
    assert sorted(printed) == sorted(ln for ln in on_sqlite.stdout.splitlines() if ln.startswith("["))
    assert len(printed) == len(expected)  # every alert once, none repeated by the restart
    assert not (tmp_path / "pg-dir" / "state.sqlite").exists()


@pytest.mark.postgres
def test_a_broken_postgres_connection_fails_one_call_and_the_next_reconnects(postgres_url: str) -> None:
    import psycopg

    store = Store(postgres_url)
    store.put_meta("k", "v")
    pid = store.db.execute("SELECT pg_backend_pid()").fetchone()[0]
    with psycopg.connect(postgres_url, autocommit=True) as admin:  # as a server restart would
        assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)
    with pytest.raises(psycopg.OperationalError):
        store.get_meta("k")
    assert store.get_meta("k") == "v"
    assert store.db.execute("SELECT pg_backend_pid()").fetchone()[0] != pid
    store.close()


@pytest.mark.postgres
def test_both_schemas_have_the_same_tables_and_columns(postgres_url: str, tmp_path: Path) -> None:
    """A table or column added to schema.sql needs its twin in schema-postgres.sql."""
    sqlite = Store(tmp_path)
    tables = [r[0] for r in sqlite.db.execute("SELECT name FROM sqlite_master WHERE type='table'"
                                              " AND name NOT LIKE 'sqlite_%'")]
    on_sqlite = {t: {r[1] for r in sqlite.db.execute(f"PRAGMA table_info({t})")} for t in tables}
    sqlite.close()
    pg = Store(postgres_url)
    on_pg: dict[str, set[str]] = {}
    for table, column in pg.db.execute("SELECT table_name, column_name FROM information_schema.columns"
                                       " WHERE table_schema = 'public'"):
        if column != "rowid":  # SQLite keeps it without a column
            on_pg.setdefault(table, set()).add(column)
    pg.close()
    assert on_pg == on_sqlite


def test_sql_lives_in_monitor_state_only() -> None:
    """Both backends see every query only if no module outside monitor/state talks to a database."""
    outside = [p for p in (ROOT / "monitor").rglob("*.py") if "state" not in p.relative_to(ROOT).parts[1:2]]
    talk = ("import sqlite3", "import psycopg", ".execute(")
    found = [str(p.relative_to(ROOT)) for p in outside
             if any(s in p.read_text(encoding="utf-8") for s in talk)]
    assert found == []
