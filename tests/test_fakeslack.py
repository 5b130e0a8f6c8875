"""The fake Slack server, driven by the real slack-sdk clients over real HTTP.

Retry handlers are off (``retry_handlers=[]``) unless a test says otherwise, so every
fault the fake injects is visible to the client.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.webhook import WebhookClient

try:
    from fakeslack import FakeSlack
except ModuleNotFoundError:  # tests/ became a package
    from tests.fakeslack import FakeSlack

pytestmark = pytest.mark.timeout(10)

META = {"event_type": "story_alert", "event_payload": {"alert_key": "us-syria:1", "rule": "r1"}}
BLOCKS = [
    {"type": "header", "text": {"type": "plain_text", "text": "Story moved"}},
    {"type": "section", "text": {"type": "mrkdwn", "text": "*US + Syria*: 3 articles in 6h"}},
]


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


def client(fake: FakeSlack, token: str = "xoxb-test", timeout: int = 5) -> WebClient:
    return WebClient(token=token, base_url=fake.base_url, timeout=timeout, retry_handlers=[])


def test_urls() -> None:
    with FakeSlack() as fake:
        assert fake.base_url.startswith("http://127.0.0.1:")
        assert fake.base_url.endswith("/api/")
        assert fake.webhook_url == f"http://127.0.0.1:{fake.port}/services/T000/B000/XXXX"


def test_post_thread_update_history_with_metadata(fake: FakeSlack) -> None:
    web = client(fake)
    auth = web.auth_test()
    assert auth["team_id"] == "T000" and auth["user_id"] and auth["bot_id"]

    parent = web.chat_postMessage(
        channel="#syria-desk",
        text="US + Syria: story building",
        blocks=BLOCKS,
        metadata=META,
        unfurl_links=False,
        unfurl_media=False,
    )
    cid = parent["channel"]
    assert cid == fake.channel_id("#syria-desk") and cid.startswith("C")
    assert parent["message"]["metadata"] == META
    reply = web.chat_postMessage(
        channel=cid, thread_ts=parent["ts"], text="what changed: new actor Ban Ki-moon"
    )
    assert float(reply["ts"]) > float(parent["ts"])
    assert reply["message"]["thread_ts"] == parent["ts"]

    updated = web.chat_update(channel=cid, ts=parent["ts"], text="US + Syria: updated")
    assert updated["ts"] == parent["ts"] and updated["text"] == "US + Syria: updated"

    history = web.conversations_history(channel=cid, include_all_metadata=True, limit=10)
    msgs = history["messages"]
    assert [m["ts"] for m in msgs] == [parent["ts"]]  # replies stay in the thread
    assert msgs[0]["metadata"] == META
    assert msgs[0]["text"] == "US + Syria: updated" and msgs[0]["edited"]
    assert msgs[0]["reply_count"] == 1 and msgs[0]["latest_reply"] == reply["ts"]
    assert msgs[0]["blocks"] == BLOCKS

    replies = web.conversations_replies(channel=cid, ts=parent["ts"])
    assert [m["ts"] for m in replies["messages"]] == [parent["ts"], reply["ts"]]

    info = web.conversations_info(channel=cid)
    assert info["channel"]["name"] == "syria-desk" and not info["channel"]["is_archived"]

    # what the fake recorded
    stored = fake.messages_in("#syria-desk")
    assert [m["ts"] for m in stored] == [parent["ts"], reply["ts"]]
    first = stored[0]
    assert first["metadata"] == META and first["blocks"] == BLOCKS
    assert first["unfurl_links"] is False and first["unfurl_media"] is False
    assert first["thread_ts"] is None and stored[1]["thread_ts"] == parent["ts"]
    assert isinstance(first["received_at"], float) and first["received_wall"] > 1.6e9
    assert [m["text"] for m in fake.thread("#syria-desk", parent["ts"])] == [
        "US + Syria: updated",
        "what changed: new actor Ban Ki-moon",
    ]
    assert len(fake.updates) == 1
    assert fake.updates[0]["previous"]["text"] == "US + Syria: story building"
    assert [r["method"] for r in fake.requests][:3] == [
        "auth.test",
        "chat.postMessage",
        "chat.postMessage",
    ]
    assert all(r["status"] == 200 for r in fake.requests)


def test_history_newest_first_with_bounds_and_pages(fake: FakeSlack) -> None:
    web = client(fake)
    ts = [web.chat_postMessage(channel="#desk", text=f"m{i}")["ts"] for i in range(5)]
    cid = fake.channel_id("desk")
    newest_first = [m["ts"] for m in web.conversations_history(channel=cid)["messages"]]
    assert newest_first == ts[::-1]

    window = web.conversations_history(channel=cid, oldest=ts[1], latest=ts[4])
    assert [m["ts"] for m in window["messages"]] == [ts[3], ts[2]]
    inclusive = web.conversations_history(channel=cid, oldest=ts[1], inclusive=True)
    assert [m["ts"] for m in inclusive["messages"]] == ts[1:][::-1]

    first = web.conversations_history(channel=cid, limit=2)
    assert first["has_more"] and first["response_metadata"]["next_cursor"]
    pages = [[m["text"] for m in page["messages"]] for page in first]  # slack-sdk paginates
    assert pages == [["m4", "m3"], ["m2", "m1"], ["m0"]]


def test_ts_unique_and_increasing_under_concurrency(fake: FakeSlack) -> None:
    web = client(fake)
    results: list[str] = []
    lock = threading.Lock()

    def post(i: int) -> None:
        ts = web.chat_postMessage(channel="#desk", text=str(i))["ts"]
        with lock:
            results.append(ts)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 20
    stored = [m["ts"] for m in fake.messages]
    assert stored == sorted(stored, key=float) and sorted(stored) == sorted(results)
    assert all(len(ts.split(".")[1]) == 6 for ts in stored)


def test_deterministic_ts() -> None:
    with FakeSlack(ts_start="1700000000.000100") as fake:
        web = client(fake)
        a = web.chat_postMessage(channel="#desk", text="a")["ts"]
        b = web.chat_postMessage(channel="#desk", text="b")["ts"]
        assert (a, b) == ("1700000000.000100", "1700000000.000200")


def test_form_encoded_body_with_json_string_fields(fake: FakeSlack) -> None:
    web = client(fake)
    resp = web.api_call(
        "chat.postMessage",
        params={
            "channel": "desk",
            "text": "form",
            "blocks": json.dumps(BLOCKS),
            "metadata": json.dumps(META),
            "unfurl_links": False,
        },
    )
    assert resp["ok"]
    msg = fake.messages[-1]
    assert msg["blocks"] == BLOCKS and msg["metadata"] == META and msg["unfurl_links"] is False

    # a plain GET with a query string works too
    req = urllib.request.Request(
        f"{fake.base_url}conversations.history?channel={resp['channel']}",
        headers={"Authorization": "Bearer xoxb-test"},
    )
    with urllib.request.urlopen(req, timeout=5) as raw:
        body = json.load(raw)
    assert body["ok"] and body["messages"][0]["metadata"] == META


def test_429_with_retry_after(fake: FakeSlack) -> None:
    web = client(fake)
    fault = fake.fail_next(1, status=429, retry_after=7, method="chat.postMessage")
    web.auth_test()  # other methods are not hit by a filtered fault
    with pytest.raises(SlackApiError) as info:
        web.chat_postMessage(channel="#desk", text="x")
    assert info.value.response.status_code == 429
    assert info.value.response.headers["Retry-After"] == "7"
    assert info.value.response["error"] == "ratelimited"
    assert fault.remaining == 0 and fault.hits == 1
    assert fake.messages == []
    web.chat_postMessage(channel="#desk", text="x")  # used up: the next post goes through
    assert [(r["method"], r["status"]) for r in fake.requests] == [
        ("auth.test", 200),
        ("chat.postMessage", 429),
        ("chat.postMessage", 200),
    ]


def test_429_is_retried_by_slack_sdk_handler(fake: FakeSlack) -> None:
    web = WebClient(
        token="xoxb-test",
        base_url=fake.base_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    fake.fail_next(1, status=429, retry_after=0)
    assert web.chat_postMessage(channel="#desk", text="x")["ok"]
    assert [r["status"] for r in fake.requests] == [429, 200]
    assert len(fake.messages) == 1


def test_500(fake: FakeSlack) -> None:
    fake.fail_next(2, status=500, method="chat.postMessage")
    web = client(fake)
    for _ in range(2):
        with pytest.raises(SlackApiError) as info:
            web.chat_postMessage(channel="#desk", text="x")
        assert info.value.response.status_code == 500
    assert web.chat_postMessage(channel="#desk", text="x")["ok"]


def test_invalid_auth_injected_and_real(fake: FakeSlack) -> None:
    fake.fail_next(1, error="invalid_auth")
    with pytest.raises(SlackApiError) as info:
        client(fake).chat_postMessage(channel="#desk", text="x")
    assert info.value.response.status_code == 200
    assert info.value.response["error"] == "invalid_auth"

    with pytest.raises(SlackApiError) as info:
        client(fake, token="xoxb-wrong").auth_test()
    assert info.value.response["error"] == "invalid_auth"
    with pytest.raises(SlackApiError) as info:
        WebClient(base_url=fake.base_url, retry_handlers=[]).auth_test()
    assert info.value.response["error"] == "not_authed"
    fake.valid_tokens.add("xoxb-other")
    assert client(fake, token="xoxb-other").auth_test()["ok"]
    assert fake.messages == []


def test_channel_not_found_and_archived() -> None:
    with FakeSlack(missing_channels={"#gone"}, archived_channels={"#old"}) as fake:
        web = client(fake)
        with pytest.raises(SlackApiError) as info:
            web.chat_postMessage(channel="#gone", text="x")
        assert info.value.response["error"] == "channel_not_found"
        with pytest.raises(SlackApiError) as info:
            web.chat_postMessage(channel="#old", text="x")
        assert info.value.response["error"] == "is_archived"
        # like Slack: only chat.postMessage takes names; the rest need the id
        with pytest.raises(SlackApiError) as info:
            web.conversations_history(channel="#desk")
        assert info.value.response["error"] == "channel_not_found"
        assert "fake_hint" in info.value.response.data
        posted = web.chat_postMessage(channel="#desk", text="x")
        with pytest.raises(SlackApiError) as info:
            web.chat_update(channel=posted["channel"], ts="1.000001", text="y")
        assert info.value.response["error"] == "message_not_found"
        fake.fail_next(1, error="channel_not_found", channel="#desk")
        with pytest.raises(SlackApiError) as info:
            web.chat_postMessage(channel=posted["channel"], text="x")  # id matches the name
        assert info.value.response["error"] == "channel_not_found"

    with FakeSlack(channels=["#desk"]) as fake:
        web = client(fake)
        assert web.chat_postMessage(channel="#desk", text="x")["ok"]
        with pytest.raises(SlackApiError) as info:
            web.chat_postMessage(channel="#elsewhere", text="x")
        assert info.value.response["error"] == "channel_not_found"
        names = [c["name"] for c in web.conversations_list()["channels"]]
        assert names == ["desk"]


def test_invalid_blocks_and_metadata(fake: FakeSlack) -> None:
    web = client(fake)
    too_long = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]
    with pytest.raises(SlackApiError) as info:
        web.chat_postMessage(channel="#desk", text="x", blocks=too_long)
    assert info.value.response["error"] == "invalid_blocks"
    with pytest.raises(SlackApiError) as info:
        web.chat_postMessage(channel="#desk", text="x", metadata={"event_payload": {}})
    assert info.value.response["error"] == "invalid_metadata_format"
    with pytest.raises(SlackApiError) as info, pytest.warns(UserWarning):  # slack-sdk warns too
        web.chat_postMessage(channel="#desk")
    assert info.value.response["error"] == "no_text"
    assert fake.messages == []


def test_timeout_on_slow_response(fake: FakeSlack) -> None:
    fake.fail_next(1, delay=3.0, method="chat.postMessage")
    web = client(fake, timeout=1)
    started = time.monotonic()
    with pytest.raises(OSError):  # TimeoutError / URLError, depending on where it hits
        web.chat_postMessage(channel="#desk", text="slow")
    assert time.monotonic() - started < 2.5


def test_outage(fake: FakeSlack) -> None:
    web = client(fake)
    hook = WebhookClient(url=fake.webhook_url, retry_handlers=[])
    with fake.outage():
        with pytest.raises(SlackApiError) as info:
            web.chat_postMessage(channel="#desk", text="x")
        assert info.value.response.status_code == 503
        with pytest.raises(SlackApiError):
            web.auth_test()
        assert hook.send(text="x").status_code == 503
    assert web.chat_postMessage(channel="#desk", text="x")["ok"]
    fake.set_down(True)
    with pytest.raises(SlackApiError):
        web.auth_test()
    fake.set_down(False)
    assert len(fake.messages) == 1
    assert [r["fault"] for r in fake.requests].count("outage") == 4


def test_webhook(fake: FakeSlack) -> None:
    hook = WebhookClient(url=fake.webhook_url, retry_handlers=[])
    resp = hook.send(text="story moved", blocks=BLOCKS)
    assert resp.status_code == 200 and resp.body == "ok"
    (msg,) = fake.messages_in("#webhook")
    assert msg["text"] == "story moved" and msg["blocks"] == BLOCKS
    assert msg["source"] == "webhook"

    desk_url = fake.add_webhook("#desk")
    assert WebhookClient(url=desk_url, retry_handlers=[]).send(text="d").body == "ok"
    assert [m["text"] for m in fake.messages_in("#desk")] == ["d"]

    fake.fail_next(1, status=429, retry_after=2, method="webhook")
    limited = hook.send(text="x")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "2"
    assert hook.send(text="").status_code == 400  # no_text
    bad = WebhookClient(url=fake.webhook_url + "NOPE", retry_handlers=[]).send(text="x")
    assert (bad.status_code, bad.body) == (404, "no_service")


def test_rate_limit_per_channel(fake: FakeSlack) -> None:
    web = client(fake)
    with fake.rate_limit(2, method="chat.postMessage"):
        web.chat_postMessage(channel="#a", text="1")
        web.chat_postMessage(channel="#a", text="2")
        with pytest.raises(SlackApiError) as info:
            web.chat_postMessage(channel="#a", text="3")
        assert info.value.response.status_code == 429
        assert int(info.value.response.headers["Retry-After"]) >= 1
        assert info.value.response["error"] == "ratelimited"
        web.chat_postMessage(channel="#b", text="other channel")  # its own budget
        web.auth_test()  # not limited by the method filter
    web.chat_postMessage(channel="#a", text="after")  # off again
    assert [m["text"] for m in fake.messages_in("#a")] == ["1", "2", "after"]


def test_drop_response_after_store(fake: FakeSlack) -> None:
    web = client(fake)
    fake.drop_response_after_store(1)
    with pytest.raises(OSError):  # RemoteDisconnected: the client never hears back
        web.chat_postMessage(channel="#desk", text="alert", metadata=META)
    (msg,) = fake.messages
    assert msg["text"] == "alert"
    assert fake.requests[-1]["fault"] == "drop" and fake.requests[-1]["status"] is None
    # ... but the post is there, so a client can find it before posting again
    history = web.conversations_history(channel=msg["channel"], include_all_metadata=True)
    assert history["messages"][0]["metadata"] == META

    fake.drop_response_after_store(1, hang=3.0)
    started = time.monotonic()
    with pytest.raises(OSError):  # held open past the client timeout
        client(fake, timeout=1).chat_postMessage(channel="#desk", text="again")
    assert time.monotonic() - started < 2.5
    assert len(fake.messages) == 2


def test_faults_are_thread_safe(fake: FakeSlack) -> None:
    fake.fail_next(5, status=500, method="chat.postMessage")
    web = client(fake)
    outcomes: list[int] = []
    lock = threading.Lock()

    def post() -> None:
        try:
            web.chat_postMessage(channel="#desk", text="x")
            status = 200
        except SlackApiError as exc:
            status = exc.response.status_code
        with lock:
            outcomes.append(status)

    threads = [threading.Thread(target=post) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == [200] * 15 + [500] * 5
    assert len(fake.messages) == 15 and fake.faults == []


def test_wait_for(fake: FakeSlack) -> None:
    web = client(fake)

    def later() -> None:
        time.sleep(0.2)
        web.chat_postMessage(channel="#desk", text="one")
        web.chat_postMessage(channel="#desk", text="two")

    threading.Thread(target=later).start()
    assert [m["text"] for m in fake.wait_for(2, timeout=2)] == ["one", "two"]
    got = fake.wait_for(lambda ms: any(m["text"] == "two" for m in ms), channel="#desk")
    assert len(got) == 2
    with pytest.raises(TimeoutError):
        fake.wait_for(3, timeout=0.1)
    assert len(fake.wait_for_requests(2, method="chat.postMessage")) == 2


def test_standalone_process() -> None:
    script = Path(__file__).with_name("fakeslack.py")
    proc = subprocess.Popen(
        [sys.executable, str(script), "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("FAKE_SLACK=http://127.0.0.1:") and line.endswith("/api/")
        base_url = line.split("=", 1)[1]
        web = WebClient(token="xoxb-test", base_url=base_url, retry_handlers=[])
        assert web.chat_postMessage(channel="#bench", text="x")["ok"]
        with urllib.request.urlopen(base_url.replace("/api/", "/_fake/messages"), timeout=5) as r:
            assert [m["text"] for m in json.load(r)] == ["x"]
    finally:
        proc.terminate()
        proc.wait(timeout=5)
    assert proc.returncode == 0
