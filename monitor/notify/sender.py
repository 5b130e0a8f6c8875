"""The sender: drains the outbox with pacing and retries; never drops an alert."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from monitor.errors import DeliveryError
from monitor.notify.base import Notifier
from monitor.notify.outbox import Outbox, OutboxItem

log = logging.getLogger("monitor.sender")


@dataclass(frozen=True)
class Pacing:
    """A token bucket: ``rate`` messages a second on average, bursts of ``burst``."""

    rate: float = 1.0
    burst: int = 3
    retry_base_s: float = 1.0
    retry_max_s: float = 300.0


class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` saved up; starts full."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self._tokens = float(burst)
        self._last = clock()

    def take(self) -> float:
        """0 when a token was taken; else the seconds until one is due (nothing taken)."""
        now = self.clock()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / self.rate


class Sender:
    """Delivers outbox alerts in order per channel; transient failures back off, permanent ones park."""

    def __init__(
        self, outbox: Outbox, notifier: Notifier, pacing: Pacing | None = None,
        clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time,
        on_waiting: Callable[[int], None] | None = None,
    ) -> None:
        self.outbox = outbox
        self.on_waiting = on_waiting  # told after each step how many alerts wait (outbox_waiting)
        self.notifier = notifier
        self.pacing = pacing or Pacing()
        self.clock = clock
        self.wall = wall
        self.results: Counter[str] = Counter()
        self.bucket = TokenBucket(self.pacing.rate, self.pacing.burst, clock)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing: str | None = None
        # One step at a time: a drain on shutdown must not post the alert the background
        # thread is still sending (it would look like a lost answer and be posted twice).
        self._stepping = threading.Lock()

    # --- one step, for tests and the console path -------------------------------------
    def step(self, lock_timeout_s: float = -1) -> float | None:
        """Send at most one alert. Returns seconds to wait before the next step, None when idle."""
        if not self._stepping.acquire(timeout=lock_timeout_s):
            return 0.05  # the background thread is still in its step
        try:
            wait = self._step()
            if self.on_waiting is not None:
                self.on_waiting(self.outbox.waiting())
            return wait
        finally:
            self._stepping.release()

    def _step(self) -> float | None:
        now = self.wall()
        item = self.outbox.next_ready(now)
        if item is None:
            return self._edit_or_wait(now)
        wait = self.bucket.take()
        if wait > 0:
            return wait
        item = self.outbox.claim(now)  # the peeked alert, or another when a sender elsewhere has it
        if item is None:
            return 0.05
        try:
            delivery = self.notifier.send(item.alert, maybe_sent=item.maybe_sent)
        except DeliveryError as exc:
            return self._failed(item, exc)
        self.outbox.sent(item.seq, delivery.ref)
        self.results["ok"] += 1
        if self._failing is not None:
            log.info("slack_delivery_recovered", extra={"after": self._failing})
            self._failing = None
        return 0.0

    def _edit_or_wait(self, now: float) -> float | None:
        """No alert is due: retry a parent edit that is (paced like a post), or say how long to wait."""
        edit_due = getattr(self.notifier, "edit_due", lambda: None)()
        if edit_due is not None and edit_due <= now:
            wait = self.bucket.take()
            if wait > 0:
                return wait
            self.notifier.retry_edit()  # type: ignore[attr-defined]
            return 0.0
        due = [d for d in (self.outbox.next_due(), edit_due) if d is not None]
        return None if not due else max(0.05, min(due) - now)

    def _failed(self, item: OutboxItem, exc: DeliveryError) -> float:
        seq, attempts, key = item.seq, item.attempts + 1, item.alert.key
        if exc.permanent:
            self.outbox.park(seq, exc.reason)
            self.results["parked"] += 1
            log.error("alert_parked", extra={"key": key, "reason": exc.reason,
                                              "hint": "fix the setting, then `story-monitor outbox retry`"})
            return 0.0
        backoff = min(self.pacing.retry_max_s, self.pacing.retry_base_s * 2 ** min(attempts - 1, 16))
        delay = max(exc.retry_after or 0.0, backoff * (0.5 + random.random() / 2))
        # An earlier attempt that may have posted stays in doubt until a send succeeds: a
        # 429 on the duplicate check itself proves nothing about it.
        maybe = exc.maybe_delivered or item.maybe_sent
        self.outbox.retry(seq, self.wall() + delay, exc.reason, maybe_delivered=maybe)
        self.results["retry"] += 1
        if self._failing != exc.reason:  # log once per state change, not per attempt
            log.warning("slack_delivery_failing", extra={"reason": exc.reason, "retry_in_s": round(delay, 2)})
            self._failing = exc.reason
        return min(delay, 1.0)

    def drain(self, timeout_s: float | None = None) -> bool:
        """Send until nothing is waiting (True) or the timeout passes (False).

        With a timeout no request starts that could outlast it (the notifier's own request
        timeout, ``request_timeout_s``), so a drain during an outage keeps its limit."""
        deadline = None if timeout_s is None else self.clock() + timeout_s
        reserve = float(getattr(self.notifier, "request_timeout_s", 0.0) or 0.0)
        while True:
            if deadline is not None and self.clock() + reserve >= deadline:
                return self.outbox.waiting() == 0
            wait = self.step(-1 if deadline is None else max(0.0, deadline - reserve - self.clock()))
            if wait is None and self.outbox.waiting() == 0:
                return True
            if deadline is not None and self.clock() >= deadline:
                return False
            if wait:
                remaining = None if deadline is None else deadline - self.clock()
                time.sleep(max(0.0, min(wait, remaining if remaining is not None else wait)))

    # --- background thread, for the daemon --------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="sender", daemon=True)
        self._thread.start()

    def notify(self) -> None:
        """New alerts were committed: wake up."""
        self._wake.set()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                wait = self.step()
            except Exception:  # a bug or a locked database must not kill delivery for good
                log.exception("sender_step_failed")
                wait = 1.0
            if wait is None:
                self._wake.wait(1.0)
                self._wake.clear()
            elif wait > 0:
                self._wake.wait(wait)
                self._wake.clear()
