"""The Slack calls under the notifiers, and what their failures mean for delivery.

Every failed call becomes a :class:`SlackFailure` that says whether a retry can help
(``permanent``), how long to wait (``retry_after``) and whether Slack may have acted on
the request anyway (``maybe_delivered``, so the next attempt looks for the message first).
"""

from __future__ import annotations

import http.client
import logging
import re
from collections.abc import Callable
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse
from slack_sdk.webhook import WebhookClient

from monitor.errors import DeliveryError
from monitor.model import Alert
from monitor.settings import SlackSettings

# The SDK logs request URLs (a webhook URL is a secret) and every failed attempt; the
# sender logs delivery events once per state change instead.
_SDK_LOG = logging.getLogger("monitor.slack.sdk")
_SDK_LOG.setLevel(logging.CRITICAL)

EVENT_TYPE = "story_monitor_alert"
LOOKBACK = 200  # messages (of the channel, or of the thread from its start) searched after a lost answer
_CODE = re.compile(r"^[a-z_]{2,64}$")
TRANSIENT = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable",
                       "request_timeout", "timeout", "connection_error"})
# Error answers after which the message may exist all the same. Slack documents both codes
# as "it's possible some aspect of the operation succeeded before the error was raised";
# a 5xx other than 503 may come from a gateway that had already passed the request on.
# 429, 503 (service_unavailable) and request_timeout (the body never arrived) refuse it unread.
MAYBE_DONE = frozenset({"internal_error", "fatal_error"})
NOT_DONE = frozenset({"ratelimited", "service_unavailable", "request_timeout"})
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


class SlackFailure(DeliveryError):
    """A failed Slack call, with Slack's error ``code`` and whether a retry can help."""

    def __init__(
        self, code: str, *, permanent: bool, retry_after: float | None = None, where: str = "",
        maybe_delivered: bool = False,
    ) -> None:
        hint = HINTS.get(code, "")
        detail = "; ".join(p for p in (hint, where) if p)
        super().__init__(f"{code}: {detail}" if permanent and detail else code,
                         permanent=permanent, retry_after=retry_after, maybe_delivered=maybe_delivered)
        self.code = code


def failure(code: str, status: int = 200, retry_after: float | None = None, where: str = "") -> SlackFailure:
    """Classify one Slack answer: 429, 5xx and known transient codes retry; the rest park."""
    if not _CODE.match(code):
        code = f"http_{status}"
    if status == 429 or code == "ratelimited":
        return SlackFailure("ratelimited", permanent=False, retry_after=retry_after or 1.0)
    transient = status >= 500 or code in TRANSIENT
    return SlackFailure(code, permanent=not transient, where=where, maybe_delivered=_maybe_done(code, status))


def _maybe_done(code: str, status: int) -> bool:
    """Whether Slack may have acted on a request it answered with an error."""
    if status == 503 or code in NOT_DONE:
        return False
    return status >= 500 or code in MAYBE_DONE


def transport_failure(exc: BaseException) -> SlackFailure:
    """Timeouts, refused or dropped connections: Slack may come back, retry.

    urllib wraps in URLError what fails before the whole request is sent (DNS, connect, TLS,
    send): Slack cannot have acted on it. Anything else (a read timeout, RemoteDisconnected,
    a reset while waiting for the answer) came after Slack had the request: it may be posted.
    """
    timed_out = isinstance(exc, TimeoutError) or isinstance(getattr(exc, "reason", None), TimeoutError)
    return SlackFailure("timeout" if timed_out else "connection_error", permanent=False,
                        maybe_delivered=not isinstance(exc, URLError))


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


def web_client(settings: SlackSettings) -> WebClient:
    """The Web API client: no SDK retries (the sender retries), a quiet logger."""
    token = settings.token.get_secret_value() if settings.token else None
    return WebClient(token=token, base_url=settings.base_url, timeout=settings.timeout_s,  # type: ignore[arg-type]
                     retry_handlers=[], logger=_SDK_LOG)


def webhook_client(settings: SlackSettings) -> WebhookClient:
    """The incoming-webhook client: no SDK retries, a quiet logger (the URL is a secret)."""
    url = settings.webhook_url.get_secret_value() if settings.webhook_url else ""
    return WebhookClient(url, timeout=settings.timeout_s, logger=_SDK_LOG,  # type: ignore[arg-type]
                         retry_handlers=[])


def post_webhook(client: WebhookClient, **kwargs: Any) -> None:
    """One webhook call, with every failure turned into a :class:`SlackFailure`."""
    try:
        resp = client.send(**kwargs)
    except _TRANSPORT as exc:
        raise transport_failure(exc) from None
    if resp.status_code != 200:
        code = str(resp.body or "").strip()
        raise failure(code, resp.status_code, _retry_after(resp.headers), "incoming webhook")


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
