"""A local fake of the Slack Web API and of incoming webhooks, over real HTTP.

Standard library only. Tests point the *real* slack-sdk at it::

    with FakeSlack() as fake:
        client = WebClient(token="xoxb-test", base_url=fake.base_url, retry_handlers=[])
        client.chat_postMessage(channel="#desk", text="hello")
        assert fake.messages_in("#desk")[0]["text"] == "hello"

        hook = WebhookClient(url=fake.webhook_url)
        hook.send(text="hi")

Benchmarks can run it as a process: ``python tests/fakeslack.py --port 8765`` prints
``FAKE_SLACK=http://127.0.0.1:8765/api/`` (and ``FAKE_SLACK_WEBHOOK=...``), then serves
until SIGINT/SIGTERM. ``GET /_fake/messages`` and ``GET /_fake/requests`` return what it
recorded, as JSON.

Fidelity notes (things real Slack does that the fake enforces too):
- ``chat.postMessage`` takes a channel name ("#desk" or "desk") or an id; ``chat.update``,
  ``chat.getPermalink`` and the ``conversations.*`` methods take ids only (a name answers
  ``channel_not_found``, with a ``fake_hint`` field saying why). Pass ``strict_ids=False``
  to relax that. Channel ids are stable: ``fake.channel_id("#desk")``.
- ``Retry-After`` is an integer number of seconds (slack-sdk parses it with ``int()``).
- Block Kit: at most 50 blocks, section text <= 3000 chars, fields <= 10 x 2000 chars,
  header text <= 150 chars; otherwise ``invalid_blocks``. ``metadata`` must be
  ``{"event_type": str, "event_payload": dict}``; otherwise ``invalid_metadata_format``.
- Messages posted by the webhook cannot be edited with ``chat.update``
  (``cant_update_message``).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import email.parser
import email.policy
import hashlib
import json
import math
import re
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["DEFAULT_TOKEN", "FakeSlack", "Fault", "RateLimit", "main"]

DEFAULT_TOKEN = "xoxb-test"
WEBHOOK_METHOD = "webhook"  # the name faults, rate limits and fake.requests use for webhooks

_ID_RE = re.compile(r"^[CGD][A-Z0-9]{8,}$")
_JSON_FIELDS = ("blocks", "attachments", "metadata")
_BOOL_FIELDS = (
    "unfurl_links",
    "unfurl_media",
    "reply_broadcast",
    "mrkdwn",
    "as_user",
    "link_names",
    "include_all_metadata",
    "inclusive",
    "exclude_archived",
)
_DEFAULT_STATUS_ERRORS = {
    429: "ratelimited",
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}
_WEBHOOK_ERROR_STATUS = {
    "invalid_payload": 400,
    "no_text": 400,
    "invalid_token": 403,
    "action_prohibited": 403,
    "posting_to_general_channel_denied": 403,
    "no_service": 404,
    "channel_not_found": 404,
    "user_not_found": 404,
    "team_disabled": 404,
    "channel_is_archived": 410,
}
_STORING_METHODS = ("chat.postMessage", WEBHOOK_METHOD)


class _SlackError(Exception):
    """An ``ok: false`` answer (HTTP 200 unless ``status`` says otherwise)."""

    def __init__(self, error: str, status: int = 200, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.extra = extra


@dataclass
class Fault:
    """One programmed fault, returned by :meth:`FakeSlack.fail_next`.

    ``remaining`` counts down as requests hit it; ``hits`` counts up.
    """

    remaining: int
    status: int | None = None
    error: str | None = None
    retry_after: int | None = None
    delay: float = 0.0
    methods: frozenset[str] | None = None
    channels: frozenset[str] | None = None
    drop: bool = False
    hang: float = 0.0
    hits: int = 0

    def matches(self, method: str, channel_keys: set[str]) -> bool:
        if self.remaining <= 0:
            return False
        if self.methods is not None and method not in self.methods:
            return False
        return self.channels is None or bool(self.channels & channel_keys)


@dataclass
class RateLimit:
    """Rate-limit mode, returned by :meth:`FakeSlack.rate_limit`; also a context manager
    that switches the mode off on exit."""

    fake: FakeSlack
    per_second: float
    retry_after: int | None
    methods: frozenset[str] | None
    window: float = field(init=False)
    capacity: int = field(init=False)
    seen: dict[tuple[str, str], deque[float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.window = 1.0 if self.per_second >= 1 else 1.0 / self.per_second
        self.capacity = max(1, round(self.per_second * self.window))

    def __enter__(self) -> RateLimit:
        return self

    def __exit__(self, *exc: object) -> None:
        self.fake.rate_limit(None)


def _norm_channel(value: str) -> str:
    """Normalise "#Desk" to "desk"; ids ("C0123ABCD") are kept as they are."""
    key = value.strip().lstrip("#")
    return key if _ID_RE.match(key) else key.lower()


def _ts_to_us(value: Any) -> int:
    """Slack ts ("1700000000.000100") to integer microseconds; ValueError when invalid."""
    try:
        dec = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValueError(value) from exc
    if not dec.is_finite() or dec < 0:
        raise ValueError(value)
    return int(dec * 1_000_000)


def _us_to_ts(us: int) -> str:
    return f"{us // 1_000_000}.{us % 1_000_000:06d}"


def _as_bool(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    return None


def _block_problems(blocks: Any) -> list[str]:
    """A light Block Kit check: the limits that real alerts run into."""
    if not isinstance(blocks, list):
        return ["[ERROR] blocks must be an array [json-pointer:/blocks]"]
    problems: list[str] = []
    if len(blocks) > 50:
        problems.append("[ERROR] no more than 50 items allowed [json-pointer:/blocks]")
    block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        where = f"/blocks/{i}"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            problems.append(f"[ERROR] missing required field: type [json-pointer:{where}]")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if len(str(block_id)) > 255:
                problems.append(f"[ERROR] must be less than 256 characters [json-pointer:{where}]")
            if block_id in block_ids:
                problems.append(f"[ERROR] duplicate block_id [json-pointer:{where}/block_id]")
            block_ids.add(block_id)
        kind = block["type"]
        text = block.get("text")
        text_value = text.get("text") if isinstance(text, dict) else None
        if kind == "section":
            fields = block.get("fields")
            if text_value is None and not fields:
                problems.append(f"[ERROR] must provide text or fields [json-pointer:{where}]")
            if isinstance(text_value, str) and len(text_value) > 3000:
                problems.append(
                    f"[ERROR] must be less than 3001 characters [json-pointer:{where}/text/text]"
                )
            if fields is not None:
                if not isinstance(fields, list) or len(fields) > 10:
                    problems.append(
                        f"[ERROR] no more than 10 items allowed [json-pointer:{where}/fields]"
                    )
                else:
                    for j, fld in enumerate(fields):
                        value = fld.get("text", "") if isinstance(fld, dict) else ""
                        if len(str(value)) > 2000:
                            problems.append(
                                "[ERROR] must be less than 2001 characters "
                                f"[json-pointer:{where}/fields/{j}/text]"
                            )
        elif kind == "header":
            if not isinstance(text_value, str) or len(text_value) > 150:
                problems.append(
                    f"[ERROR] must be less than 151 characters [json-pointer:{where}/text/text]"
                )
        elif kind == "context":
            elements = block.get("elements")
            if not isinstance(elements, list) or not 1 <= len(elements) <= 10:
                problems.append(
                    f"[ERROR] must have 1 to 10 items [json-pointer:{where}/elements]"
                )
    return problems


def _metadata_ok(metadata: Any) -> bool:
    return (
        isinstance(metadata, dict)
        and isinstance(metadata.get("event_type"), str)
        and bool(metadata["event_type"])
        and isinstance(metadata.get("event_payload"), dict)
    )


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128
    fake: FakeSlack


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "FakeSlack/1.0"
    protocol_version = "HTTP/1.0"

    def do_POST(self) -> None:
        self.server.fake._handle(self)

    do_GET = do_POST

    def log_message(self, format: str, *args: Any) -> None:
        return


class FakeSlack:
    """Fake Slack Web API + incoming webhook server on 127.0.0.1 (see module docstring)."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tokens: Iterable[str] = (DEFAULT_TOKEN,),
        channels: Iterable[str] | None = None,
        missing_channels: Iterable[str] = (),
        archived_channels: Iterable[str] = (),
        webhook_channel: str = "#webhook",
        strict_ids: bool = True,
        ts_start: str | float | None = None,
        team_id: str = "T000",
        bot_user_id: str = "U0000BOT",
        bot_id: str = "B0000BOT",
        app_id: str = "A0000APP",
        autostart: bool = True,
    ) -> None:
        self.valid_tokens: set[str] = set(tokens)
        self.missing_channels: set[str] = {_norm_channel(c) for c in missing_channels}
        self.archived_channels: set[str] = {_norm_channel(c) for c in archived_channels}
        self.strict_ids = strict_ids
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id

        self._cond = threading.Condition(threading.RLock())
        self._closing = threading.Event()
        self._messages: list[dict[str, Any]] = []
        self._updates: list[dict[str, Any]] = []
        self._requests: list[dict[str, Any]] = []
        self._index: dict[tuple[str, str], dict[str, Any]] = {}
        self._replies: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._faults: list[Fault] = []
        self._rate: RateLimit | None = None
        self._down_status: int | None = None
        self._channels_by_id: dict[str, dict[str, Any]] = {}
        self._ids_by_name: dict[str, str] = {}
        self._accept_any_channel = channels is None
        for name in channels or ():
            self._ensure_channel(_norm_channel(name))
        self._last_ts_us = 0
        self._ts_step_us: int | None = None
        if ts_start is not None:
            self._last_ts_us = _ts_to_us(ts_start) - 100
            self._ts_step_us = 100

        self._server = _Server((host, port), _Handler)
        self._server.fake = self
        self.host: str = str(self._server.server_address[0])
        self.port: int = int(self._server.server_address[1])
        self.url = f"http://{self.host}:{self.port}/"
        self.base_url = f"{self.url}api/"
        self._webhooks: dict[str, str] = {}
        self.webhook_url = self.add_webhook(webhook_channel, path="/services/T000/B000/XXXX")
        self._thread: threading.Thread | None = None
        if autostart:
            self.start()

    # ----------------------------------------------------------------- lifecycle
    def start(self) -> FakeSlack:
        with self._cond:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._server.serve_forever,
                    kwargs={"poll_interval": 0.05},
                    name=f"fakeslack-{self.port}",
                    daemon=True,
                )
                self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving; wakes handlers sleeping in delay/hang faults (they answer nothing)."""
        self._closing.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def reset(self) -> None:
        """Forget messages, updates, requests, faults, rate limit and outage."""
        with self._cond:
            self._messages.clear()
            self._updates.clear()
            self._requests.clear()
            self._index.clear()
            self._replies.clear()
            self._faults.clear()
            self._rate = None
            self._down_status = None

    # ----------------------------------------------------------------- channels
    def channel_id(self, channel: str) -> str:
        """The stable id the fake gives a channel name ("#desk" or "desk"); ids pass through."""
        key = _norm_channel(channel)
        with self._cond:
            if key in self._channels_by_id:
                return key
            if key in self._ids_by_name:
                return self._ids_by_name[key]
        if _ID_RE.match(key):
            return key
        return "C" + hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()[:10].upper()

    def add_channel(self, name: str) -> str:
        """Make a channel known (needed when ``channels=`` restricts them); returns its id."""
        with self._cond:
            return str(self._ensure_channel(_norm_channel(name))["id"])

    def add_webhook(self, channel: str, *, path: str | None = None) -> str:
        """A new incoming-webhook URL that posts into ``channel``."""
        with self._cond:
            if path is None:
                path = f"/services/{self.team_id}/B000/HOOK{len(self._webhooks):04d}"
            self._webhooks[path] = channel
        return f"http://{self.host}:{self.port}{path}"

    def _ensure_channel(self, key: str) -> dict[str, Any]:
        cid = self.channel_id(key)
        chan = self._channels_by_id.get(cid)
        if chan is None:
            name = key.lower() if cid == key else key
            chan = {"id": cid, "name": name, "created": int(time.time())}
            self._channels_by_id[cid] = chan
            self._ids_by_name[name] = cid
        return chan

    def _channel_keys(self, raw: Any) -> set[str]:
        if not isinstance(raw, str) or not raw.strip():
            return set()
        key = _norm_channel(raw)
        keys = {key, self.channel_id(key)}
        chan = self._channels_by_id.get(self.channel_id(key))
        if chan is not None:
            keys.add(chan["name"])
        return keys

    def _resolve(self, raw: Any, *, allow_name: bool, method: str) -> dict[str, Any]:
        """Channel argument -> channel record, or raise channel_not_found / is_archived."""
        if not isinstance(raw, str) or not raw.strip():
            raise _SlackError("channel_not_found")
        key = _norm_channel(raw)
        is_id = _ID_RE.match(key) is not None
        if not is_id and not allow_name and self.strict_ids:
            raise _SlackError(
                "channel_not_found",
                fake_hint=f"{method} needs a channel id, not the name {raw!r}; "
                "use the id chat.postMessage returned (fake.channel_id(name))",
            )
        if self._channel_keys(key) & self.missing_channels:
            raise _SlackError("channel_not_found")
        known = key in self._channels_by_id or key in self._ids_by_name
        if not known and not self._accept_any_channel:
            raise _SlackError("channel_not_found")
        return self._ensure_channel(key)

    def _is_archived(self, chan: dict[str, Any]) -> bool:
        return bool({chan["id"], chan["name"]} & self.archived_channels)

    # ----------------------------------------------------------------- records
    @property
    def messages(self) -> list[dict[str, Any]]:
        """Every stored message (API and webhook), in arrival order (a snapshot list)."""
        with self._cond:
            return list(self._messages)

    @property
    def updates(self) -> list[dict[str, Any]]:
        with self._cond:
            return list(self._updates)

    @property
    def requests(self) -> list[dict[str, Any]]:
        with self._cond:
            return list(self._requests)

    @property
    def faults(self) -> list[Fault]:
        """Programmed faults not used up yet."""
        with self._cond:
            return [f for f in self._faults if f.remaining > 0]

    def requests_for(self, method: str) -> list[dict[str, Any]]:
        with self._cond:
            return [r for r in self._requests if r["method"] == method]

    def messages_in(self, channel: str) -> list[dict[str, Any]]:
        """Messages (top-level and replies) in a channel given by name or id, oldest first."""
        cid = self.channel_id(channel)
        with self._cond:
            return [m for m in self._messages if m["channel"] == cid]

    def thread(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """The parent message (when known) followed by its replies, oldest first."""
        cid = self.channel_id(channel)
        with self._cond:
            parent = self._index.get((cid, ts))
            if parent is not None and parent["thread_ts"]:
                ts = parent["thread_ts"]
                parent = self._index.get((cid, ts))
            replies = list(self._replies.get((cid, ts), ()))
        return ([parent] if parent is not None else []) + replies

    def wait_for(
        self,
        what: int | Callable[[list[dict[str, Any]]], Any] = 1,
        timeout: float = 5.0,
        *,
        channel: str | None = None,
    ) -> list[dict[str, Any]]:
        """Block until at least ``what`` messages arrived (or ``what(messages)`` is truthy).

        ``channel`` narrows the messages counted / passed to the predicate. Returns the
        messages; raises TimeoutError with what was seen on timeout.
        """
        cid = self.channel_id(channel) if channel is not None else None

        def current() -> list[dict[str, Any]]:
            return [m for m in self._messages if cid is None or m["channel"] == cid]

        def done(msgs: list[dict[str, Any]]) -> bool:
            return len(msgs) >= what if isinstance(what, int) else bool(what(msgs))

        return self._wait(current, done, timeout, "messages")

    def wait_for_requests(
        self, count: int = 1, timeout: float = 5.0, *, method: str | None = None
    ) -> list[dict[str, Any]]:
        """Block until ``count`` requests (optionally of one method) were answered."""

        def current() -> list[dict[str, Any]]:
            return [
                r
                for r in self._requests
                if r["finished"] and (method is None or r["method"] == method)
            ]

        return self._wait(current, lambda rs: len(rs) >= count, timeout, "requests")

    def _wait(
        self,
        current: Callable[[], list[dict[str, Any]]],
        done: Callable[[list[dict[str, Any]]], bool],
        timeout: float,
        what: str,
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                items = current()
                if done(items):
                    return items
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"fake slack: condition not met after {timeout}s; "
                        f"{len(items)} {what}: {items[-3:]!r}"
                    )
                self._cond.wait(left)

    # ----------------------------------------------------------------- faults
    def fail_next(
        self,
        n: int = 1,
        *,
        status: int | None = None,
        error: str | None = None,
        retry_after: float | None = None,
        delay: float = 0.0,
        method: str | Iterable[str] | None = None,
        channel: str | Iterable[str] | None = None,
    ) -> Fault:
        """Make the next ``n`` matching requests fail.

        - ``status=429``: HTTP 429, ``Retry-After: <retry_after or 1>``,
          body ``{"ok": false, "error": "ratelimited"}``.
        - ``status=500`` (any non-200): that status, JSON ``ok: false`` body
          (error ``error`` or a default such as ``internal_error``).
        - ``error="invalid_auth"`` alone: HTTP 200 with ``{"ok": false, "error": ...}``.
        - ``delay=5.0``: sleep first (to trigger client timeouts); with no status/error the
          request is then processed normally (a message IS stored after the delay, like a
          slow Slack), unless the fake is closed meanwhile.
        - ``method`` ("chat.postMessage", "webhook", ... or several) and ``channel``
          (name or id) restrict which requests the fault hits; default: any.
        Faults are used in the order programmed. Returns the :class:`Fault` handle.
        """
        if status is None and error is None and not delay:
            status = 500
        retry = None
        if retry_after is not None or status == 429:
            retry = max(0, math.ceil(1 if retry_after is None else retry_after))
        return self._add_fault(
            Fault(
                remaining=n,
                status=status,
                error=error,
                retry_after=retry,
                delay=float(delay),
                methods=self._as_set(method),
                channels=self._as_set(channel, _norm_channel),
            )
        )

    def drop_response_after_store(
        self,
        n: int = 1,
        *,
        hang: float = 0.0,
        method: str | Iterable[str] | None = _STORING_METHODS,
        channel: str | Iterable[str] | None = None,
    ) -> Fault:
        """The next ``n`` matching posts are processed (message stored) but the client never
        hears back: the connection is closed without an answer (client sees
        RemoteDisconnected), or, with ``hang=30``, held open that long first (client times
        out). Default methods: chat.postMessage and the webhook."""
        return self._add_fault(
            Fault(
                remaining=n,
                drop=True,
                hang=float(hang),
                methods=self._as_set(method),
                channels=self._as_set(channel, _norm_channel),
            )
        )

    def clear_faults(self) -> None:
        with self._cond:
            self._faults.clear()

    def set_down(self, down: bool = True, *, status: int = 503) -> None:
        """While down, every request (API and webhook) is answered ``status`` (503)."""
        with self._cond:
            self._down_status = status if down else None

    @contextlib.contextmanager
    def outage(self, *, status: int = 503) -> Iterator[FakeSlack]:
        self.set_down(True, status=status)
        try:
            yield self
        finally:
            self.set_down(False)

    def rate_limit(
        self,
        per_second: float | None,
        *,
        retry_after: float | None = None,
        method: str | Iterable[str] | None = None,
    ) -> RateLimit | None:
        """Answer 429 (``Retry-After``) when more than ``per_second`` requests of one method
        arrive for one channel within a second (fractions allowed: 0.5 = 1 per 2 s).
        Rejected requests do not count. ``None``/0 switches it off. Usable as a context
        manager: ``with fake.rate_limit(1, method="chat.postMessage"): ...``."""
        with self._cond:
            if not per_second:
                self._rate = None
                return None
            retry = None if retry_after is None else max(0, math.ceil(retry_after))
            self._rate = RateLimit(self, float(per_second), retry, self._as_set(method))
            return self._rate

    @staticmethod
    def _as_set(
        value: str | Iterable[str] | None, norm: Callable[[str], str] = str
    ) -> frozenset[str] | None:
        if value is None:
            return None
        if isinstance(value, str):
            return frozenset({norm(value)})
        return frozenset(norm(v) for v in value)

    def _add_fault(self, fault: Fault) -> Fault:
        with self._cond:
            self._faults.append(fault)
        return fault

    def _take_fault(self, method: str, channel_keys: set[str]) -> Fault | None:
        with self._cond:
            for fault in self._faults:
                if fault.matches(method, channel_keys):
                    fault.remaining -= 1
                    fault.hits += 1
                    return fault
        return None

    def _check_rate(self, method: str, channel_keys: set[str], chan_arg: Any) -> int | None:
        """Retry-After seconds when this request is over the rate limit, else None."""
        with self._cond:
            rate = self._rate
            if rate is None or (rate.methods is not None and method not in rate.methods):
                return None
            cid = self.channel_id(chan_arg) if channel_keys else ""
            now = time.monotonic()
            seen = rate.seen.setdefault((method, cid), deque())
            while seen and now - seen[0] >= rate.window:
                seen.popleft()
            if len(seen) >= rate.capacity:
                if rate.retry_after is not None:
                    return rate.retry_after
                return max(1, math.ceil(seen[0] + rate.window - now))
            seen.append(now)
            return None

    # ----------------------------------------------------------------- HTTP plumbing
    def _handle(self, h: _Handler) -> None:
        started = time.monotonic()
        parts = urlsplit(h.path)
        path = parts.path
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length > 0 else b""

        if path.startswith("/_fake/"):
            self._introspect(h, path)
            return
        if path.startswith("/api/"):
            method = path[len("/api/") :]
        elif path.startswith("/services/"):
            method = WEBHOOK_METHOD
        else:
            self._send(h, 404, b"not found", "text/plain")
            return

        parse_error: str | None = None
        try:
            if method == WEBHOOK_METHOD:
                args = self._parse_webhook(h, raw)
            else:
                args = self._parse_api(h, parts.query, raw)
        except ValueError as exc:
            args, parse_error = {}, str(exc)
        chan_arg = self._webhooks.get(path) if method == WEBHOOK_METHOD else args.get("channel")
        channel_keys = self._channel_keys(chan_arg)

        record: dict[str, Any] = {
            "method": method,
            "http_method": h.command,
            "path": path,
            "channel": chan_arg if isinstance(chan_arg, str) else None,
            "time": started,
            "wall": time.time(),
            "status": None,
            "ok": None,
            "error": None,
            "fault": None,
            "duration": None,
            "finished": False,
        }
        with self._cond:
            self._requests.append(record)
        webhook = method == WEBHOOK_METHOD
        headers: dict[str, str] = {}
        status, body, ctype, dropped = 500, b"", "application/json; charset=utf-8", False
        try:
            status, body, ctype, dropped = self._respond(
                h, method, path, args, parse_error, chan_arg, channel_keys, record, headers
            )
        except Exception as exc:  # a bug in the fake: answer so instead of hanging the client
            detail = {"ok": False, "error": "fake_internal_error", "detail": repr(exc)}
            body = json.dumps(detail).encode()
            raise
        finally:
            # Record first, answer second: once a client has its answer, fake.requests shows it.
            with self._cond:
                record["finished"] = True
                record["duration"] = time.monotonic() - started
                if not dropped:
                    record["status"] = status
                    record["ok"], record["error"] = self._outcome(webhook, status, body)
                self._cond.notify_all()
            if not dropped:
                self._send(h, status, body, ctype, headers)

    def _respond(
        self,
        h: _Handler,
        method: str,
        path: str,
        args: dict[str, Any],
        parse_error: str | None,
        chan_arg: Any,
        channel_keys: set[str],
        record: dict[str, Any],
        headers: dict[str, str],
    ) -> tuple[int, bytes, str, bool]:
        """Decide the answer: outage, programmed fault, rate limit, or the real work."""
        webhook = method == WEBHOOK_METHOD
        with self._cond:
            down = self._down_status
        if down is not None:
            record["fault"] = "outage"
            err = _DEFAULT_STATUS_ERRORS.get(down, f"http_{down}")
            return (*self._error_body(webhook, down, err), False)
        fault = self._take_fault(method, channel_keys)
        if fault is not None and fault.delay and self._closing.wait(fault.delay):
            record["fault"] = "delay"
            return 0, b"", "", True  # the fake was closed while sleeping: answer nothing
        if fault is not None and (fault.status not in (None, 200) or fault.error):
            record["fault"] = "delay+error" if fault.delay else "error"
            st = fault.status if fault.status is not None else 200
            err = fault.error or _DEFAULT_STATUS_ERRORS.get(st, f"http_{st}")
            if webhook and st == 200:
                st = _WEBHOOK_ERROR_STATUS.get(err, 400)
            if fault.retry_after is not None:
                headers["Retry-After"] = str(fault.retry_after)
            return (*self._error_body(webhook, st, err), False)
        if fault is not None:
            record["fault"] = "drop" if fault.drop else "delay"
        retry = self._check_rate(method, channel_keys, chan_arg)
        if retry is not None:
            record["fault"] = "rate_limit"
            headers["Retry-After"] = str(retry)
            return (*self._error_body(webhook, 429, "ratelimited"), False)
        if webhook:
            status, body, ctype = self._do_webhook(path, args, parse_error)
        else:
            status, body, ctype = self._do_api(h, method, args, parse_error)
        if fault is not None and fault.drop:
            if fault.hang:
                self._closing.wait(fault.hang)
            return status, body, ctype, True
        return status, body, ctype, False

    @staticmethod
    def _outcome(webhook: bool, status: int, body: bytes) -> tuple[bool, str | None]:
        text = body.decode("utf-8", "replace")
        if text.startswith("{"):
            data = json.loads(text)
            return bool(data.get("ok")) and status == 200, data.get("error")
        if webhook:
            return status == 200, None if status == 200 else text
        return status == 200, None

    @staticmethod
    def _error_body(webhook: bool, status: int, error: str) -> tuple[int, bytes, str]:
        if webhook and status != 429:
            return status, error.encode(), "text/html"
        payload = json.dumps({"ok": False, "error": error}).encode()
        return status, payload, "application/json; charset=utf-8"

    @staticmethod
    def _send(
        h: _Handler, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None
    ) -> None:
        try:
            h.send_response(status)
            h.send_header("Content-Type", ctype)
            h.send_header("Content-Length", str(len(body)))
            for key, value in (headers or {}).items():
                h.send_header(key, value)
            h.end_headers()
            h.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout); nothing to tell it

    def _introspect(self, h: _Handler, path: str) -> None:
        if path == "/_fake/messages":
            data: Any = self.messages
        elif path == "/_fake/requests":
            data = self.requests
        elif path == "/_fake/health":
            data = {"ok": True}
        elif path == "/_fake/reset" and h.command == "POST":
            self.reset()
            data = {"ok": True}
        else:
            self._send(h, 404, b"not found", "text/plain")
            return
        self._send(h, 200, json.dumps(data, default=str).encode(), "application/json")

    # ----------------------------------------------------------------- parsing
    @staticmethod
    def _parse_api(h: _Handler, query: str, raw: bytes) -> dict[str, Any]:
        args: dict[str, Any] = {k: v[-1] for k, v in parse_qs(query).items()}
        ctype = (h.headers.get("Content-Type") or "").lower()
        if raw:
            if ctype.startswith("application/json"):
                try:
                    body = json.loads(raw.decode("utf-8"))
                except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                    raise ValueError("invalid_json") from exc
                if not isinstance(body, dict):
                    raise ValueError("invalid_json")
                args.update(body)
            elif ctype.startswith("multipart/form-data"):
                msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                    b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + raw
                )
                for part in msg.iter_parts():
                    name = part.get_param("name", header="content-disposition")
                    payload = part.get_payload(decode=True)
                    if not isinstance(payload, bytes):
                        payload = b""
                    if name and part.get_filename() is None:
                        args[str(name)] = payload.decode("utf-8", "replace")
                    elif name:
                        args[str(name)] = payload
            else:
                text = raw.decode("utf-8", "replace")
                args.update({k: v[-1] for k, v in parse_qs(text, keep_blank_values=True).items()})
        for key in _JSON_FIELDS:
            value = args.get(key)
            if isinstance(value, str):
                if not value.strip():
                    args[key] = None
                    continue
                try:
                    args[key] = json.loads(value)
                except json.JSONDecodeError as exc:
                    raise ValueError(
                        {
                            "blocks": "invalid_blocks_format",
                            "attachments": "invalid_attachments",
                            "metadata": "invalid_metadata_format",
                        }[key]
                    ) from exc
        for key in _BOOL_FIELDS:
            if key in args:
                args[key] = _as_bool(args[key])
        return args

    @staticmethod
    def _parse_webhook(h: _Handler, raw: bytes) -> dict[str, Any]:
        ctype = (h.headers.get("Content-Type") or "").lower()
        try:
            text = raw.decode("utf-8")
            if ctype.startswith("application/x-www-form-urlencoded"):
                text = parse_qs(text).get("payload", [""])[-1]
            body = json.loads(text)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError("invalid_payload") from exc
        if not isinstance(body, dict):
            raise ValueError("invalid_payload")
        return body

    # ----------------------------------------------------------------- Web API
    def _token(self, h: _Handler, args: dict[str, Any]) -> str | None:
        auth = h.headers.get("Authorization") or ""
        if auth.lower().startswith("bearer "):
            return auth[7:].strip()
        token = args.get("token")
        return token if isinstance(token, str) else None

    def _do_api(
        self, h: _Handler, method: str, args: dict[str, Any], parse_error: str | None
    ) -> tuple[int, bytes, str]:
        handler = getattr(self, "_api_" + method.replace(".", "_"), None)
        try:
            if handler is None:
                raise _SlackError("unknown_method", status=404)
            if parse_error is not None:
                raise _SlackError(parse_error)
            if method != "api.test":
                token = self._token(h, args)
                if not token:
                    raise _SlackError("not_authed")
                if token not in self.valid_tokens:
                    raise _SlackError("invalid_auth")
            with self._cond:
                payload = handler(args)
                self._cond.notify_all()
            status = 200
            payload = {"ok": True, **payload}
        except _SlackError as exc:
            status = exc.status
            payload = {"ok": False, "error": exc.error, **exc.extra}
        return status, json.dumps(payload).encode(), "application/json; charset=utf-8"

    def _next_ts(self) -> str:
        if self._ts_step_us is not None:
            us = self._last_ts_us + self._ts_step_us
        else:
            us = max(int(time.time() * 1_000_000), self._last_ts_us + 1)
        self._last_ts_us = us
        return _us_to_ts(us)

    def _public(self, msg: dict[str, Any]) -> dict[str, Any]:
        """A stored message as Slack shows it in API answers."""
        out: dict[str, Any] = {
            "type": "message",
            "text": msg["text"],
            "ts": msg["ts"],
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
        }
        if msg["source"] == WEBHOOK_METHOD:
            out["subtype"] = "bot_message"
        else:
            out["user"] = self.bot_user_id
        for key in ("blocks", "attachments", "metadata"):
            if msg.get(key):
                out[key] = msg[key]
        if msg.get("edited"):
            out["edited"] = dict(msg["edited"])
        replies = self._replies.get((msg["channel"], msg["ts"]))
        if msg["thread_ts"]:
            out["thread_ts"] = msg["thread_ts"]
            out["parent_user_id"] = self.bot_user_id
        elif replies:
            out["thread_ts"] = msg["ts"]
            out["reply_count"] = len(replies)
            out["reply_users"] = [self.bot_user_id]
            out["reply_users_count"] = 1
            out["latest_reply"] = replies[-1]["ts"]
        return out

    def _check_content(self, args: dict[str, Any], *, require_text: bool) -> None:
        text = args.get("text")
        if text is not None and not isinstance(text, str):
            args["text"] = text = str(text)
        if require_text and not (text or args.get("blocks") or args.get("attachments")):
            raise _SlackError("no_text")
        if text and len(text) > 40_000:
            raise _SlackError("msg_too_long")
        if args.get("blocks") is not None:
            problems = _block_problems(args["blocks"])
            if problems:
                raise _SlackError("invalid_blocks", response_metadata={"messages": problems})
        if args.get("attachments") is not None and not isinstance(args["attachments"], list):
            raise _SlackError("invalid_attachments")
        if args.get("metadata") is not None and not _metadata_ok(args["metadata"]):
            raise _SlackError("invalid_metadata_format")

    def _store(
        self,
        chan: dict[str, Any],
        args: dict[str, Any],
        *,
        source: str,
    ) -> dict[str, Any]:
        thread_ts = args.get("thread_ts") or None
        if thread_ts is not None:
            thread_ts = str(thread_ts)
            parent = self._index.get((chan["id"], thread_ts))
            if parent is not None and parent["thread_ts"]:
                thread_ts = parent["thread_ts"]  # a reply to a reply joins the parent's thread
        msg: dict[str, Any] = {
            "channel": chan["id"],
            "channel_name": chan["name"],
            "ts": self._next_ts(),
            "thread_ts": thread_ts,
            "text": args.get("text") or "",
            "blocks": args.get("blocks"),
            "attachments": args.get("attachments"),
            "metadata": args.get("metadata"),
            "unfurl_links": _as_bool(args.get("unfurl_links")),
            "unfurl_media": _as_bool(args.get("unfurl_media")),
            "reply_broadcast": bool(_as_bool(args.get("reply_broadcast"))),
            "username": args.get("username"),
            "icon_emoji": args.get("icon_emoji"),
            "icon_url": args.get("icon_url"),
            "source": source,
            "received_at": time.monotonic(),
            "received_wall": time.time(),
            "edited": None,
            "args": dict(args),
        }
        self._messages.append(msg)
        self._index[(chan["id"], msg["ts"])] = msg
        if thread_ts is not None:
            self._replies.setdefault((chan["id"], thread_ts), []).append(msg)
        return msg

    def _api_api_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"args": {k: v for k, v in args.items() if k != "token"}}

    def _api_auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://fake-slack.example/",
            "team": "Fake Team",
            "user": "story-monitor",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _api_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        chan = self._resolve(args.get("channel"), allow_name=True, method="chat.postMessage")
        if self._is_archived(chan):
            raise _SlackError("is_archived")
        self._check_content(args, require_text=True)
        msg = self._store(chan, args, source="api")
        return {"channel": chan["id"], "ts": msg["ts"], "message": self._public(msg)}

    def _api_chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        chan = self._resolve(args.get("channel"), allow_name=False, method="chat.update")
        if self._is_archived(chan):
            raise _SlackError("is_archived")
        ts = str(args.get("ts") or "")
        msg = self._index.get((chan["id"], ts))
        if msg is None:
            raise _SlackError("message_not_found")
        if msg["source"] == WEBHOOK_METHOD:
            raise _SlackError("cant_update_message")
        self._check_content(args, require_text=False)
        previous = {k: msg[k] for k in ("text", "blocks", "attachments", "metadata")}
        for key in ("text", "blocks", "attachments", "metadata"):
            if key in args and args[key] is not None:
                msg[key] = args[key]
        now_ts = _us_to_ts(int(time.time() * 1_000_000))
        msg["edited"] = {"user": self.bot_user_id, "ts": now_ts}
        self._updates.append(
            {
                "channel": chan["id"],
                "ts": ts,
                "text": msg["text"],
                "blocks": msg["blocks"],
                "attachments": msg["attachments"],
                "metadata": msg["metadata"],
                "previous": previous,
                "received_at": time.monotonic(),
                "received_wall": time.time(),
                "args": dict(args),
            }
        )
        return {
            "channel": chan["id"],
            "ts": ts,
            "text": msg["text"],
            "message": self._public(msg),
        }

    def _api_chat_getPermalink(self, args: dict[str, Any]) -> dict[str, Any]:
        chan = self._resolve(args.get("channel"), allow_name=False, method="chat.getPermalink")
        ts = str(args.get("message_ts") or "")
        if (chan["id"], ts) not in self._index:
            raise _SlackError("message_not_found")
        return {
            "channel": chan["id"],
            "permalink": f"https://fake-slack.example/archives/{chan['id']}/p{ts.replace('.', '')}",
        }

    @staticmethod
    def _bounds(args: dict[str, Any]) -> tuple[int, int, bool]:
        try:
            oldest = _ts_to_us(args.get("oldest") or 0)
        except ValueError as exc:
            raise _SlackError("invalid_ts_oldest") from exc
        try:
            latest = _ts_to_us(args["latest"]) if args.get("latest") else 2**62
        except ValueError as exc:
            raise _SlackError("invalid_ts_latest") from exc
        return oldest, latest, bool(args.get("inclusive"))

    @staticmethod
    def _in_range(ts: str, bounds: tuple[int, int, bool]) -> bool:
        oldest, latest, inclusive = bounds
        us = _ts_to_us(ts)
        return oldest <= us <= latest if inclusive else oldest < us < latest

    @staticmethod
    def _page(args: dict[str, Any], items: list[dict[str, Any]]) -> dict[str, Any]:
        try:
            limit = int(args.get("limit") or 100)
            cursor = args.get("cursor") or ""
            offset = int(base64.b64decode(cursor).decode().split(":")[1]) if cursor else 0
        except (ValueError, IndexError) as exc:
            raise _SlackError("invalid_cursor") from exc
        limit = max(1, min(limit, 999))
        page = items[offset : offset + limit]
        has_more = offset + limit < len(items)
        next_cursor = base64.b64encode(f"offset:{offset + limit}".encode()).decode()
        return {
            "messages": page,
            "has_more": has_more,
            "response_metadata": {"next_cursor": next_cursor if has_more else ""},
        }

    def _api_conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        chan = self._resolve(
            args.get("channel"), allow_name=False, method="conversations.history"
        )
        bounds = self._bounds(args)
        found = [
            self._public(m)
            for m in self._messages
            if m["channel"] == chan["id"]
            and (not m["thread_ts"] or m["reply_broadcast"])
            and self._in_range(m["ts"], bounds)
        ]
        found.sort(key=lambda m: _ts_to_us(m["ts"]), reverse=True)
        return {**self._page(args, found), "pin_count": 0}

    def _api_conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        chan = self._resolve(
            args.get("channel"), allow_name=False, method="conversations.replies"
        )
        ts = str(args.get("ts") or "")
        msg = self._index.get((chan["id"], ts))
        if msg is None:
            raise _SlackError("thread_not_found")
        parent_ts = msg["thread_ts"] or ts
        bounds = self._bounds(args)
        thread = self.thread(chan["id"], parent_ts)
        items = thread[:1] + [m for m in thread[1:] if self._in_range(m["ts"], bounds)]
        return self._page(args, [self._public(m) for m in items])

    def _channel_info(self, chan: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": chan["id"],
            "name": chan["name"],
            "is_channel": True,
            "is_group": False,
            "is_im": False,
            "is_private": False,
            "is_archived": self._is_archived(chan),
            "is_member": True,
            "created": chan["created"],
        }

    def _api_conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        chan = self._resolve(args.get("channel"), allow_name=False, method="conversations.info")
        return {"channel": self._channel_info(chan)}

    def _api_conversations_join(self, args: dict[str, Any]) -> dict[str, Any]:
        chan = self._resolve(args.get("channel"), allow_name=False, method="conversations.join")
        if self._is_archived(chan):
            raise _SlackError("is_archived")
        return {"channel": self._channel_info(chan)}

    def _api_conversations_list(self, args: dict[str, Any]) -> dict[str, Any]:
        exclude_archived = bool(args.get("exclude_archived"))
        chans = [
            self._channel_info(c)
            for c in self._channels_by_id.values()
            if not ({c["id"], c["name"]} & self.missing_channels)
            and not (exclude_archived and self._is_archived(c))
        ]
        return {"channels": chans, "response_metadata": {"next_cursor": ""}}

    # ----------------------------------------------------------------- webhook
    def _do_webhook(
        self, path: str, payload: dict[str, Any], parse_error: str | None
    ) -> tuple[int, bytes, str]:
        with self._cond:
            channel = self._webhooks.get(path)
            if channel is None:
                return self._error_body(True, 404, "no_service")
            if parse_error is not None:
                return self._error_body(True, 400, parse_error)
            if not (payload.get("text") or payload.get("blocks") or payload.get("attachments")):
                return self._error_body(True, 400, "no_text")
            if payload.get("blocks") is not None and _block_problems(payload["blocks"]):
                return self._error_body(True, 400, "invalid_blocks")
            try:
                chan = self._resolve(channel, allow_name=True, method=WEBHOOK_METHOD)
            except _SlackError:
                return self._error_body(True, 404, "channel_not_found")
            if self._is_archived(chan):
                return self._error_body(True, 410, "channel_is_archived")
            self._store(chan, payload, source=WEBHOOK_METHOD)
            self._cond.notify_all()
        return 200, b"ok", "text/html"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the fake Slack Web API server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--token", action="append", help=f"valid token (default {DEFAULT_TOKEN})")
    parser.add_argument("--channel", action="append", help="restrict to these channels")
    parser.add_argument("--missing-channel", action="append", default=[])
    parser.add_argument("--archived-channel", action="append", default=[])
    parser.add_argument("--rate-limit", type=float, default=None, help="per channel, per second")
    args = parser.parse_args(argv)

    fake = FakeSlack(
        host=args.host,
        port=args.port,
        tokens=args.token or (DEFAULT_TOKEN,),
        channels=args.channel,
        missing_channels=args.missing_channel,
        archived_channels=args.archived_channel,
    )
    if args.rate_limit:
        fake.rate_limit(args.rate_limit, method="chat.postMessage")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print(f"FAKE_SLACK={fake.base_url}", flush=True)
    print(f"FAKE_SLACK_WEBHOOK={fake.webhook_url}", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        fake.close()
        print(f"fake slack: {len(fake.messages)} messages, {len(fake.requests)} requests",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
