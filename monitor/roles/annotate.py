"""The annotate role: articles in, matches and the feed out to the matches topic; stateless.

Per batch: decode (bad input to the dead-letter topic, as one process does), annotate,
match; then, one publication time of one articles partition at a time, a feed record to
every matches partition and each match to its rule's partition (``roles/records.py``);
the batch's article offsets are committed to Kafka only once the broker has acknowledged
every one of those records (acks=all) and every dead letter. A worker that dies in
between sends some records again; the detect role counts them once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from itertools import groupby

from kafka import KafkaProducer
from kafka.errors import KafkaError

from monitor.annotate.annotator import Annotator
from monitor.annotate.parallel import ParallelAnnotator
from monitor.decode import DecodeError, Intake
from monitor.detect.copies import fingerprint
from monitor.errors import Interrupted
from monitor.loopturn import LoopTurns
from monitor.match import Matcher
from monitor.model import Annotated, Article, Match
from monitor.obs.metrics import Metrics
from monitor.pipeline import PreparedRules
from monitor.roles.parts import partition_of
from monitor.roles.records import Origin, encode_feed, encode_match
from monitor.runner import BatchSizer, LoopSettings
from monitor.settings import KafkaSettings
from monitor.sources.base import Decoder, Record
from monitor.sources.kafka import KafkaSource
from monitor.topic import OPENING_TERMS, reads_all_terms

log = logging.getLogger("monitor.roles.annotate")
Out = tuple[int, bytes | None, bytes]  # (matches partition, key, value)


class MatchesProducer:
    """Sends a batch's records to the matches topic and returns once the broker holds them all."""

    def __init__(self, settings: KafkaSettings, stopping: threading.Event) -> None:
        self.topic = settings.matches
        self.stopping = stopping
        self.producer = KafkaProducer(
            bootstrap_servers=settings.bootstrap_servers.split(","),
            client_id=f"{settings.client_id}-matches",
            acks="all", linger_ms=5, max_in_flight_requests_per_connection=1,
            max_request_size=max(1_048_576, settings.max_message_bytes * 2),
        )

    def partitions(self) -> int:
        found = self.producer.partitions_for(self.topic)
        if not found:
            raise KafkaError(f"the matches topic {self.topic} has no partitions")
        return len(found)

    def send(self, records: Sequence[Out]) -> None:
        """All of them acknowledged, or (after a failure) all of them sent again; raises
        ``Interrupted`` when asked to stop first."""
        delay = 0.5
        while True:
            try:
                futures = [self.producer.send(self.topic, key=k, value=v, partition=p) for p, k, v in records]
                self.producer.flush(timeout=30)
                for f in futures:
                    f.get(timeout=30)
                return
            except KafkaError as exc:
                log.warning("matches_send_failed", extra={"records": len(records), "detail": str(exc)[:200],
                                                          "retry_in_s": delay})
            if self.stopping.wait(delay):
                raise Interrupted("stopping with matches unacknowledged")
            delay = min(delay * 2, 10.0)

    def close(self) -> None:
        self.producer.close(timeout=5)


class AnnotateRunner(LoopTurns):
    """Drives the articles topic through annotate and match into the matches topic."""

    def __init__(self, source: KafkaSource, annotator: Annotator | ParallelAnnotator, prepared: PreparedRules,
                 producer: MatchesProducer, metrics: Metrics, loop: LoopSettings) -> None:
        super().__init__(metrics, producer.stopping)
        self.source = source
        self.annotator = annotator
        self.producer = producer
        self.loop = loop
        self.decoder = Decoder(loop.max_bytes, loop.future_tolerance_s)
        self.intake = Intake(loop.max_bytes)
        self.sizer = BatchSizer(loop.max_records, loop.max_batch_s)
        self.use_rules(prepared)

    def use_rules(self, prepared: PreparedRules) -> set[str]:
        self.ruleset = prepared.ruleset
        self.annotator.use_rules(prepared.ruleset, prepared.index)
        self.matcher: Matcher = prepared.matcher
        # a rule that reads only an article's opening gets only those terms in its records
        self._terms = {r.id: None if reads_all_terms(r) else OPENING_TERMS for r in self.ruleset.enabled}
        self.metrics.rules_loaded.set(len(self.ruleset.enabled))
        return set()

    def run(self) -> None:
        while not self.stop_event.is_set():
            self.turn()
            records = self.source.poll(self.sizer.next(), self.loop.poll_timeout_s)
            if records:
                self.process(records)

    def process(self, records: list[Record]) -> int:
        """One batch; returns the records sent to the matches topic."""
        started = time.perf_counter()
        articles: list[tuple[Article, Origin]] = []
        self._came_from: dict[int, Record] = {}
        for record in records:
            result = self.intake.check(self.decoder(record))
            if isinstance(result, DecodeError):
                self.metrics.decode_errors.labels(reason=result.reason).inc()
                self.source.reject(record, result)
            else:
                articles.append((result, Origin(record.partition, record.offset)))
                self._came_from[id(result)] = record
        out = self._records(articles)
        try:
            self.producer.send(out)
            self.source.flush()
        except Interrupted:  # read again by whoever has the partition next
            log.warning("batch_not_committed", extra={"records": len(records), "why": "stopping"})
            return 0
        offsets: dict[tuple[str, int], int] = {}
        for r in records:
            offsets[(r.source, r.partition)] = max(offsets.get((r.source, r.partition), 0), r.offset + 1)
        self.source.commit(offsets)
        seconds = time.perf_counter() - started
        self.metrics.batch_seconds.observe(seconds)
        self.sizer.observe(len(records), seconds)
        return len(out)

    def _records(self, articles: list[tuple[Article, Origin]]) -> list[Out]:
        if not articles:
            return []
        started = time.perf_counter()
        skipped = self.annotator.skipped
        articles, items = self._annotate(articles)
        self.metrics.nlp_batch_seconds.observe(time.perf_counter() - started)
        self.metrics.articles.inc(len(articles))
        self.metrics.prefilter_skipped.inc(self.annotator.skipped - skipped)
        below = self.matcher.below
        n = self.producer.partitions()
        out: list[Out] = []
        pairs = list(zip(articles, items, strict=True))
        for _, moment in groupby(pairs, key=lambda p: (p[0][0].published_at, p[0][1].partition)):
            group = list(moment)
            feed = encode_feed([a for a, _ in group])
            out += [(p, None, feed) for p in range(n)]
            for origin, match in self._matches(group):
                out.append((partition_of(match.rule_id, n), match.rule_id.encode("utf-8"),
                            encode_match(match, origin, self._terms.get(match.rule_id))))
        self.metrics.dropped.labels(reason="low_relevance").inc(self.matcher.below - below)
        return out

    def _annotate(self, articles: list[tuple[Article, Origin]]
                  ) -> tuple[list[tuple[Article, Origin]], list[Annotated]]:
        """As ``Pipeline._annotate``: the batch at once; when that raises, one article at a time,
        and the one the annotator fails on goes to the dead-letter topic as ``annotate_failed``."""
        try:
            return articles, self.annotator.annotate([a for a, _ in articles])
        except Exception:  # noqa: S110  # found below, one article at a time
            pass
        kept, items = [], []
        for pair in articles:
            try:
                (item,) = self.annotator.annotate([pair[0]])
            except Exception as exc:  # a valid article nobody foresaw: it must not stop the loop
                why = f"{type(exc).__name__}: {exc}"[:300]
                log.error("annotate_failed", extra={"article": pair[0].id, "error": why})
                self.metrics.decode_errors.labels(reason="annotate_failed").inc()
                self.source.reject(self._came_from[id(pair[0])], DecodeError("annotate_failed", why))
                continue
            kept.append(pair)
            items.append(item)
        return kept, items

    def _matches(self, group: list[tuple[tuple[Article, Origin], Annotated]]) -> list[tuple[Origin, Match]]:
        """The group's matches, each article's fingerprint made once and carried by all of them."""
        found = []
        for (_, origin), item in group:
            matches = self.matcher.match([item])
            carried = fingerprint(item.article) if matches else None
            for m in matches:
                self.metrics.matches.labels(rule=m.rule_id).inc()
                found.append((origin, replace(m, item=replace(m.item, fingerprint=carried))))
        return found
