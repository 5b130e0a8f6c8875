"""The degraded feed, as an operator sees it: a log event, metrics, /readyz, and a message in
the admin channel (the real slack-sdk against tests/fakeslack.py), from the real daemon."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from daemonproc import Daemon, metric, wait_until
from fakeslack import FakeSlack
from slack_sdk import WebClient

from monitor.detect.feed import FeedNotice
from monitor.service.feedwatch import FeedAnnouncer, feed_text
from monitor.service.post import Poster, WebApiMessenger

RULES = """\
actors:
  alphaland: {name: Alphaland, aliases: [Alphaland]}
rules:
  - id: alpha-summit
    match: {actors: [alphaland], keywords: [summit]}
    detect: [threshold, silence]
"""


def feed(n: int, at: datetime) -> list[dict[str, Any]]:
    """Ordinary news of the feed, none of it matching, ``n`` articles published at ``at``."""
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return [{"id": f"n{stamp}-{i}", "title": f"Weather and markets {i}", "published_at": stamp,
             "source": "wire"} for i in range(n)]


def test_a_feed_that_stopped_is_reported_in_logs_metrics_readyz_and_the_admin_channel(
    tmp_path: Path,
) -> None:
    """A live feed (articles published as they arrive) that stops: the wall clock moves event
    time on, and the feed's last windows come up empty. Windows of 2 s keep the test short."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "desk.yaml").write_text(RULES)
    articles = tmp_path / "articles.jsonl"
    articles.write_text("")
    with FakeSlack() as fake:
        daemon = Daemon(tmp_path, rules, articles, STORY_MONITOR_SLACK__TOKEN="xoxb-test",
                        STORY_MONITOR_SLACK__BASE_URL=fake.base_url,
                        STORY_MONITOR_SLACK__ADMIN_CHANNEL="#ops",
                        STORY_MONITOR_DETECT__TICK_INTERVAL_S="0.2",
                        STORY_MONITOR_DETECT__FEED__WINDOW_S="2", STORY_MONITOR_DETECT__FEED__STEP_S="0.5",
                        STORY_MONITOR_DETECT__FEED__BASELINE_S="20",
                        STORY_MONITOR_DETECT__FEED__MIN_EXPECTED="3").start()
        try:
            status, body = daemon.get("/readyz")
            assert status == 200 and json.loads(body)["feed"] == {"status": "unknown"}
            for _ in range(12):  # 6 s of news, 5 articles every half second, then nothing
                daemon.append(feed(5, datetime.now(UTC)))
                time.sleep(0.5)
            [event] = daemon.wait_event("feed_degraded", timeout_s=30)
            assert event["expected"] >= 10 and event["count"] < event["expected"] / 2
            status, body = daemon.get("/readyz")
            ready = json.loads(body)
            assert status == 200 and ready["status"] == "ok"  # the daemon is fine; its input is not
            assert ready["feed"]["status"] == "degraded" and ready["feed"]["count"] == event["count"]
            values = daemon.metrics()
            assert metric(values, "story_monitor_feed_degraded") == 1
            assert metric(values, "story_monitor_feed_notices_total", kind="degraded") == 1
            wait_until(lambda: bool(fake.messages_in("#ops")), 20, "the admin message")
            time.sleep(1.5)  # more ticks: the outage is still one report
            [message] = fake.messages_in("#ops")
            assert f"feed is degraded: {event['count']} articles in the 2s" in message["text"]
            assert len(daemon.named("feed_degraded")) == 1
        finally:
            assert daemon.stop() == 0


def test_a_recovered_feed_is_told_too() -> None:
    with FakeSlack() as fake:
        poster = Poster(WebApiMessenger(WebClient(token="xoxb-test", base_url=fake.base_url)))
        announce = FeedAnnouncer(poster, "#ops")
        announce(FeedNotice("recovered", datetime(2017, 3, 8, 12, tzinfo=UTC).timestamp(), 93, 61.2, 86400))
        poster.stop()
        [message] = fake.messages_in("#ops")
    assert message["text"] == feed_text(FeedNotice("recovered", 1488974400.0, 93, 61.2, 86400))
    assert "back to normal: 93 articles in the 1d to 2017-03-08 12:00 UTC, against the usual 61" in \
        message["text"]
