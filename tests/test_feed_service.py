"""The degraded feed, as an operator sees it: a log event, metrics, /readyz, and a message in
the admin channel (the real slack-sdk against tests/fakeslack.py), from the real daemon."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
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


def feed(days: int, per_day: int, end: datetime) -> list[dict[str, Any]]:
    """Ordinary news of the feed, none of it matching, ``per_day`` a day until ``end``."""
    out = []
    for d in range(days, 0, -1):
        for i in range(per_day):
            at = end - timedelta(days=d) + timedelta(hours=24 * i / per_day)
            out.append({"id": f"n{d}-{i}", "title": f"Weather and markets {d}-{i}",
                        "published_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "source": "wire"})
    return out


def test_a_feed_that_stopped_is_reported_in_logs_metrics_readyz_and_the_admin_channel(
    tmp_path: Path,
) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "desk.yaml").write_text(RULES)
    articles = tmp_path / "articles.jsonl"
    articles.write_text("")
    stopped = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)  # nothing since
    with FakeSlack() as fake:
        daemon = Daemon(tmp_path, rules, articles, STORY_MONITOR_SLACK__TOKEN="xoxb-test",
                        STORY_MONITOR_SLACK__BASE_URL=fake.base_url,
                        STORY_MONITOR_SLACK__ADMIN_CHANNEL="#ops",
                        STORY_MONITOR_DETECT__TICK_INTERVAL_S="0.5").start()
        try:
            status, body = daemon.get("/readyz")
            assert status == 200 and json.loads(body)["feed"] == {"status": "unknown"}
            daemon.append(feed(9, 24, stopped))
            [event] = daemon.wait_event("feed_degraded", timeout_s=30)
            assert event["expected"] >= 20 and event["count"] < event["expected"] / 2  # half-way in
            status, body = daemon.get("/readyz")
            ready = json.loads(body)
            assert status == 200 and ready["status"] == "ok"  # the daemon is fine; its input is not
            assert ready["feed"]["status"] == "degraded" and ready["feed"]["count"] == event["count"]
            values = daemon.metrics()
            assert metric(values, "story_monitor_feed_degraded") == 1
            assert metric(values, "story_monitor_feed_notices_total", kind="degraded") == 1
            wait_until(lambda: bool(fake.messages_in("#ops")), 20, "the admin message")
            time.sleep(1.5)  # three more ticks: the outage is still one report
            [message] = fake.messages_in("#ops")
            assert f"feed is degraded: {event['count']} articles in the 1d" in message["text"]
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
