"""The Slack notifiers over real HTTP: the real slack-sdk against the fake Slack server."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fakeslack import FakeSlack
from pydantic import SecretStr
from slack_fixtures import TOKEN, alert, keys, notifier, settings

from monitor.cli_slack import slack_test
from monitor.errors import ConfigError, DeliveryError
from monitor.notify.slack import (
    EVENT_TYPE,
    SlackAuthError,
    SlackFailure,
    SlackNotifier,
    SlackUnreachable,
    WebhookNotifier,
)
from monitor.settings import Settings, SlackSettings

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


def test_check_passes_with_a_valid_token(fake: FakeSlack) -> None:
    assert notifier(fake).check() == "story-monitor in Fake Team"


@pytest.mark.parametrize("token", ["xoxb-wrong", ""])
def test_check_names_a_rejected_token(fake: FakeSlack, token: str) -> None:
    slack = SlackNotifier.from_settings(settings(fake, token=SecretStr(token)))
    with pytest.raises(SlackAuthError, match=r"slack: (invalid_auth|not_authed): .*slack.token") as info:
        slack.check()
    assert isinstance(info.value, ConfigError)
    assert not token or token not in str(info.value)


def test_check_says_when_slack_cannot_be_reached() -> None:
    with FakeSlack() as gone:
        url = gone.base_url
    with pytest.raises(SlackUnreachable, match=r"cannot check the token at http://127\.0\.0\.1"):
        SlackNotifier.from_settings(SlackSettings(token=SecretStr(TOKEN), base_url=url)).check()


def test_from_settings_picks_the_web_api_then_the_webhook(fake: FakeSlack, tmp_path: Path) -> None:
    assert isinstance(SlackNotifier.from_settings(settings(fake), tmp_path), SlackNotifier)
    hook = SlackNotifier.from_settings(SlackSettings(webhook_url=SecretStr(fake.webhook_url)))
    assert isinstance(hook, WebhookNotifier) and hook.check() == "incoming webhook"
    with pytest.raises(ConfigError):
        SlackNotifier.from_settings(SlackSettings())


def test_channel_per_alert_else_the_default(fake: FakeSlack) -> None:
    slack = notifier(fake, default_channel="#alerts")
    a = slack.send(alert(1, channel="#ports-desk"))
    b = slack.send(alert(2, channel=None, story="other"))
    assert a.channel == fake.channel_id("#ports-desk") and b.channel == fake.channel_id("#alerts")
    assert keys(fake.messages_in("#alerts")) == [alert(2, channel=None, story="other").key]


def test_no_channel_at_all_is_permanent(fake: FakeSlack) -> None:
    with pytest.raises(DeliveryError, match=r"no_channel: .*slack\.default_channel") as info:
        notifier(fake).send(alert(1, channel=None))
    assert info.value.permanent and fake.requests == []


def test_every_post_carries_the_alert_key_in_metadata(fake: FakeSlack) -> None:
    a = alert(1)
    notifier(fake).send(a)
    (msg,) = fake.messages
    assert msg["metadata"] == {"event_type": EVENT_TYPE, "event_payload": {
        "key": a.key, "rule": a.rule, "story": a.story, "kind": "threshold"}}
    assert msg["unfurl_links"] is False and msg["blocks"][0]["type"] == "header"


def test_one_thread_per_story_with_the_parent_at_the_latest_state(fake: FakeSlack, tmp_path: Path) -> None:
    first = notifier(fake, tmp_path)
    parent = first.send(alert(1))
    first.send(alert(2))
    other = first.send(alert(3, story="greyfall"))
    again = notifier(fake, tmp_path)  # a restart: thread ids come from the state DB
    again.send(alert(4, kind="shift", summary="framing shifted"))

    assert parent.ref is not None and other.ref != parent.ref
    thread = fake.thread("#ports-desk", parent.ref)
    assert keys(thread) == [alert(i).key for i in (1, 2)] + [alert(4, kind="shift").key]
    assert [m["thread_ts"] for m in thread] == [None, parent.ref, parent.ref]
    assert [u["ts"] for u in fake.updates] == [parent.ref, parent.ref]
    latest = fake.updates[-1]["blocks"][2]["text"]["text"]
    assert latest.startswith("*Latest:* Framing shift") and "framing shifted" in latest
    assert "metadata" not in fake.updates[-1]["args"]  # the parent keeps the first alert's key


@pytest.mark.parametrize("threaded", [False, True])
def test_a_lost_answer_is_found_by_key_instead_of_posted_again(fake: FakeSlack, threaded: bool) -> None:
    slack = notifier(fake)
    expected = [alert(2).key]
    if threaded:
        slack.send(alert(1))
        expected.insert(0, alert(1).key)
    fake.drop_response_after_store()
    with pytest.raises(DeliveryError) as info:
        slack.send(alert(2))
    assert not info.value.permanent
    again = slack if threaded else notifier(fake)  # unthreaded: a fresh notifier finds the channel id
    delivery = again.send(alert(2), maybe_sent=True)
    assert keys(fake.messages) == expected
    assert delivery.ref == fake.messages[-1]["ts"]


def test_maybe_sent_posts_when_nothing_was_posted(fake: FakeSlack) -> None:
    notifier(fake).send(alert(1), maybe_sent=True)
    assert keys(fake.messages) == [alert(1).key]


# fault, code, permanent, retry_after, maybe_delivered (Slack may have posted all the same)
FAULTS: list[tuple[dict[str, Any], str, bool, float | None, bool]] = [
    ({"status": 429, "retry_after": 3}, "ratelimited", False, 3.0, False),
    ({"status": 500}, "internal_error", False, None, True),  # "some aspect ... may have succeeded"
    ({"status": 502}, "bad_gateway", False, None, True),  # a gateway may have passed it on
    ({"status": 503}, "service_unavailable", False, None, False),
    ({"error": "fatal_error"}, "fatal_error", False, None, True),
    ({"error": "request_timeout"}, "request_timeout", False, None, False),
    ({"error": "invalid_auth"}, "invalid_auth", True, None, False),
    ({"error": "not_authed"}, "not_authed", True, None, False),
    ({"error": "account_inactive"}, "account_inactive", True, None, False),
    ({"error": "token_revoked"}, "token_revoked", True, None, False),
    ({"error": "channel_not_found"}, "channel_not_found", True, None, False),
    ({"error": "is_archived"}, "is_archived", True, None, False),
    ({"error": "not_in_channel"}, "not_in_channel", True, None, False),
    ({"error": "msg_too_long"}, "msg_too_long", True, None, False),
    ({"delay": 4.0}, "timeout", False, None, True),  # sent, no answer in time
]


@pytest.mark.parametrize(("fault", "code", "permanent", "retry_after", "maybe"), FAULTS)
def test_slack_errors_map_to_retry_or_park(
    fake: FakeSlack, fault: dict[str, Any], code: str, permanent: bool, retry_after: float | None,
    maybe: bool,
) -> None:
    slack = notifier(fake, timeout_s=2.0)  # room for a busy machine; the timeout case waits 4 s
    fake.fail_next(method="chat.postMessage", **fault)
    with pytest.raises(SlackFailure) as info:
        slack.send(alert(1))
    failure = info.value
    assert (failure.code, failure.permanent, failure.retry_after, failure.maybe_delivered) == (
        code, permanent, retry_after, maybe)


def test_a_dropped_connection_is_transient_and_may_have_posted(fake: FakeSlack) -> None:
    fake.drop_response_after_store()
    with pytest.raises(SlackFailure) as info:
        notifier(fake).send(alert(1))
    assert (info.value.code, info.value.permanent, info.value.maybe_delivered) == (
        "connection_error", False, True)


def test_a_refused_connection_cannot_have_posted() -> None:
    with FakeSlack() as gone:
        slack = notifier(gone)
    with pytest.raises(SlackFailure) as info:
        slack.send(alert(1))
    assert (info.value.code, info.value.permanent, info.value.maybe_delivered) == (
        "connection_error", False, False)


def test_rejected_blocks_fall_back_once_to_plain_text(fake: FakeSlack) -> None:
    slack = notifier(fake)
    fake.fail_next(error="invalid_blocks")
    slack.send(alert(1))
    (msg,) = fake.messages
    assert msg["blocks"] is None and msg["text"].startswith("[WARNING] brennport-dock-strike · threshold")
    assert keys([msg]) == [alert(1).key]
    fake.fail_next(2, error="invalid_blocks")
    with pytest.raises(SlackFailure) as info:
        slack.send(alert(2, story="s2"))
    assert (info.value.code, info.value.permanent) == ("invalid_blocks", True)


def test_a_deleted_parent_starts_a_new_thread(fake: FakeSlack) -> None:
    slack = notifier(fake)
    slack.send(alert(1))
    fake.fail_next(error="message_not_found", method="chat.update")
    slack.send(alert(2))  # delivered in the old thread; the parent could not be edited
    third = slack.send(alert(3))
    assert fake.messages[-1]["ts"] == third.ref and fake.messages[-1]["thread_ts"] is None


def test_webhook_delivers_and_maps_errors(fake: FakeSlack) -> None:
    hook = SlackNotifier.from_settings(SlackSettings(webhook_url=SecretStr(fake.webhook_url)))
    hook.send(alert(1))
    assert fake.messages_in("#webhook")[0]["blocks"][0]["type"] == "header"
    for fault, code, permanent, maybe in [({"error": "channel_not_found"}, "channel_not_found", True, False),
                                          ({"status": 500}, "internal_error", False, True),
                                          ({"status": 503}, "service_unavailable", False, False),
                                          ({"status": 429, "retry_after": 2}, "ratelimited", False, False)]:
        fake.fail_next(method="webhook", **fault)
        with pytest.raises(SlackFailure) as info:
            hook.send(alert(2))
        assert (info.value.code, info.value.permanent, info.value.maybe_delivered) == (code, permanent, maybe)
    fake.fail_next(method="webhook", error="invalid_blocks")
    hook.send(alert(3))
    assert fake.messages_in("#webhook")[-1]["blocks"] is None


def test_no_secret_reaches_a_log_line(fake: FakeSlack, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    fake.valid_tokens.add("xoxb-very-secret")
    slack = SlackNotifier.from_settings(settings(fake, token=SecretStr("xoxb-very-secret")))
    slack.check()
    slack.send(alert(1))
    fake.fail_next(status=500)
    with pytest.raises(SlackFailure):
        slack.send(alert(2))
    hook = SlackNotifier.from_settings(SlackSettings(webhook_url=SecretStr(fake.webhook_url)))
    hook.send(alert(3))
    fake.fail_next(method="webhook", status=503)
    with pytest.raises(SlackFailure):
        hook.send(alert(4))
    assert caplog.records
    assert "xoxb-very-secret" not in caplog.text and "/services/" not in caplog.text


def run_slack_test(slack: SlackSettings, channel: str | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = slack_test(Settings(slack=slack), channel, out=out, err=err,
                      now=datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    return code, out.getvalue(), err.getvalue()


def test_slack_test_posts_a_marked_message(fake: FakeSlack) -> None:
    code, out, err = run_slack_test(settings(fake, default_channel="#alerts"), "#setup")
    assert (code, err) == (0, "")
    assert out.startswith(f"slack test: sent to #setup (channel {fake.channel_id('#setup')}, ts ")
    (msg,) = fake.messages_in("#setup")
    assert msg["text"] == "Story Monitor test message — setup OK"
    assert msg["blocks"][-1]["type"] == "context" and "2026-03-02 09:00 UTC" in str(msg["blocks"][-1])


@pytest.mark.parametrize(("slack", "channel", "reason"), [
    ({}, "#setup", "Slack is not configured: set SLACK_BOT_TOKEN"),
    ({"token": SecretStr("xoxb-nope")}, "#setup", "invalid_auth: Slack rejected the token"),
    ({"token": SecretStr(TOKEN)}, None, "no channel: pass --channel C or set slack.default_channel"),
    ({"token": SecretStr(TOKEN)}, "#gone", "channel_not_found: no such channel"),
    ({"token": SecretStr(TOKEN)}, "#old", "is_archived: the channel is archived"),
])
def test_slack_test_says_what_went_wrong(slack: dict[str, Any], channel: str | None, reason: str) -> None:
    with FakeSlack(missing_channels=["#gone"], archived_channels=["#old"]) as fake:
        code, out, err = run_slack_test(SlackSettings(base_url=fake.base_url, **slack), channel)
        assert fake.messages == []
    assert (code, out) == (1, "")
    assert err.startswith(f"slack test: failed: {reason}") or err.startswith(
        f"slack test: failed: slack: {reason}"), err
    assert "xoxb-nope" not in err


def test_slack_test_when_slack_is_down(fake: FakeSlack) -> None:
    with fake.outage():
        code, _, err = run_slack_test(settings(fake), "#setup")
    assert code == 1 and "cannot check the token at http://127.0.0.1" in err


def test_slack_test_through_a_webhook(fake: FakeSlack) -> None:
    code, out, _ = run_slack_test(SlackSettings(webhook_url=SecretStr(fake.webhook_url)), "#x")
    assert code == 0 and "through the incoming webhook (--channel #x ignored" in out
    assert fake.webhook_url not in out
    assert fake.messages_in("#webhook")[0]["text"] == "Story Monitor test message — setup OK"
