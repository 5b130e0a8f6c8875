"""``story-monitor run --source FILE`` with Slack settings, as a process, against the fake Slack.

It delivers every alert the backtest finds, exits only when the outbox is empty, and a
second run over the same state posts nothing new.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakeslack import FakeSlack
from slack_fixtures import keys

from monitor.state.store import DB_NAME

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--rules", "rules/"]
pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


def environment(fake: FakeSlack | None, state: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STORY_MONITOR_", "SLACK_"))}
    env.update({"STORY_MONITOR_STATE__DIR": str(state), "STORY_MONITOR_HTTP__PORT": "0",
                "STORY_MONITOR_LOG__FORMAT": "json"})
    if fake is not None:
        env.update({
            "STORY_MONITOR_SLACK__TOKEN": "xoxb-test", "STORY_MONITOR_SLACK__BASE_URL": fake.base_url,
            "STORY_MONITOR_SLACK__DEFAULT_CHANNEL": "#alerts", "STORY_MONITOR_SLACK__RATE_PER_S": "50",
            "STORY_MONITOR_SLACK__RETRY_MAX_S": "1",
        })
    return env


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "monitor", *args]


def monitor(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command(*args), cwd=ROOT, env=env, capture_output=True, text=True, timeout=90)


def backtest(tmp_path: Path) -> list[tuple[str, str, str, str]]:
    done = monitor("backtest", *ARGS, "--articles", "samples/articles.jsonl", "--json",
                   env=environment(None, tmp_path / "backtest"))
    assert done.returncode == 0, done.stderr
    found = [json.loads(line) for line in done.stdout.splitlines()]
    return sorted((a["rule"], a["kind"], a["at"], a["story"]) for a in found)


def outbox(state: Path) -> dict[str, tuple[str, tuple[str, str, str, str]]]:
    """Alert key -> (status, (rule, kind, at, story)) from the run's state DB."""
    conn = sqlite3.connect(state / DB_NAME)
    try:
        rows = conn.execute("SELECT key, status, rule, kind, at, story FROM outbox").fetchall()
    finally:
        conn.close()
    return {k: (s, (r, kind, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at)), story))
            for k, s, r, kind, at, story in rows}


def test_run_delivers_every_alert_once_and_a_rerun_posts_nothing(fake: FakeSlack, tmp_path: Path) -> None:
    expected = backtest(tmp_path)
    assert expected, "the sample stream should raise alerts"
    state = tmp_path / "state"
    run = monitor("run", "--source", "samples/articles.jsonl", *ARGS, env=environment(fake, state))
    assert run.returncode == 0, run.stderr

    rows = outbox(state)
    assert {status for status, _ in rows.values()} == {"sent"}
    assert sorted(alert for _, alert in rows.values()) == expected
    posted = keys(fake.messages)
    assert sorted(posted) == sorted(rows) and len(posted) == len(set(posted))

    again = monitor("run", "--source", "samples/articles.jsonl", *ARGS, env=environment(fake, state))
    assert again.returncode == 0, again.stderr
    assert keys(fake.messages) == posted


def test_run_waits_for_slack_before_it_exits(fake: FakeSlack, tmp_path: Path) -> None:
    state = tmp_path / "state"
    fake.fail_next(10_000, status=503, method=("chat.postMessage", "conversations.history",
                                               "conversations.list"))  # down after auth.test
    try:
        proc = subprocess.Popen(command("run", "--source", "samples/articles.jsonl", *ARGS), cwd=ROOT,
                                env=environment(fake, state), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        try:
            fake.wait_for_requests(8, timeout=30)  # auth.test, then failing attempts and retries
            assert proc.poll() is None, "exited with alerts still in the outbox"
            waiting = [k for k, (s, _) in outbox(state).items() if s in ("pending", "sending")]
            assert waiting and fake.messages == []
        except BaseException:
            proc.kill()
            raise
    finally:
        fake.clear_faults()  # Slack is back
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    rows = outbox(state)
    assert {s for s, _ in rows.values()} == {"sent"} and set(waiting) <= set(rows)
    assert sorted(keys(fake.messages)) == sorted(rows)


def test_sigterm_during_a_slack_outage_keeps_the_drain_limit(fake: FakeSlack, tmp_path: Path) -> None:
    """The whole shutdown, from SIGTERM to exit, fits ``kafka.drain_timeout_s``; what waits stays."""
    state = tmp_path / "state"
    fake.fail_next(10_000, status=503, method=("chat.postMessage", "conversations.history",
                                               "conversations.list"))  # down after auth.test
    env = {**environment(fake, state), "STORY_MONITOR_KAFKA__DRAIN_TIMEOUT_S": "6",
           "STORY_MONITOR_SLACK__TIMEOUT_S": "2"}
    proc = subprocess.Popen(command("run", "--source", "samples/articles.jsonl", "--follow", *ARGS), cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        fake.wait_for_requests(6, timeout=30)  # auth.test, then failing attempts and retries
        proc.send_signal(signal.SIGTERM)
        asked = time.monotonic()
        _, stderr = proc.communicate(timeout=60)
        took = time.monotonic() - asked
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
    assert proc.returncode == 1, stderr  # a file run promises an empty outbox: 1 while alerts wait
    assert took < 6, f"shutdown took {took:.1f}s against a drain limit of 6s"
    waiting = [k for k, (s, _) in outbox(state).items() if s in ("pending", "sending")]
    assert waiting and fake.messages == []
    assert '"shutdown_with_undelivered_alerts"' in stderr
