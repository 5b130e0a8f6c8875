"""Slack delivery: one thread per story over the Web API, or an incoming webhook.

The sender (``monitor.notify.sender``) paces and retries; these notifiers make one attempt
and say, through :class:`SlackFailure`, whether another attempt can help. The calls and
their error mapping live in ``slack_api``, the thread table in ``slack_threads``; their
public names are importable from here too.
"""

from __future__ import annotations

import logging
import random
import time
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


def backoff_s(attempts: int, retry_after: float | None = None, base_s: float = 1.0,
              max_s: float = 300.0) -> float:
    """The sender's retry delay: doubling from ``base_s``, jittered, at least Slack's Retry-After."""
    backoff = min(max_s, base_s * 2 ** min(attempts - 1, 16))
    return max(retry_after or 0.0, backoff * (0.5 + random.random() / 2))


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

        ``store`` is the state directory, a ``postgresql://`` URL (or a ThreadStore); without it,
        thread ids live in memory.
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

    @property
    def request_timeout_s(self) -> float:
        """How long one Web API call may take: a drain with a deadline starts none that could outlast it."""
        return float(self.api.client.timeout or 0)

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

    def _refresh_parent(self, channel: str, alert: Alert, thread: Thread, attempts: int = 0) -> None:
        """Edit the parent to the latest state; a transient failure is retried like a post
        (``retry_edit``, from the sender), the alert itself is delivered either way."""
        parent = render_parent(alert)
        try:
            self.api.call("chat.update", channel=thread.channel_id, ts=thread.ts, text=parent.text,
                          blocks=parent.blocks)
        except SlackFailure as exc:
            if not exc.permanent:
                delay = backoff_s(attempts + 1, exc.retry_after)
                self.threads.defer_edit(channel, alert.model_dump_json(), alert.rule, alert.story,
                                        time.time() + delay, exc.code, attempts + 1)
                log.warning("slack_parent_edit_deferred", extra={"key": alert.key, "reason": exc.code,
                                                                 "retry_in_s": round(delay, 2)})
                return
            if exc.code in ("message_not_found", "cant_update_message"):
                self.threads.forget(channel, alert.rule, alert.story)  # the next alert starts a thread
            self.threads.edit_done(channel, alert.rule, alert.story)
            log.warning("slack_parent_not_updated", extra={"key": alert.key, "reason": exc.code})
            return
        self.threads.edit_done(channel, alert.rule, alert.story)
        self.threads.touch(channel, alert.rule, alert.story)

    def edit_due(self) -> float | None:
        """When the first deferred parent edit is due (epoch seconds), None when none waits."""
        found = self.threads.next_edit()
        return None if found is None else found[3]

    def retry_edit(self) -> None:
        """Make the deferred parent edit due first (the sender calls it, paced like a post)."""
        found = self.threads.next_edit()
        if found is None:
            return
        channel, payload, attempts, _ = found
        alert = Alert.model_validate_json(payload)
        thread = self.threads.get(channel, alert.rule, alert.story)
        if thread is None:  # the thread was forgotten meanwhile: nothing left to edit
            self.threads.edit_done(channel, alert.rule, alert.story)
            return
        self._refresh_parent(channel, alert, thread, attempts)

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
            log.info("slack_duplicate_avoided", extra={"key": alert.key, "slack_ts": found.ref})
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
