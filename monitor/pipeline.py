"""The pure-ish middle of the daemon: articles in, alerts out (annotate, match, detect)."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import groupby

from monitor.annotate.annotator import Annotator
from monitor.annotate.parallel import ParallelAnnotator
from monitor.annotate.phrases import PhraseIndex
from monitor.detect.engine import Engine
from monitor.detect.feed import FeedNotice
from monitor.match import Matcher
from monitor.model import Alert, Annotated, Article
from monitor.obs.metrics import Metrics
from monitor.route import Router
from monitor.rules.schema import RuleSet

log = logging.getLogger("monitor.pipeline")
FeedListener = Callable[[FeedNotice], None]
Reject = Callable[[Article, str], None]  # an article the annotator failed on, and why


@dataclass(frozen=True)
class PreparedRules:
    """A rule set with what the stages build from it, made aside so that the swap is instant."""

    ruleset: RuleSet
    index: PhraseIndex
    matcher: Matcher
    router: Router

    @classmethod
    def of(cls, ruleset: RuleSet) -> PreparedRules:
        """Pure: safe on any thread while the loop runs on the rules in force."""
        return cls(ruleset, PhraseIndex(ruleset), Matcher(ruleset), Router(ruleset))


class Pipeline:
    """Annotate, match and detect one batch; the same object serves run, backtest and tests."""

    def __init__(
        self, ruleset: RuleSet, annotator: Annotator | ParallelAnnotator, engine: Engine, metrics: Metrics
    ) -> None:
        self.annotator = annotator
        self.engine = engine
        self.metrics = metrics
        self.matcher = Matcher(ruleset)
        self.router = Router(ruleset)
        self.ruleset = ruleset
        self.feed_listeners: list[FeedListener] = []  # e.g. the admin channel (monitor/service)
        self.last_feed_notice: FeedNotice | None = None
        self._counted: Counter[str] = Counter()
        metrics.rules_loaded.set(len(ruleset.enabled))

    def use_rules(self, rules: RuleSet | PreparedRules) -> set[str]:
        """Swap rules at once; returns the ids of rules whose state was dropped."""
        prepared = rules if isinstance(rules, PreparedRules) else PreparedRules.of(rules)
        ruleset = prepared.ruleset
        self.annotator.use_rules(ruleset, prepared.index)
        self.matcher = prepared.matcher
        self.router = prepared.router
        self.ruleset = ruleset
        self.metrics.rules_loaded.set(len(ruleset.enabled))
        return self.engine.use_rules(ruleset)

    def run(self, articles: Sequence[Article], reject: Reject | None = None) -> list[Alert]:
        """Alerts of one batch. With ``reject``, an article the annotator fails on is handed to it
        (the run loop dead-letters it) and the rest of the batch goes on; without, the error
        propagates."""
        if not articles:
            return []
        started = time.perf_counter()
        skipped_before = self.annotator.skipped
        inside_before = getattr(self.annotator, "inside_names", 0)
        sense_before = getattr(self.annotator, "other_sense", 0)
        articles, items = self._annotate(articles, reject)
        self.metrics.nlp_batch_seconds.observe(time.perf_counter() - started)
        self.metrics.articles.inc(len(articles))
        self.metrics.prefilter_skipped.inc(self.annotator.skipped - skipped_before)
        self.metrics.dropped.labels(reason="alias_inside_other_name").inc(
            getattr(self.annotator, "inside_names", 0) - inside_before)
        self.metrics.dropped.labels(reason="keyword_in_a_name").inc(
            getattr(self.annotator, "other_sense", 0) - sense_before)
        below = self.matcher.below
        # a copy is kept, but counted once; so is a lone article until another supports it
        reasons = ("late", "duplicate", "syndicated_copy", "lone_held")
        before = [self.engine.counters[r] for r in reasons]
        alerts: list[Alert] = []
        # One moment at a time: the articles of one publication time are counted toward the
        # feed, then detected. What a detector reads of the feed is then the feed up to this
        # moment, in whatever order ties arrive and wherever batches were cut (a read that saw
        # the rest of its batch made a spike's usual rate depend on a restart's batch cuts).
        pairs = list(zip(articles, items, strict=True))
        for _, moment in groupby(pairs, key=lambda pair: pair[0].published_at):
            group = list(moment)
            self.engine.observe_feed([a for a, _ in group])
            matches = self.matcher.match([it for _, it in group])
            for m in matches:
                self.metrics.matches.labels(rule=m.rule_id).inc()
            alerts += self.engine.process(matches)
        self.metrics.dropped.labels(reason="low_relevance").inc(self.matcher.below - below)
        for reason, was in zip(reasons, before, strict=True):
            self.metrics.dropped.labels(reason=reason).inc(self.engine.counters[reason] - was)
        return self.route(alerts)

    def _annotate(self, articles: Sequence[Article], reject: Reject | None
                  ) -> tuple[Sequence[Article], list[Annotated]]:
        """The batch at once; when that raises, one article at a time, to find the one to blame."""
        try:
            return articles, self.annotator.annotate(articles)
        except Exception:
            if reject is None:
                raise
        kept: list[Article] = []
        items: list[Annotated] = []
        for article in articles:
            try:
                (item,) = self.annotator.annotate([article])
            except Exception as exc:  # a valid article nobody foresaw: it must not stop the loop
                why = f"{type(exc).__name__}: {exc}"[:300]
                log.error("annotate_failed", extra={"article": article.id, "error": why})
                reject(article, why)
                continue
            kept.append(article)
            items.append(item)
        return kept, items

    def tick(self, now: float) -> list[Alert]:
        alerts = self.engine.tick(now)
        self._feed_notices()
        return self.route(alerts)

    def flush(self) -> list[Alert]:
        """The alerts still held for their story-moment: the end of a replay."""
        return self.route(self.engine.flush())

    def _feed_notices(self) -> None:
        notices, self.engine.notices = self.engine.notices, []
        for n in notices:
            self.last_feed_notice = n
            self.metrics.feed_notices.labels(kind=n.kind).inc()
            self.metrics.feed_degraded.set(1 if n.kind == "degraded" else 0)
            log.warning(f"feed_{n.kind}", extra={
                "at": datetime.fromtimestamp(n.at, UTC).isoformat(), "count": n.count,
                "expected": round(n.expected, 1), "window_s": n.window_s})
            for listener in self.feed_listeners:
                listener(n)

    def feed_status(self) -> dict[str, object]:
        """For /readyz: whether the feed runs at its usual rate (a degraded feed is still ready)."""
        state = self.engine.feed.state
        if state.first is None:
            return {"status": "unknown"}
        since = state.degraded_since
        out: dict[str, object] = {"status": "normal" if since is None else "degraded"}
        if since is not None:
            out["since"] = datetime.fromtimestamp(since, UTC).isoformat()
        n = self.last_feed_notice
        if n is not None:
            out.update(last_change=n.kind, at=datetime.fromtimestamp(n.at, UTC).isoformat(),
                       count=n.count, expected=round(n.expected, 1), window_s=n.window_s)
        return out

    def route(self, alerts: Sequence[Alert]) -> list[Alert]:
        """Count what the detectors raised, then keep what is neither silenced nor repeated."""
        count_signals(self.metrics, self.engine.counters, self._counted)
        return route_counted(self.metrics, self.router, alerts)


def count_signals(metrics: Metrics, counters: Counter[str], counted: Counter[str]) -> None:
    """Suppressed and merged signals (an engine's ``kind:reason`` counters) into the metrics,
    what is new since ``counted`` (updated here)."""
    for key, total in counters.items():
        new = total - counted[key]
        if new <= 0 or ":" not in key:
            continue
        counted[key] = total
        head, reason = key.split(":", 1)
        if head == "merged":
            metrics.merged.labels(reason=reason).inc(new)
        elif head == "stories_merged":
            metrics.stories_merged.labels(reason=reason).inc(new)
        else:
            metrics.suppressed.labels(kind=head, reason=reason).inc(new)


def route_counted(metrics: Metrics, router: Router, alerts: Sequence[Alert]) -> list[Alert]:
    """Count the alerts raised, route them, count the ones silenced or repeated; the rest."""
    for a in alerts:
        metrics.alerts.labels(rule=a.rule, kind=a.kind).inc()
    kept, dropped = router.route(alerts)
    for _, reason in dropped:
        metrics.dropped.labels(reason=reason).inc()
    return kept
