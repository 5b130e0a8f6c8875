"""What every run loop shares (one process, annotate, detect): a stop flag, the tasks other
threads hand it to run between batches, and the heartbeat the stall probe reads."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable

from monitor.obs.metrics import Metrics


class LoopTurns:
    """The loop thread's mailbox and heartbeat; ``turn`` runs at the top of each iteration."""

    def __init__(self, metrics: Metrics, stop_event: threading.Event | None = None) -> None:
        self.metrics = metrics
        self.stop_event = stop_event if stop_event is not None else threading.Event()
        self.tasks: queue.Queue[Callable[[], None]] = queue.Queue()
        self.last_turn = time.monotonic()

    def call_soon(self, task: Callable[[], None]) -> None:
        """Run ``task`` on the loop's thread between batches (the scheduler's entry point)."""
        self.tasks.put(task)

    def stop(self) -> None:
        self.stop_event.set()

    def turn(self) -> None:
        """Beat the heartbeat and run every task waiting."""
        self.last_turn = time.monotonic()
        self.metrics.last_loop.set(time.time())
        while True:
            try:
                task = self.tasks.get_nowait()
            except queue.Empty:
                return
            task()
