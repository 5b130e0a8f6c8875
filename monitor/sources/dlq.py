"""The dead-letter topic: every rejected record lands there, acknowledged, before its offset counts.

At connect the topic is checked (created when missing) with a ``max.message.bytes`` that
fits what the articles topic accepts, headers included. A record still too large for it is
dead-lettered as its first part, with its size and SHA-256 in headers. ``settle`` waits
until the broker has acknowledged every letter of the batch; while the topic refuses or is
away it retries with backoff and never returns, so no offset is committed past a record
that is not in the topic (the loop stays alive: /healthz; /readyz says why it waits).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, replace
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError, MessageSizeTooLargeError

from monitor.decode import DecodeError
from monitor.errors import Interrupted
from monitor.obs.metrics import Metrics
from monitor.settings import KafkaSettings
from monitor.sources.base import Record
from monitor.sources.dlqtopic import ENVELOPE, ensure_topic

log = logging.getLogger("monitor.kafka.dlq")
HEADER_PREFIX = "story-monitor."
RETRY_FIRST_S = 0.5
RETRY_MAX_S = 30.0
WAIT_STEP_S = 0.5  # how often a waiting settle looks at the stop flag and marks the loop alive
SMALLEST_CUT = 4096
_CUT_HEADERS = frozenset(HEADER_PREFIX + h for h in ("truncated", "original.size", "original.sha256"))
_SIZE_ERRORS = ("MessageSizeTooLarge", "RecordTooLarge", "RecordBatchTooLarge")


@dataclass(frozen=True, slots=True)
class Letter:
    """One record as it goes to the dead-letter topic."""

    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    reason: str

    @property
    def size(self) -> int:
        heads = sum(len(k) + len(v) for k, v in self.headers)
        return len(self.key or b"") + len(self.value or b"") + heads + 64 * (len(self.headers) + 1)


def letter_for(record: Record, error: DecodeError) -> Letter:
    """The original key, bytes and headers, with the reason and the origin in headers."""
    value = record.value.encode("utf-8", "surrogateescape") if isinstance(record.value, str) else record.value
    ours = (
        (HEADER_PREFIX + "reason", error.reason.encode()),
        (HEADER_PREFIX + "detail", error.detail[:1000].encode("utf-8", "replace")),
        (HEADER_PREFIX + "origin.topic", record.source.encode()),
        (HEADER_PREFIX + "origin.partition", str(record.partition).encode()),
        (HEADER_PREFIX + "origin.offset", str(record.offset).encode()),
    )
    return Letter(record.key, value, tuple(record.headers) + ours, error.reason)


def shorten(letter: Letter, limit: int) -> Letter:
    """The letter cut to fit ``limit`` bytes: the first part of the value, its size and SHA-256."""
    value = letter.value or b""
    before = dict(letter.headers)  # a letter cut again keeps what the first cut said of the original
    size = before.get(HEADER_PREFIX + "original.size", str(len(value)).encode())
    digest = before.get(HEADER_PREFIX + "original.sha256", hashlib.sha256(value).hexdigest().encode())
    headers = [h for h in letter.headers if h[0] not in _CUT_HEADERS]
    theirs = [h for h in headers if not h[0].startswith(HEADER_PREFIX)]
    dropped = 0
    if sum(len(k) + len(v) for k, v in theirs) > limit // 4:  # the record's own headers, when small
        headers, dropped = [h for h in headers if h[0].startswith(HEADER_PREFIX)], len(theirs)
    key = letter.key
    if key is not None and len(key) > 1024:
        headers.append((HEADER_PREFIX + "original.key_size", str(len(key)).encode()))
        key = key[:1024]
    if dropped:
        headers.append((HEADER_PREFIX + "original.headers_dropped", str(dropped).encode()))
    room = max(0, limit - Letter(key, b"", tuple(headers), "").size - 512)
    headers += [
        (HEADER_PREFIX + "truncated", f"first {min(room, len(value))} of {size.decode()} bytes".encode()),
        (HEADER_PREFIX + "original.size", size),
        (HEADER_PREFIX + "original.sha256", digest),
    ]
    return replace(letter, key=key, value=value[:room], headers=tuple(headers))


class DeadLetters:
    """Sends rejected records to the dead-letter topic; ``settle`` holds the batch until all are acked."""

    def __init__(self, settings: KafkaSettings, metrics: Metrics | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.topic = settings.dead_letter_topic
        self.metrics = metrics
        self.sleep = sleep
        self.limit = settings.dlq_max_message_bytes or settings.max_message_bytes + ENVELOPE
        self.producer: KafkaProducer | None = None
        self._opening: tuple[list[str], str, dict[str, int]] = ([], "", {})
        self.stopping = threading.Event()
        self.failing: str | None = None  # why the topic refuses, while it does
        self.alive_at = time.monotonic()  # a waiting settle is alive, not stuck
        self.total = 0
        self._pending: list[tuple[Letter, Any]] = []
        self._failed = 0  # refused letters between two attempts
        self._unflushed: Counter[str] = Counter()

    def connect(self, bootstrap: list[str], client_id: str, extra: dict[str, int]) -> None:
        """Check (or create) the topic, then open the producer sized for it."""
        self.limit = ensure_topic(self.settings, bootstrap, client_id, extra)
        self._opening = (bootstrap, client_id, extra)
        self._open()

    def _open(self) -> None:
        bootstrap, client_id, extra = self._opening
        wanted = {"buffer_memory": max(33_554_432, 2 * self.limit), "delivery_timeout_ms": 10_000}
        known = getattr(KafkaProducer, "DEFAULT_CONFIG", {})  # 2.x and 3.x differ in these two
        self.producer = KafkaProducer(
            bootstrap_servers=bootstrap, client_id=f"{client_id}-dlq", acks="all", linger_ms=5,
            max_request_size=self.limit + ENVELOPE, request_timeout_ms=5_000, max_block_ms=5_000,
            **{k: v for k, v in wanted.items() if k in known}, **extra,
        )

    @property
    def waiting(self) -> int:
        """Letters not yet acknowledged, those waiting to be sent again included."""
        return len(self._pending) + self._failed

    def add(self, letter: Letter) -> None:
        """Send one letter (cut when it cannot fit); its acknowledgement is awaited by ``settle``."""
        self.total += 1
        self._unflushed[letter.reason] += 1
        self._send(letter)

    def _send(self, letter: Letter) -> None:
        if letter.size > self.limit:
            letter = self._cut(letter, self.limit)
        try:
            assert self.producer is not None
            future: Any = self.producer.send(self.topic, key=letter.key, value=letter.value,
                                             headers=list(letter.headers))
        except Exception as exc:  # too large for the client, metadata timeout, a closed client
            future = _Failed(exc)
        self._pending.append((letter, future))
        self._gauge(max(0, self._failed - 1))

    def _cut(self, letter: Letter, limit: int) -> Letter:
        if self.metrics is not None:
            self.metrics.dlq_truncated.inc()
        return shorten(letter, limit)

    def settle(self) -> None:
        """Return once every letter is acknowledged; raise Interrupted when stopping first."""
        delay = RETRY_FIRST_S
        while self._pending:
            self._wait_acks()
            failed = self._collect()
            if not failed and not self._pending:
                break
            if failed:
                self._set_failing(failed[0][1])
                self._pause(delay)
                self._reopen()  # a refused batch can leave kafka-python's producer in a fatal state
                delay = min(delay * 2, RETRY_MAX_S)
                for letter, exc in failed:  # too large for the topic after all: cut, down to 4 KB
                    cut = _too_large(exc) and letter.size > SMALLEST_CUT
                    self._send(self._cut(letter, max(SMALLEST_CUT, letter.size // 2)) if cut else letter)
            if self.stopping.is_set():
                raise Interrupted(f"{len(self._pending)} dead letters not acknowledged by {self.topic}")
        self._set_failing(None)
        self._report()

    def _wait_acks(self) -> None:
        deadline = time.monotonic() + WAIT_STEP_S
        for _, future in self._pending:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            if not future.is_done:
                with suppress(Exception):  # failures are read from the future in _collect
                    future.get(timeout=left)
        self.alive_at = time.monotonic()

    def _collect(self) -> list[tuple[Letter, BaseException]]:
        failed, still = [], []
        for letter, future in self._pending:
            if not future.is_done:
                still.append((letter, future))
            elif future.failed():
                failed.append((letter, future.exception))
        self._pending = still
        self._gauge(len(failed))
        return failed

    def _pause(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while not self.stopping.is_set() and time.monotonic() < end:
            self.sleep(min(WAIT_STEP_S, end - time.monotonic()))
            self.alive_at = time.monotonic()

    def _set_failing(self, exc: BaseException | None) -> None:
        reason = None if exc is None else type(exc).__name__
        if self.metrics is not None:
            self.metrics.dlq_available.set(0 if reason else 1)
            if reason:
                self.metrics.dlq_send_failures.labels(reason=reason).inc()
        if reason == self.failing:
            return
        if reason is None:
            log.info("dlq_recovered", extra={"topic": self.topic, "after": self.failing})
        else:
            log.error("dlq_unavailable", extra={
                "topic": self.topic, "reason": reason, "detail": str(exc)[:200], "waiting": self.waiting,
                "hint": "offsets are not committed past a record until it is in the dead-letter topic"})
        self.failing = reason

    def _report(self) -> None:
        if self._unflushed:  # one line per batch with the counts, not one per record
            log.warning("records_dead_lettered", extra={"topic": self.topic, "count": self._unflushed.total(),
                                                        "reasons": dict(self._unflushed)})
            self._unflushed.clear()

    def _gauge(self, failed: int = 0) -> None:
        self._failed = failed
        if self.metrics is not None:
            self.metrics.dlq_waiting.set(len(self._pending) + failed)

    def _reopen(self) -> None:
        unsent = [(letter, future) for letter, future in self._pending if not future.is_done]
        if unsent:  # still in flight: keep waiting for them on this producer
            return
        self.close()
        with suppress(Exception):  # the broker away: the next send fails and is retried
            self._open()

    def close(self) -> None:
        producer, self.producer = self.producer, None
        if producer is not None:
            with suppress(Exception):  # closing a client that lost its broker
                producer.close(timeout=5)


class _Failed:
    """A send that failed before it reached the producer's queue, as a failed future."""

    is_done = True

    def __init__(self, exc: BaseException) -> None:
        self.exception = exc

    def failed(self) -> bool:
        return True

    def get(self, timeout: float | None = None) -> None:
        raise self.exception


def _too_large(exc: BaseException) -> bool:
    return isinstance(exc, MessageSizeTooLargeError) or any(
        n in type(exc).__name__ for n in _SIZE_ERRORS) or (
        isinstance(exc, KafkaError) and "too large" in str(exc).lower())
