"""Annotation on several cores: worker processes, each with its own spaCy and Annotator.

Only annotation fans out. A batch is cut into consecutive chunks, the workers annotate
them, and the results come back in the batch's order, so matching and detection (which
stay in this process, single-threaded) see exactly what one worker would have given them.
An article's annotation depends on its own text only, never on the other articles of its
spaCy batch, so the alerts of N workers are those of one (tests/test_parallel.py).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from monitor.annotate.annotator import Annotator
from monitor.annotate.phrases import PhraseIndex
from monitor.model import Annotated, Article
from monitor.rules.schema import RuleSet
from monitor.settings import NlpSettings

log = logging.getLogger("monitor.nlp")

MIN_CHUNK = 8  # articles: smaller chunks cost more in pickling than they win
CHUNKS_PER_WORKER = 4  # several chunks a worker, so one slow chunk does not hold the others idle

_worker: Annotator | None = None  # the Annotator of this worker process


def machine_cores() -> int:
    """The cores this process may run on (the CPU affinity where the OS tells it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _start_worker(ruleset: RuleSet, settings: NlpSettings) -> None:
    global _worker
    from monitor.annotate.model import load_model

    # Ctrl-C on the terminal reaches the whole process group: the parent stops between
    # batches and then shuts the workers down; a worker must not die under a batch first.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    _worker = Annotator(ruleset, load_model(settings.model), batch_size=settings.batch_size,
                        batch_chars=settings.batch_chars, prefilter=settings.prefilter,
                        max_chars=settings.max_chars)


def _annotate_chunk(articles: list[Article]) -> tuple[list[Annotated], int]:
    assert _worker is not None, "worker not started"
    before = _worker.skipped
    items = _worker.annotate(articles)
    return items, _worker.skipped - before


def chunks(articles: Sequence[Article], workers: int) -> list[Sequence[Article]]:
    """Consecutive slices of ``articles``, about ``CHUNKS_PER_WORKER`` per worker."""
    if workers <= 1 or len(articles) < 2 * MIN_CHUNK:
        return [articles]
    size = max(MIN_CHUNK, -(-len(articles) // (workers * CHUNKS_PER_WORKER)))
    return [articles[i : i + size] for i in range(0, len(articles), size)]


class ParallelAnnotator:
    """An Annotator whose batches are annotated by ``workers`` processes, in order."""

    def __init__(self, inner: Annotator, settings: NlpSettings, workers: int) -> None:
        self.inner = inner
        self.settings = settings
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._worker_skipped = 0

    def __getattr__(self, name: str) -> Any:  # index, nlp, ruleset...: the inner Annotator's
        return getattr(self.inner, name)

    @property
    def skipped(self) -> int:
        return self.inner.skipped + self._worker_skipped

    def use_rules(self, ruleset: RuleSet, index: PhraseIndex | None = None) -> None:
        """New rules here now; the workers are restarted with them on the next batch."""
        self.inner.use_rules(ruleset, index)
        self.close()

    def annotate(self, articles: Sequence[Article]) -> list[Annotated]:
        parts = chunks(articles, self.workers)
        if len(parts) == 1:
            return self.inner.annotate(articles)
        out: list[Annotated] = []
        for items, skipped in self._executor().map(_annotate_chunk, [list(p) for p in parts]):
            out.extend(items)
            self._worker_skipped += skipped
        return out

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn: a fresh interpreter, not a fork of one that runs sender and scheduler threads
            self._pool = ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker, initargs=(self.inner.ruleset, self.settings))
            log.info("nlp_workers_started", extra={"workers": self.workers, "model": self.settings.model})
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
