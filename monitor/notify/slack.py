"""Slack delivery: one thread per story over the Web API, or an incoming webhook.

The sender (``monitor.notify.sender``) paces and retries; these notifiers make one attempt
and say, through :class:`SlackFailure`, whether another attempt can help.
"""

from __future__ import annotations

import http.client
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse
from slack_sdk.webhook import WebhookClient

from monitor.errors import ConfigError, DeliveryError, MonitorError
from monitor.model import Alert
from monitor.notify.base import Delivery
from monitor.notify.blocks import Message, render, render_parent, render_plain
from monitor.settings import SlackSettings
from monitor.state.store import DB_NAME, connect

log = logging.getLogger("monitor.slack")
# The SDK logs request URLs (a webhook URL is a secret) and every failed attempt; the
# sender logs delivery events once per state change instead.
_SDK_LOG = logging.getLogger("monitor.slack.sdk")
_SDK_LOG.setLevel(logging.CRITICAL)

EVENT_TYPE = "story_monitor_alert"
LOOKBACK = 200  # messages (of the channel, or of the thread from its start) searched after a lost answer
_ID = re.compile(r"^[CGD][A-Z0-9]{8,}$")
_CODE = re.compile(r"^[a-z_]{2,64}$")
TRANSIENT = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable",
                       "request_timeout", "timeout", "connection_error"})
HINTS = {
    "invalid_auth": "Slack rejected the token; check slack.token (SLACK_BOT_TOKEN)",
    "not_authed": "no token was sent; set slack.token (SLACK_BOT_TOKEN)",
    "account_inactive": "the token belongs to a deactivated user or app; reinstall the app",
    "token_revoked": "the token was revoked; reinstall the app and update slack.token",
    "token_expired": "the token expired; update slack.token",
    "invalid_token": "the webhook URL is no longer valid; update slack.webhook_url",
    "no_service": "the webhook URL is disabled or unknown; update slack.webhook_url",
    "channel_not_found": "no such channel, or the bot cannot see it (invite it to private channels)",
    "not_in_channel": "the bot is not a member of the channel; /invite it there",
    "is_archived": "the channel is archived; unarchive it or change notify.slack.channel",
    "channel_is_archived": "the channel is archived; unarchive it or change the webhook",
    "missing_scope": "the Slack app lacks a scope: chat:write, channels:history, channels:read",
    "invalid_blocks": "Slack rejected the message layout",
    "msg_too_long": "the message is longer than Slack accepts",
    "no_channel": "the alert has no channel: set notify.slack.channel in the rule or slack.default_channel",
}


class SlackAuthError(ConfigError):
    """Slack rejected the token (or the webhook is unusable): fix the settings and restart."""


class SlackUnreachable(MonitorError):
    """Slack could not be reached to check the setup; alerts wait in the outbox meanwhile."""


class SlackFailure(DeliveryError):
    """A failed Slack call, with Slack's error ``code`` and whether a retry can help."""

    def __init__(
        self, code: str, *, permanent: bool, retry_after: float | None = None, where: str = ""
    ) -> None:
        hint = HINTS.get(code, "")
        detail = "; ".join(p for p in (hint, where) if p)
        super().__init__(f"{code}: {detail}" if permanent and detail else code,
                         permanent=permanent, retry_after=retry_after)
        self.code = code


def failure(code: str, status: int = 200, retry_after: float | None = None, where: str = "") -> SlackFailure:
    """Classify one Slack answer: 429, 5xx and known transient codes retry; the rest park."""
    if not _CODE.match(code):
        code = f"http_{status}"
    if status == 429 or code == "ratelimited":
        return SlackFailure("ratelimited", permanent=False, retry_after=retry_after or 1.0)
    transient = status >= 500 or code in TRANSIENT
    return SlackFailure(code, permanent=not transient, where=where)


def transport_failure(exc: BaseException) -> SlackFailure:
    """Timeouts, refused or dropped connections: Slack may come back, retry."""
    timed_out = isinstance(exc, TimeoutError) or isinstance(getattr(exc, "reason", None), TimeoutError)
    return SlackFailure("timeout" if timed_out else "connection_error", permanent=False)


_TRANSPORT = (URLError, OSError, http.client.HTTPException)


def _retry_after(headers: Any) -> float | None:
    value = (headers or {}).get("Retry-After") or (headers or {}).get("retry-after")
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def alert_metadata(alert: Alert) -> dict[str, Any]:
    """Slack message metadata that lets us find an alert's message again by its key."""
    return {"event_type": EVENT_TYPE, "event_payload": {
        "key": alert.key, "rule": alert.rule, "story": alert.story, "kind": alert.kind}}


def channel_key(channel: str) -> str:
    """The thread-table name of a channel: ``desk``, ``#desk`` and ``#Desk`` are one; ids are kept."""
    bare = channel.strip().lstrip("#")
    return bare if _ID.match(bare) else "#" + bare.lower()


@dataclass(frozen=True, slots=True)
class Thread:
    """A story's parent message."""

    channel_id: str
    ts: str


class ThreadStore:
    """Slack parent messages per (channel, rule, story), in the ``threads`` table of the state DB."""

    def __init__(self, path: Path | str = ":memory:") -> None:
        self.conn = connect(path)
        self.conn.executescript(resources.files("monitor.state").joinpath("schema.sql").read_text())

    @classmethod
    def at(cls, where: Path | str) -> ThreadStore:
        """The store of a state directory (or of a ``.sqlite`` file)."""
        path = Path(where)
        if path.suffix != ".sqlite":
            path.mkdir(parents=True, exist_ok=True)
            path = path / DB_NAME
        return cls(path)

    def get(self, channel: str, rule: str, story: str) -> Thread | None:
        row = self.conn.execute("SELECT channel_id, ts FROM threads WHERE channel=? AND rule=? AND story=?",
                                (channel, rule, story)).fetchone()
        return Thread(str(row[0]), str(row[1])) if row and row[0] else None

    def put(self, channel: str, rule: str, story: str, thread: Thread) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO threads (channel, rule, story, ts, channel_id, updated)"
            " VALUES (?,?,?,?,?,?)",
            (channel, rule, story, thread.ts, thread.channel_id, time.time()))

    def touch(self, channel: str, rule: str, story: str) -> None:
        self.conn.execute("UPDATE threads SET updated=? WHERE channel=? AND rule=? AND story=?",
                          (time.time(), channel, rule, story))

    def forget(self, channel: str, rule: str, story: str) -> None:
        self.conn.execute("DELETE FROM threads WHERE channel=? AND rule=? AND story=?",
                          (channel, rule, story))

    def channel_id(self, channel: str) -> str | None:
        row = self.conn.execute("SELECT channel_id FROM threads WHERE channel=? AND channel_id IS NOT NULL"
                                " LIMIT 1", (channel,)).fetchone()
        return str(row[0]) if row else None

    def close(self) -> None:
        self.conn.close()


def web_client(settings: SlackSettings) -> WebClient:
    """The Web API client: no SDK retries (the sender retries), a quiet logger."""
    token = settings.token.get_secret_value() if settings.token else None
    return WebClient(token=token, base_url=settings.base_url, timeout=settings.timeout_s,  # type: ignore[arg-type]
                     retry_handlers=[], logger=_SDK_LOG)


class SlackApi:
    """One Web API call at a time, with every failure turned into a :class:`SlackFailure`."""

    def __init__(self, client: WebClient) -> None:
        self.client = client

    def call(self, method: str, where: str = "", **kwargs: Any) -> SlackResponse:
        fn: Callable[..., SlackResponse] = getattr(self.client, method.replace(".", "_"))
        try:
            return fn(**kwargs)
        except SlackApiError as exc:
            resp = exc.response
            code = str(resp.get("error") or "") if isinstance(resp.data, dict) else ""
            raise failure(code, resp.status_code, _retry_after(resp.headers), where or method) from None
        except _TRANSPORT as exc:
            raise transport_failure(exc) from None

    def find_key(self, method: str, channel_id: str, key: str, **kwargs: Any) -> str | None:
        """The ts of our message carrying ``key`` among the latest messages, if any."""
        resp = self.call(method, channel=channel_id, include_all_metadata=True, limit=LOOKBACK, **kwargs)
        for msg in resp.get("messages") or ():
            meta = msg.get("metadata") or {}
            if meta.get("event_type") == EVENT_TYPE and (meta.get("event_payload") or {}).get("key") == key:
                return str(msg["ts"])
        return None

    def channel_id(self, name: str) -> str | None:
        """Resolve a channel name to its id (history and edits take ids only)."""
        bare = name.lstrip("#").lower()
        cursor = None
        while True:
            resp = self.call("conversations.list", types="public_channel,private_channel",
                             exclude_archived=True, limit=1000, cursor=cursor)
            for chan in resp.get("channels") or ():
                if str(chan.get("name", "")).lower() == bare:
                    return str(chan["id"])
            cursor = (resp.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None


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
        if _ID.match(channel):
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
        url = settings.webhook_url.get_secret_value() if settings.webhook_url else ""
        return cls(WebhookClient(url, timeout=settings.timeout_s, logger=_SDK_LOG,  # type: ignore[arg-type]
                                 retry_handlers=[]))

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
        try:
            resp = self.client.send(text=message.text, blocks=message.blocks or None,
                                    unfurl_links=False, unfurl_media=False)
        except _TRANSPORT as exc:
            raise transport_failure(exc) from None
        if resp.status_code == 200:
            return Delivery()
        code = str(resp.body or "").strip()
        raise failure(code, resp.status_code, _retry_after(resp.headers), "incoming webhook")
