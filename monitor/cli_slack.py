"""``story-monitor slack test``: post a marked message, or say plainly why it cannot."""

from __future__ import annotations

import socket
import sys
from datetime import UTC, datetime
from typing import TextIO

from monitor.errors import MonitorError
from monitor.notify.blocks import render_test
from monitor.notify.slack import SlackFailure, SlackNotifier, ThreadStore, WebhookNotifier
from monitor.settings import Settings

NOT_CONFIGURED = ("Slack is not configured: set SLACK_BOT_TOKEN (slack.token) for the Web API, "
                  "or SLACK_WEBHOOK_URL (slack.webhook_url) for an incoming webhook")


def slack_test(settings: Settings, channel: str | None, *, out: TextIO | None = None,
               err: TextIO | None = None, now: datetime | None = None) -> int:
    """Check the token, post the test message; 0 when Slack took it, 1 (with the reason) when not."""
    out, err = out or sys.stdout, err or sys.stderr
    try:
        where = _send(settings, channel, now or datetime.now(UTC))
    except (MonitorError, SlackFailure) as exc:
        print(f"slack test: failed: {_explain(exc, settings)}", file=err)
        return 1
    print(f"slack test: sent {where}", file=out)
    return 0


def _send(settings: Settings, channel: str | None, now: datetime) -> str:
    if not settings.slack.configured:
        raise MonitorError(NOT_CONFIGURED)
    notifier = SlackNotifier.from_settings(settings.slack, ThreadStore())
    who = notifier.check()
    message = render_test(now, socket.gethostname())
    if isinstance(notifier, WebhookNotifier):
        notifier.post(None, message)
        ignored = f" (--channel {channel} ignored: a webhook posts to its own channel)" if channel else ""
        return f"through the incoming webhook{ignored}"
    target = channel or settings.slack.default_channel
    if not target:
        raise MonitorError("no channel: pass --channel C or set slack.default_channel")
    delivery = notifier.post(target, message)
    return f"to {target} (channel {delivery.channel}, ts {delivery.ref}) as {who}"


def _explain(exc: Exception, settings: Settings) -> str:
    if not isinstance(exc, SlackFailure):
        return str(exc)
    if exc.permanent:
        return exc.reason
    if exc.code == "ratelimited":
        return f"Slack is rate-limiting this app; try again in {exc.retry_after or 1:.0f}s"
    where = f" at {settings.slack.base_url}" if settings.slack.token else ""
    return f"{exc.code}: Slack{where} did not answer in time or failed; try again"
