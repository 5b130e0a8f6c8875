"""Outbox to Slack: pacing, 429s, outages, crashes and permanent failures, end to end over HTTP.

Each test commits alerts with the state store (as the run loop does) and lets a Sender
drain them through the real slack-sdk into the fake Slack server.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from fakeslack import FakeSlack
from postgres_fixtures import postgres_server as postgres_server  # the fixtures: one server a session
from postgres_fixtures import postgres_url as postgres_url
from postgres_fixtures import state_at as state_at
from pydantic import SecretStr
from slack_fixtures import FAST, alert, commit, keys, notifier, sender, statuses

from monitor.model import Alert
from monitor.notify.base import Delivery, Notifier
from monitor.notify.sender import TokenBucket
from monitor.notify.slack import SlackNotifier
from monitor.settings import SlackSettings

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


def assert_paced(times: list[float], rate: float, burst: int, slack_s: float = 0.02) -> None:
    """A token bucket allows at most ``burst + rate * dt`` sends in any stretch of ``dt`` seconds."""
    times = sorted(times)
    for i in range(len(times)):
        for j in range(i + 1, len(times)):
            allowed = burst + rate * (times[j] - times[i] + slack_s)
            assert j - i + 1 <= allowed, f"{j - i + 1} posts in {times[j] - times[i]:.3f}s"


class Readings:
    """``time.monotonic`` that remembers its last reading: the one a bucket's ``take`` used."""

    last = 0.0

    def __call__(self) -> float:
        self.last = time.monotonic()
        return self.last


def test_thirty_alerts_through_429s_arrive_in_order_paced_and_once(
    fake: FakeSlack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    alerts = [alert(i, story=f"story-{i % 3}") for i in range(30)]
    commit(tmp_path, *alerts)
    fake.rate_limit(10, method="chat.postMessage")  # Slack answers 429 beyond 10 a second
    clock, granted = Readings(), []
    send = sender(tmp_path, notifier(fake, tmp_path), clock=clock)
    take = send.bucket.take

    def take_and_record() -> float:  # when the bucket let each attempt go, free of any jitter
        wait = take()
        if not wait:
            granted.append(clock.last)
        return wait

    monkeypatch.setattr(send.bucket, "take", take_and_record)
    started = time.monotonic()
    assert send.drain(timeout_s=30)
    elapsed = time.monotonic() - started

    assert keys(fake.messages_in("#ports-desk")) == [a.key for a in alerts]
    attempts = fake.requests_for("chat.postMessage")
    limited = [r for r in attempts if r["status"] == 429]
    assert limited, "the fake never rate-limited: the test shows nothing"
    assert len(granted) == len(attempts), "every attempt took a token"
    assert_paced(granted, FAST.rate, FAST.burst, slack_s=1e-6)
    # at the server too, allowing one interval for a request held up on the way (CPU, GIL)
    assert_paced([r["time"] for r in attempts], FAST.rate, FAST.burst, slack_s=1 / FAST.rate)
    for hit in limited:  # Retry-After (1 s) is honoured before the next attempt
        later = [r["time"] for r in attempts if r["time"] > hit["time"]]
        assert not later or later[0] - hit["time"] >= 0.95
    assert {s for s, _ in statuses(tmp_path).values()} == {"sent"}
    print(f"30 alerts, {len(limited)} answered 429, delivered in {elapsed:.2f}s")


def test_the_bucket_allows_a_burst_then_the_rate() -> None:
    now = [100.0]
    bucket = TokenBucket(rate=10.0, burst=2, clock=lambda: now[0])
    assert (bucket.take(), bucket.take()) == (0.0, 0.0)  # the burst, at once
    assert bucket.take() == pytest.approx(0.1)  # empty: one token in 1/rate
    now[0] += 0.04
    assert bucket.take() == pytest.approx(0.06)  # a wait takes nothing
    now[0] += 0.06
    assert (bucket.take(), bucket.take() > 0) == (0.0, True)
    now[0] += 60.0  # idle for long: saves up no more than the burst
    assert [bucket.take() == 0.0 for _ in range(3)] == [True, True, False]


def test_alerts_wait_out_an_outage_then_arrive(fake: FakeSlack, tmp_path: Path) -> None:
    send = sender(tmp_path, notifier(fake, tmp_path))
    send.start()
    try:
        with fake.outage():
            for i in range(5):  # the run loop keeps committing while Slack is down
                commit(tmp_path, alert(i, story=f"s{i % 2}"))
                send.notify()
                time.sleep(0.1)
            assert fake.messages == []
            assert send.outbox.waiting() == 5
        commit(tmp_path, *[alert(i, story=f"s{i % 2}") for i in range(5, 8)])
        send.notify()
        fake.wait_for(8, timeout=15)
    finally:
        send.stop()
    assert keys(fake.messages) == [alert(i, story=f"s{i % 2}").key for i in range(8)]
    assert send.results["retry"] >= 1 and send.outbox.waiting() == 0


class Crash(BaseException):
    """The process dies: nothing after the post runs, not even the outbox record."""


class CrashAfterPost:
    name = "crash"

    def __init__(self, inner: Notifier) -> None:
        self.inner = inner

    def send(self, alert: Alert, *, maybe_sent: bool = False) -> Delivery:
        self.inner.send(alert, maybe_sent=maybe_sent)
        raise Crash


@pytest.mark.parametrize("threaded", [False, True])
def test_a_crash_between_post_and_record_leaves_no_duplicate(
    fake: FakeSlack, state_at: Path | str, threaded: bool
) -> None:
    first = [alert(1)] if threaded else []
    commit(state_at, *first)
    assert sender(state_at, notifier(fake, state_at)).drain(timeout_s=5)
    commit(state_at, alert(2))
    crashed = sender(state_at, CrashAfterPost(notifier(fake, state_at)))
    with pytest.raises(Crash):
        crashed.step()
    crashed.outbox.close()  # the process is gone, and its connection (and locks) with it
    assert statuses(state_at)[alert(2).key][0] == "sending"

    after = sender(state_at, notifier(fake, state_at))  # the restart: new objects, same state dir
    assert after.drain(timeout_s=10)
    assert keys(fake.messages) == [a.key for a in [*first, alert(2)]]
    assert statuses(state_at)[alert(2).key][0] == "sent"
    if threaded:
        assert fake.messages[1]["thread_ts"] == fake.messages[0]["ts"]


def test_a_lost_answer_then_restart_leaves_no_duplicate_and_keeps_the_thread(
    fake: FakeSlack, state_at: Path | str
) -> None:
    commit(state_at, alert(1))
    fake.drop_response_after_store()
    sender(state_at, notifier(fake, state_at)).step()  # posted, but the answer is lost
    assert len(fake.messages) == 1 and statuses(state_at)[alert(1).key][0] == "sending"

    commit(state_at, alert(2))
    assert sender(state_at, notifier(fake, state_at)).drain(timeout_s=10)
    parent, reply = fake.messages
    assert keys([parent, reply]) == [alert(1).key, alert(2).key]
    assert reply["thread_ts"] == parent["ts"]
    assert statuses(state_at)[alert(1).key][0] == "sent"


FIRST_FAILURES: dict[str, Callable[[FakeSlack], object]] = {
    "429": lambda f: f.fail_next(status=429, method="chat.postMessage"),
    "503": lambda f: f.fail_next(status=503, method="chat.postMessage"),
    "500": lambda f: f.fail_next(status=500, method="chat.postMessage"),
    "dropped": lambda f: f.drop_response_after_store(),
    "timed_out": lambda f: f.drop_response_after_store(hang=5.0),
}


@pytest.mark.parametrize(("failure", "status", "lookups"), [
    ("429", "pending", 0),  # Slack refused it unread: just post again
    ("503", "pending", 0),
    ("500", "sending", 1),  # internal_error: Slack says part of it may have happened
    ("dropped", "sending", 1),  # stored, then the connection closed without an answer
    ("timed_out", "sending", 1),  # stored, then no answer before the client's timeout
])
def test_a_retry_checks_for_a_duplicate_only_when_the_failure_may_have_posted(
    fake: FakeSlack, state_at: Path | str, failure: str, status: str, lookups: int
) -> None:
    fake.add_channel("#ports-desk")  # so that any duplicate check reaches conversations.history
    commit(state_at, alert(1))
    FIRST_FAILURES[failure](fake)
    send = sender(state_at, notifier(fake, state_at, timeout_s=2.0))  # a slow answer is not a lost one
    send.step()
    assert statuses(state_at)[alert(1).key][0] == status

    assert send.drain(timeout_s=10)
    assert len(fake.requests_for("conversations.history")) == lookups
    assert keys(fake.messages) == [alert(1).key]
    assert statuses(state_at)[alert(1).key][0] == "sent"


def test_a_rate_limited_duplicate_check_is_made_again_before_posting(
    fake: FakeSlack, state_at: Path | str
) -> None:
    commit(state_at, alert(1))
    fake.drop_response_after_store()  # posted, answer lost
    fake.fail_next(status=429, method="conversations.history")  # the check itself is refused
    send = sender(state_at, notifier(fake, state_at), replace(FAST, retry_base_s=0.0))  # retry at once
    send.step()
    send.step()
    assert statuses(state_at)[alert(1).key] == ("sending", "ratelimited")  # still in doubt

    assert send.drain(timeout_s=10)
    assert [r["status"] for r in fake.requests_for("conversations.history")] == [429, 200]
    assert keys(fake.messages) == [alert(1).key]


def test_threads_survive_a_restart(fake: FakeSlack, state_at: Path | str) -> None:
    commit(state_at, alert(1), alert(2))
    assert sender(state_at, notifier(fake, state_at)).drain(timeout_s=10)
    commit(state_at, alert(3, kind="shift"))
    assert sender(state_at, notifier(fake, state_at)).drain(timeout_s=10)
    parent = fake.messages[0]
    assert keys(fake.thread("#ports-desk", parent["ts"])) == [
        alert(1).key, alert(2).key, alert(3, kind="shift").key]
    assert len(fake.updates) == 2


def test_permanent_failures_are_parked_and_other_channels_go_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with FakeSlack(missing_channels=["#gone"], archived_channels=["#old"]) as fake:
        alerts = [alert(1, channel="#gone"), alert(2, channel="#desk"), alert(3, channel="#old"),
                  alert(4, channel=None, story="nowhere"), alert(5, channel="#gone", story="x"),
                  alert(6, channel="#desk", story="y")]
        commit(tmp_path, *alerts)
        assert sender(tmp_path, notifier(fake, tmp_path)).drain(timeout_s=10)
        assert keys(fake.messages) == [alerts[1].key, alerts[5].key]
    status = statuses(tmp_path)
    assert {k: s for k, (s, _) in status.items()} == {
        a.key: "sent" if a.channel == "#desk" else "parked" for a in alerts}
    assert status[alerts[0].key][1].startswith("channel_not_found: no such channel")
    assert status[alerts[2].key][1].startswith("is_archived: the channel is archived")
    assert status[alerts[3].key][1].startswith("no_channel: the alert has no channel")
    parked = [r for r in caplog.records if r.getMessage() == "alert_parked"]
    assert [r.__dict__["key"] for r in parked] == [alerts[i].key for i in (0, 2, 3, 4)]


def test_a_rejected_token_parks_every_alert(tmp_path: Path) -> None:
    with FakeSlack() as fake:
        commit(tmp_path, alert(1), alert(2, channel="#other"))
        assert sender(tmp_path, notifier(fake, tmp_path, token=SecretStr("xoxb-revoked"))).drain(5)
        assert fake.messages == []
    assert {e.split(":")[0] for _, e in statuses(tmp_path).values() if e} == {"invalid_auth"}


def test_webhook_mode_delivers_through_the_outbox(fake: FakeSlack, tmp_path: Path) -> None:
    alerts = [alert(i, story=f"s{i}") for i in range(3)]
    commit(tmp_path, *alerts)
    fake.fail_next(method="webhook", status=503)
    hook = SlackNotifier.from_settings(SlackSettings(webhook_url=SecretStr(fake.webhook_url)))
    assert sender(tmp_path, hook).drain(timeout_s=10)
    assert [m["text"] for m in fake.messages_in("#webhook")] == [
        f"[WARNING] brennport-dock-strike · Coverage above threshold: {a.summary}" for a in alerts]


def test_a_drain_at_shutdown_waits_for_the_send_in_flight(fake: FakeSlack, tmp_path: Path) -> None:
    commit(tmp_path, alert(1))
    fake.fail_next(delay=1.0, method="chat.postMessage")  # a slow Slack: stored after a second
    send = sender(tmp_path, notifier(fake, tmp_path))
    send.start()
    deadline = time.monotonic() + 5
    while not fake.requests_for("chat.postMessage") and time.monotonic() < deadline:
        time.sleep(0.01)
    send.stop(timeout_s=0.1)  # gives up joining: the thread is still in its post
    assert send.drain(timeout_s=10)
    send.stop(timeout_s=5)  # now the slow post has certainly landed
    assert keys(fake.messages) == [alert(1).key]


def test_a_failed_parent_edit_is_retried_like_a_post(fake: FakeSlack, state_at: Path | str) -> None:
    """chat.update fails (503 twice): the reply is delivered at once, the parent edit follows."""
    send = sender(state_at, notifier(fake, state_at))
    commit(state_at, alert(0))
    assert send.drain(10)
    fake.fail_next(2, status=503, method="chat.update")
    commit(state_at, alert(1))
    assert send.drain(10)  # the alert is out at once
    assert len(fake.messages) == 2
    deadline = time.monotonic() + 30
    while not fake.updates and time.monotonic() < deadline:  # the edit, with backoff
        send.step()
        time.sleep(0.05)
    [update] = fake.updates
    assert update["ts"] == fake.messages[0]["ts"] and len(fake.requests_for("chat.update")) == 3
    assert send.step() is None  # nothing left: no alert, no edit


def test_outbox_waiting_follows_every_step(fake: FakeSlack, tmp_path: Path) -> None:
    waiting: list[int] = []
    send = sender(tmp_path, notifier(fake, tmp_path), on_waiting=waiting.append)
    commit(tmp_path, alert(0), alert(1, story="other"))
    with fake.outage():
        send.step()
        assert waiting == [2]  # both wait while Slack is down
    assert send.drain(30)
    assert waiting[-1] == 0
