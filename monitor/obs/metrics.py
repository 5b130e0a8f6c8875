"""Prometheus metrics, prefixed ``story_monitor_``, in a registry of the process's own."""

from __future__ import annotations

import resource
import sys

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


def rss_bytes() -> float:
    """Resident memory now (Linux), else the peak."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            pages = int(f.read().split()[1])
        return float(pages * resource.getpagesize())
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return float(peak if sys.platform == "darwin" else peak * 1024)


class Metrics:
    """Every counter the daemon keeps; one instance per process (or per test)."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        p = "story_monitor_"
        self.articles = Counter(p + "articles", "Articles decoded", registry=r)
        self.decode_errors = Counter(p + "decode_errors", "Records rejected", ["reason"], registry=r)
        self.prefilter_skipped = Counter(
            p + "prefilter_skipped", "Articles no rule could match (model not run)", registry=r
        )
        self.matches = Counter(p + "matches", "Rule matches", ["rule"], registry=r)
        self.alerts = Counter(p + "alerts", "Alerts raised", ["rule", "kind"], registry=r)
        self.dropped = Counter(p + "dropped", "Matches not counted", ["reason"], registry=r)
        self.suppressed = Counter(
            p + "signals_suppressed", "Detector signals not raised", ["kind", "reason"], registry=r
        )
        self.merged = Counter(p + "signals_merged", "Signals merged into another alert", ["reason"],
                              registry=r)
        self.stories_merged = Counter(p + "stories_merged", "Stories folded into another story", ["reason"],
                                      registry=r)
        self.feed_degraded = Gauge(p + "feed_degraded", "1 while the feed runs below its usual rate",
                                   registry=r)
        self.feed_notices = Counter(p + "feed_notices", "Feed status changes", ["kind"], registry=r)
        self.slack_sends = Counter(p + "slack_sends", "Delivery attempts", ["result"], registry=r)
        self.rules_loaded = Gauge(p + "rules_loaded", "Enabled rules in force", registry=r)
        self.rules_reload_failures = Counter(
            p + "rules_reload_failures", "Rule reloads rejected", registry=r
        )
        self.rules_reloads = Counter(p + "rules_reloads", "Rule reloads applied", registry=r)
        self.consumer_lag = Gauge(p + "consumer_lag", "Records behind the log end", ["partition"], registry=r)
        self.partition_watermark = Gauge(
            p + "partition_watermark_seconds", "Newest publication time fetched per partition", ["partition"],
            registry=r,
        )
        self.nlp_batch_seconds = Histogram(
            p + "nlp_batch_seconds", "Time to annotate a batch",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30), registry=r,
        )
        self.batch_seconds = Histogram(
            p + "batch_seconds", "Time to process a batch end to end",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30), registry=r,
        )
        self.outbox_waiting = Gauge(p + "outbox_waiting", "Alerts not yet delivered", registry=r)
        self.dlq_available = Gauge(p + "dlq_available", "1 while the dead-letter topic takes records",
                                   registry=r)
        self.dlq_available.set(1)
        self.dlq_waiting = Gauge(p + "dlq_waiting", "Dead letters sent, not yet acknowledged", registry=r)
        self.dlq_send_failures = Counter(p + "dlq_send_failures", "Dead-letter sends refused, retried",
                                         ["reason"], registry=r)
        self.dlq_truncated = Counter(p + "dlq_truncated", "Dead letters cut to fit the topic", registry=r)
        self.stories = Gauge(p + "stories", "Stories held in memory", registry=r)
        self.last_loop = Gauge(p + "last_loop_timestamp_seconds", "Last main loop turn", registry=r)
        self.rss = Gauge(p + "process_rss_bytes", "Resident memory", registry=r)
        self.rss.set_function(rss_bytes)
