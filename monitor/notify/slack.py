"""Slack delivery: one thread per story over the Web API, or an incoming webhook.

The sender (``monitor.notify.sender``) paces and retries; these notifiers make one attempt
and say, through :class:`SlackFailure`, whether another attempt can help. The calls and
their error mapping live in ``slack_api``, the thread table in ``slack_threads``; their
public names are importable from here too.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient

from monitor.errors import ConfigError, MonitorError
from monitor.model import Alert
from monitor.notify.base import Delivery
from monitor.notify.blocks import Message, render, render_parent, render_plain
from monitor.notify.slack_api import (
    EVENT_TYPE,
    HINTS,
    LOOKBACK,
    TRANSIENT,
    SlackApi,
    SlackFailure,
    alert_metadata,
    failure,
    post_webhook,
    transport_failure,
    web_client,
    webhook_client,
)
from monitor.notify.slack_threads import Thread, ThreadStore, channel_key, is_channel_id
from monitor.settings import SlackSettings

__all__ = [
    "EVENT_TYPE", "HINTS", "LOOKBACK", "TRANSIENT", "SlackApi", "SlackAuthError", "SlackFailure",
    "SlackNotifier", "SlackUnreachable", "Thread", "ThreadStore", "WebhookNotifier", "alert_metadata",
    "channel_key", "failure", "transport_failure", "web_client",
]

log = logging.getLogger("monitor.slack")


class SlackAuthError(ConfigError):
    """Slack rejected the token (or the webhook is unusable): fix the settings and restart."""


class SlackUnreachable(MonitorError):
    """Slack could not be reached to check the setup; alerts wait in the outbox meanwhile."""


class SlackNotifier:
    """Posts alerts with the Web API: one thread per story, its parent kept at the latest state."""

    name = "slack"

    def __init__(self, client: WebClient, threads: ThreadStore | None = None,
                 default_channel: str | None = None) -> None:
        self.api = SlackApi(client)
        self.threads = threads or ThreadStore()
        self.default_channel = default_channel
        self._ids: dict[str, str] = {}

    @classmethod
    def from_settings(
        cls, settings: SlackSettings, store: Path | str | ThreadStore | None = None
    ) -> SlackNotifier | WebhookNotifier:
        """The notifier the settings ask for: the Web API with a token, else the incoming webhook.

        ``store`` is the state directory (or a ThreadStore); without it, thread ids live in memory.
        """
        if settings.token is None:
            if settings.webhook_url is None:
                raise ConfigError("slack: set slack.token (SLACK_BOT_TOKEN) or slack.webhook_url")
            return WebhookNotifier.from_settings(settings)
        if store is None:
            log.warning("slack_threads_in_memory", extra={"hint": "pass the state dir to keep threads"})
            return cls(web_client(settings), None, settings.default_channel)
        threads = store if isinstance(store, ThreadStore) else ThreadStore.at(store)
        return cls(web_client(settings), threads, settings.default_channel)

    def check(self) -> str:
        """``auth.test``: SlackAuthError for a bad token, SlackUnreachable when Slack does not answer."""
        try:
            resp = self.api.call("auth.test")
        except SlackFailure as exc:
            if exc.permanent:
                raise SlackAuthError(f"slack: {exc.reason}") from None
            url = self.api.client.base_url
            raise SlackUnreachable(f"slack: cannot check the token at {url}: {exc.code}") from None
        return f"{resp.get('user')} in {resp.get('team')}"

    def send(self, alert: Alert, *, maybe_sent: bool = False) -> Delivery:
        channel = alert.channel or self.default_channel
        if not channel:
            raise SlackFailure("no_channel", permanent=True, where=alert.rule)
        channel = channel_key(channel)
        thread = self.threads.get(channel, alert.rule, alert.story)
        if maybe_sent:
            found = self._already_posted(channel, alert, thread)
            if found is not None:
                return found
        if thread is None:
            delivery = self._post_alert(channel, alert, None)
            self._remember(channel, alert, delivery)
            return delivery
        delivery = self._post_alert(thread.channel_id, alert, thread.ts)
        self._refresh_parent(channel, alert, thread)
        return delivery

    def post(self, channel: str, message: Message, metadata: dict[str, Any] | None = None,
             thread_ts: str | None = None) -> Delivery:
        """One ``chat.postMessage``; links are not unfurled (an alert carries many)."""
        resp = self.api.call(
            "chat.postMessage", f"chat.postMessage to {channel}", channel=channel, text=message.text,
            blocks=message.blocks or None, metadata=metadata, thread_ts=thread_ts,
            unfurl_links=False, unfurl_media=False)
        return Delivery(str(resp["ts"]), str(resp["channel"]))

    def _post_alert(self, channel: str, alert: Alert, thread_ts: str | None) -> Delivery:
        metadata = alert_metadata(alert)
        try:
            return self.post(channel, render(alert), metadata, thread_ts)
        except SlackFailure as exc:
            if exc.code != "invalid_blocks":
                raise
            log.warning("slack_blocks_rejected", extra={"key": alert.key, "fallback": "plain_text"})
            return self.post(channel, render_plain(alert), metadata, thread_ts)

    def _remember(self, channel: str, alert: Alert, delivery: Delivery) -> None:
        if delivery.ref and delivery.channel:
            self.threads.put(channel, alert.rule, alert.story, Thread(delivery.channel, delivery.ref))
            self._ids[channel] = delivery.channel

    def _refresh_parent(self, channel: str, alert: Alert, thread: Thread) -> None:
        """Edit the parent to the latest state; a failure leaves it stale, the alert is delivered."""
        parent = render_parent(alert)
        try:
            self.api.call("chat.update", channel=thread.channel_id, ts=thread.ts, text=parent.text,
                          blocks=parent.blocks)
        except SlackFailure as exc:
            if exc.code in ("message_not_found", "cant_update_message"):
                self.threads.forget(channel, alert.rule, alert.story)  # the next alert starts a thread
            log.warning("slack_parent_not_updated", extra={"key": alert.key, "reason": exc.code})
            return
        self.threads.touch(channel, alert.rule, alert.story)

    def _already_posted(self, channel: str, alert: Alert, thread: Thread | None) -> Delivery | None:
        """After a lost answer: the message carrying the alert key, when an earlier attempt posted it."""
        try:
            found = self._find(channel, alert, thread)
        except SlackFailure as exc:
            if not exc.permanent:
                raise
            log.warning("slack_duplicate_check_failed", extra={"key": alert.key, "reason": exc.code})
            return None
        if found is not None:
            log.info("slack_duplicate_avoided", extra={"key": alert.key, "ts": found.ref})
        return found

    def _find(self, channel: str, alert: Alert, thread: Thread | None) -> Delivery | None:
        if thread is not None:
            ts = self.api.find_key("conversations.replies", thread.channel_id, alert.key, ts=thread.ts)
            if ts is not None:
                self._refresh_parent(channel, alert, thread)
                return Delivery(ts, thread.channel_id)
        cid = thread.channel_id if thread is not None else self._channel_id(channel)
        ts = None if cid is None else self.api.find_key("conversations.history", cid, alert.key)
        if ts is None or cid is None:
            return None
        delivery = Delivery(ts, cid)
        if thread is None:
            self._remember(channel, alert, delivery)
        return delivery

    def _channel_id(self, channel: str) -> str | None:
        if is_channel_id(channel):
            return channel
        cid = self._ids.get(channel) or self.threads.channel_id(channel) or self.api.channel_id(channel)
        if cid is not None:
            self._ids[channel] = cid
        return cid


class WebhookNotifier:
    """Posts alerts through an incoming webhook: one fixed channel, no threads, no edits."""

    name = "slack-webhook"

    def __init__(self, client: WebhookClient) -> None:
        self.client = client

    @classmethod
    def from_settings(cls, settings: SlackSettings) -> WebhookNotifier:
        return cls(webhook_client(settings))

    def check(self) -> str:
        """A webhook cannot be tested without posting: only its form is checked (never printed)."""
        if not self.client.url.startswith(("https://", "http://")):
            raise SlackAuthError("slack: slack.webhook_url must be an http(s) URL")
        return "incoming webhook"

    def send(self, alert: Alert, *, maybe_sent: bool = False) -> Delivery:
        if maybe_sent:  # a webhook can neither read history nor carry metadata
            log.info("slack_webhook_may_repeat", extra={"key": alert.key})
        try:
            return self.post(None, render(alert))
        except SlackFailure as exc:
            if exc.code != "invalid_blocks":
                raise
            log.warning("slack_blocks_rejected", extra={"key": alert.key, "fallback": "plain_text"})
            return self.post(None, render_plain(alert))

    def post(self, channel: str | None, message: Message) -> Delivery:
        """One webhook call; ``channel`` is ignored (the webhook's own channel is used)."""
        post_webhook(self.client, text=message.text, blocks=message.blocks or None,
                     unfurl_links=False, unfurl_media=False)
        return Delivery()
