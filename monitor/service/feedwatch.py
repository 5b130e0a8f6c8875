"""The degraded feed, told to operators: a message to ``slack.admin_channel`` on each change."""

from __future__ import annotations

from datetime import UTC, datetime

from monitor.detect.feed import FeedNotice
from monitor.rules.durations import format_duration
from monitor.service.post import Poster


def feed_text(n: FeedNotice) -> str:
    """The admin message: what the feed delivered against its usual, and what it means for alerts."""
    when = datetime.fromtimestamp(n.at, UTC).strftime("%Y-%m-%d %H:%M UTC")
    numbers = (f"{n.count} articles in the {format_duration(n.window_s)} to {when}, "
               f"against the usual {n.expected:.0f}")
    if n.kind == "degraded":
        return (f":warning: Story Monitor: the article feed is degraded: {numbers}. "
                "Silence alerts are held back while it lasts (counted as `feed_degraded`); "
                "check the producer of the articles topic.")
    return f":white_check_mark: Story Monitor: the article feed is back to normal: {numbers}."


class FeedAnnouncer:
    """Posts each feed notice to the admin channel, off the loop thread."""

    def __init__(self, poster: Poster, channel: str) -> None:
        self.poster = poster
        self.channel = channel

    def __call__(self, notice: FeedNotice) -> None:
        self.poster.post(self.channel, feed_text(notice), what=f"feed_{notice.kind}")
