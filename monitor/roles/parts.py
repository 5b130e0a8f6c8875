"""One matches partition's detection: its engine, its scope of the state, the feed it counted.

Rules are keyed to partitions (the producer's murmur2 of the rule id), so a partition's
rules, their windows, detectors and stories belong to it alone; its feed counts, watermark
and held alerts are kept under its scope. A detect worker holds one ``Part`` per claimed
partition and moves it between workers by its state in the store.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import groupby

from kafka.partitioner.default import murmur2

from monitor.detect.engine import Delta, Engine
from monitor.detect.watermark import LiveClock
from monitor.model import Alert, Article
from monitor.obs.metrics import Metrics
from monitor.roles.records import FeedRecord, MatchRecord
from monitor.rules.schema import RuleSet
from monitor.state.store import Store

COUNTED = "feed_counted"  # meta: articles partition -> next offset counted toward the feed


def partition_of(rule_id: str, partitions: int) -> int:
    """The matches partition of a rule: what kafka-python's default partitioner picks for its key."""
    return (murmur2(rule_id.encode("utf-8")) & 0x7FFFFFFF) % partitions


def scope_of(topic: str, partition: int) -> str:
    return f"{topic}[{partition}]"


@dataclass
class Part:
    """The detection of one claimed matches partition (see the module)."""

    partition: int
    engine: Engine
    store: Store
    live: LiveClock
    counted: dict[int, int] = field(default_factory=dict)  # articles partition -> next offset to count

    def detect(self, records: Sequence[FeedRecord | MatchRecord], metrics: Metrics) -> list[Alert]:
        """One batch of this partition, one publication time at a time: the feed of that time
        first, then its matches, as one process counts and detects (``Pipeline.run``)."""
        engine = self.engine
        alerts: list[Alert] = []
        for _, moment in groupby(records, key=lambda r: r.published_at):
            group = list(moment)
            engine.observe_feed(self._fresh([r for r in group if isinstance(r, FeedRecord)], metrics))
            found = [r.match for r in group if isinstance(r, MatchRecord)]
            for m in found:
                metrics.matches.labels(rule=m.rule_id).inc()
            alerts += engine.process(found)
        return alerts

    def _fresh(self, feeds: Iterable[FeedRecord], metrics: Metrics) -> list[Article]:
        """The feed's articles not counted yet: an annotate worker that died before it committed
        sends its last articles again, and they must count once."""
        out: list[Article] = []
        for feed in feeds:
            for entry in feed.entries:
                origin = entry.origin
                if origin.offset < self.counted.get(origin.partition, 0):
                    metrics.dropped.labels(reason="feed_redelivered").inc()
                    continue
                self.counted[origin.partition] = origin.offset + 1
                out.append(entry.article)
        return out

    def write(self, offsets: dict[tuple[str, int], int], delta: Delta, alerts: list[Alert]) -> int:
        """Inside the batch's transaction: this partition's state, alerts and offset."""
        counted = json.dumps({str(k): v for k, v in self.counted.items()})
        return self.store.write(offsets, delta, alerts, meta={COUNTED: counted})


def load_part(partition: int, store: Store, ruleset: RuleSet, partitions: int,
              make_engine: Callable[[RuleSet], Engine], live_lag_s: float) -> Part:
    """A partition's part as its last owner committed it (empty for a partition never seen)."""
    engine = make_engine(ruleset)
    fingerprints = {r.id: r.state_fingerprint for r in ruleset.enabled}
    mine = {r for r in fingerprints if partition_of(r, partitions) == partition}
    restored = store.restore(fingerprints, rules=mine)
    engine.restore(restored.events, restored.states, restored.stories, restored.watermark,
                   restored.feed, restored.moments)
    counted = json.loads(store.get_meta(COUNTED) or "{}")
    return Part(partition, engine, store, LiveClock(live_lag_s), {int(k): int(v) for k, v in counted.items()})
