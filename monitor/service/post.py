"""Operator messages (rule errors, the daily digest): posted off the loop thread, never blocking it."""

from __future__ import annotations

import logging
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol, TextIO

from monitor.settings import SlackSettings

log = logging.getLogger("monitor.service.post")


class Messenger(Protocol):
    """Puts one plain-text message in a channel, or raises."""

    name: str

    def post(self, channel: str, text: str) -> None: ...


class WebApiMessenger:
    """Posts with ``chat.postMessage`` through the real slack-sdk client handed in."""

    name = "slack"

    def __init__(self, client: Any) -> None:
        self.client = client  # slack_sdk.WebClient

    def post(self, channel: str, text: str) -> None:
        self.client.chat_postMessage(channel=channel, text=text, unfurl_links=False)


class WebhookMessenger:
    """Posts through an incoming webhook: the webhook's own channel, whatever is asked."""

    name = "webhook"

    def __init__(self, client: Any) -> None:
        self.client = client  # slack_sdk.webhook.WebhookClient

    def post(self, channel: str, text: str) -> None:
        response = self.client.send(text=text)
        if response.status_code != 200:
            raise RuntimeError(f"webhook answered {response.status_code}")


class ConsoleMessenger:
    """Prints the message: the daemon without Slack credentials."""

    name = "console"

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout

    def post(self, channel: str, text: str) -> None:
        print(f"[{channel}]\n{text}\n", file=self.out, flush=True)


def messenger_for(slack: SlackSettings) -> Messenger:
    """The Web API with a bot token, else the webhook, else the console."""
    if slack.token is not None:
        from slack_sdk import WebClient
        from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

        client = WebClient(token=slack.token.get_secret_value(), base_url=slack.base_url,
                           timeout=int(slack.timeout_s))
        client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
        return WebApiMessenger(client)
    if slack.webhook_url is not None:
        from slack_sdk.webhook import WebhookClient

        hook = WebhookClient(slack.webhook_url.get_secret_value(), timeout=int(slack.timeout_s))
        return WebhookMessenger(hook)
    return ConsoleMessenger()


class Poster:
    """Hands messages to one worker thread so a slow Slack never stalls the main loop."""

    def __init__(self, messenger: Messenger) -> None:
        self.messenger = messenger
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="operator-post")

    def post(self, channel: str, text: str, *, what: str) -> Future[bool]:
        """Queue one message; the future says whether it was delivered."""
        return self._pool.submit(self._send, channel, text, what)

    def _send(self, channel: str, text: str, what: str) -> bool:
        try:
            self.messenger.post(channel, text)
        except Exception as exc:  # any failure of the messenger: logged, never raised into the loop
            log.error("operator_post_failed", extra={"what": what, "channel": channel,
                                                     "error": type(exc).__name__, "detail": str(exc)[:200]})
            return False
        log.info("operator_posted", extra={"what": what, "channel": channel, "via": self.messenger.name})
        return True

    def start(self) -> None:
        return None

    def stop(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)
