"""The window-state and detect stages, wired in one place."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from monitor.detect import kinds
from monitor.detect.alerts import build_alert
from monitor.detect.base import Signal
from monitor.detect.feed import FeedNotice, FeedParams, FeedState, FeedTracker
from monitor.detect.fragments import Fold
from monitor.detect.lifecycle import rewind
from monitor.detect.moments import MomentMerger, MomentParams, Moments
from monitor.detect.silence import FeedBoard
from monitor.detect.state import Event, StoryState
from monitor.detect.stories import StoryAssigner
from monitor.model import Alert, Article, Match
from monitor.rules.schema import Rule, RuleSet
from monitor.topic import OPENING_TERMS, reads_all_terms

StoryKey = tuple[str, str]  # (rule id, story)


@dataclass
class Delta:
    """What changed since the last commit: written in one transaction with the offsets."""

    events: list[tuple[str, str, Event]] = field(default_factory=list)
    states: dict[StoryKey, dict[str, Any]] = field(default_factory=dict)
    dropped_rules: set[str] = field(default_factory=set)
    dropped_stories: set[StoryKey] = field(default_factory=set)
    stories: dict[str, dict[str, Any] | None] = field(default_factory=dict)  # rule -> its stories, changed
    watermark: float | None = None
    feed: dict[tuple[str, int], int] = field(default_factory=dict)  # (source, bucket) -> count, changed
    feed_state: FeedState | None = None  # its status and first article (counts travel in ``feed``)
    moments: Moments | None = None  # alerts held for the rest of their story-moment
    moved: list[tuple[str, str, Event]] = field(default_factory=list)  # (rule, new story, event) of a fold


class Engine:
    """Keeps each rule's stories, feeds them to the rule's detectors, and returns alerts."""

    def __init__(
        self, ruleset: RuleSet, *, grace_s: float = 600.0,
        stories: StoryAssigner | None = None,
        feed: FeedParams | None = None, moments: MomentParams | None = None,
    ) -> None:
        self.counters: Counter[str] = Counter()
        self.feed = FeedBoard(FeedTracker(feed))
        self.detectors = kinds.build(kinds.Wiring(self.feed, self.counters, self.elsewhere, self._aliases))
        self.merger = MomentMerger(moments, self.counters) if moments is not None else None
        self.moments = Moments()
        self.notices: list[FeedNotice] = []  # feed status changes not yet taken by the pipeline
        self.stories = stories or StoryAssigner()
        self.grace_s = grace_s
        self.states: dict[StoryKey, StoryState] = {}
        self.watermark = float("-inf")
        self._feed_time = float("-inf")  # the newest article of the feed, matched or not
        self._delta = Delta()
        self._rules: dict[str, Rule] = {}
        self._held: dict[tuple[str, str], str] = {}  # (rule, article) -> the story holding it
        self.use_rules(ruleset)

    def use_rules(self, ruleset: RuleSet) -> set[str]:
        """Swap the rule set; a rule whose match or windows changed starts from empty state."""
        old = self._rules
        self.ruleset = ruleset
        self._rules = {r.id: r for r in ruleset.enabled}
        dropped = {
            rid for rid, r in old.items()
            if rid not in self._rules or self._rules[rid].state_fingerprint != r.state_fingerprint
        }
        for key in [k for k in self.states if k[0] in dropped]:
            del self.states[key]
        for rid in dropped:
            self.stories.forget_rule(rid)
        self._delta.dropped_rules |= dropped
        return dropped

    def _aliases(self, actor: str) -> tuple[str, ...]:
        found = self.ruleset.actors.get(actor)
        return (found.name, *found.aliases) if found is not None else ()

    def observe_feed(self, articles: Iterable[Article]) -> None:
        """Count every decoded article, matched or not, toward the feed's rate.

        The feed moves event time too (once the batch's matches are in, see ``process``): a
        story goes quiet while unmatched news keeps coming, and the backtest's tick at the
        watermark must see that time pass.
        """
        articles = list(articles)
        self.feed.state, changed = self.feed.tracker.observe(self.feed.state, articles)
        self._delta.feed.update(changed)
        if articles:
            self._feed_time = max(self._feed_time, max(a.published_at.timestamp() for a in articles))

    def process(self, matches: Iterable[Match]) -> list[Alert]:
        alerts: list[Alert] = []
        for m in matches:
            rule = self._rules.get(m.rule_id)
            if rule is None:
                continue
            event = Event.of(m.item, m)
            if len(event.terms) > OPENING_TERMS and not reads_all_terms(rule):
                event = replace(event, terms=event.terms[:OPENING_TERMS])  # what grouping and topic read
            if event.at < self.watermark - self.grace_s:
                self.counters["late"] += 1
                continue
            self.watermark = max(self.watermark, event.at)
            known = None if m.item.article.story_id else self._known(rule.id, event.id)
            if known is not None:  # a redelivery: its story holds it already
                self.counters["duplicate"] += 1
                continue
            for fold in self.stories.absorb(rule, event.at):
                self._fold(fold)
            placed = self.stories.place(rule, m.item, event)
            if placed.copy_of is not None:
                event = replace(event, copy_of=placed.copy_of)
            state = self._state(rule.id, placed.story)
            if not state.add(event):
                self.counters["duplicate"] += 1
                continue
            if event.id in state.held:  # counted once another article of the story supports it
                self.counters["lone_held"] += 1
            self._held[(rule.id, event.id)] = placed.story
            self.stories.commit(rule, placed)
            if placed.copy_of is not None:
                self.counters["syndicated_copy"] += 1
            story = placed.story
            self._delta.events.append((rule.id, story, event))
            now = state.latest or event.at
            for kind in rule.detect:
                detector = self.detectors.get(kind)
                if detector is not None:
                    alerts += self._alerts(rule, state, detector.observe(rule, state, event, now))
        self.watermark = max(self.watermark, self._feed_time)
        self._delta.watermark = self.watermark
        return self._moment(alerts, self.watermark)

    def tick(self, now: float) -> list[Alert]:
        """Time passed without articles (wall clock in the daemon, event time in backtests)."""
        alerts: list[Alert] = []
        for (rule_id, _), state in list(self.states.items()):
            rule = self._rules.get(rule_id)
            if rule is None:
                continue
            for kind in rule.detect:
                detector = self.detectors.get(kind)
                if detector is not None:
                    alerts += self._alerts(rule, state, detector.tick(rule, state, now))
        self.feed.state, notices = self.feed.tracker.status(self.feed.state, now)
        self.notices += notices
        return self._moment(alerts, now)

    def flush(self) -> list[Alert]:
        """Every held alert, now: the end of a replay, when event time stops."""
        return self._moment([], float("inf"))

    def _moment(self, alerts: list[Alert], now: float) -> list[Alert]:
        """Hold alerts for the rest of their story-moment (when merging is on; the App turns it on)."""
        if self.merger is None:
            return alerts
        self.moments, passed = self.merger.offer(self.moments, alerts)
        self.moments, done = self.merger.release(self.moments, now)
        return sorted(passed + done, key=lambda a: a.at)

    def advance(self, now: float) -> None:
        """Event time reached ``now`` with no article (a live feed's wall clock, see
        ``detect/watermark.py``): later articles are judged late against it."""
        self.watermark = max(self.watermark, now)

    def evict(self, now: float) -> int:
        """Forget events older than each rule's longest window; drop stories left empty and idle."""
        gone = 0
        for key, state in list(self.states.items()):
            rule = self._rules.get(key[0])
            span = rule.longest_window.total_seconds() if rule else 0.0
            gone += state.evict(now - span - self.grace_s)
            if not state.events:
                del self.states[key]
                self._delta.states.pop(key, None)
                self._delta.dropped_stories.add(key)
        self._held = {k: s for k, s in self._held.items()
                      if (held := self.states.get((k[0], s))) is not None and k[1] in held.ids}
        for rule in self._rules.values():
            self.stories.prune(rule, now - rule.longest_window.total_seconds() - self.grace_s)
        p = self.feed.tracker.p
        quiet = max((r.silence.after.total_seconds() for r in self._rules.values()), default=0.0)
        # a spike reads the feed's usual rate as far back as its own recent + baseline, and
        # then one feed baseline more: keep that much, or a pruned daemon reads less than a
        # backtest that never pruned
        spike = max(((r.spike.recent + r.spike.baseline).total_seconds() for r in self._rules.values()
                     if "spike" in r.detect), default=0.0)
        horizon = 2 * p.baseline.total_seconds() + p.window.total_seconds() + max(quiet, spike) + self.grace_s
        self.feed.state = self.feed.tracker.prune(self.feed.state, now - horizon)
        return gone

    def elsewhere(self, state: StoryState, actors: set[str], since: float, until: float) -> Counter[str]:
        """For each actor, the articles in (since, until] of the rule's other stories that name
        it and that ``state``'s story does not hold: whose story an actor is. Only the rule's
        own stories: a detect worker of a scaled deployment holds the rules of its partitions
        alone, and one process must announce what a scaled deployment announces."""
        seen: dict[str, set[str]] = defaultdict(set)
        rule = next((k[0] for k, s in self.states.items() if s is state), None)
        for key, other in self.states.items():
            if other is state or key[0] != rule:
                continue
            for e in other.between(since, until):
                if e.id not in state.ids:
                    for actor, _ in e.actors:
                        if actor in actors:
                            seen[actor].add(e.id)
        return Counter({a: len(ids) for a, ids in seen.items()})

    def _known(self, rule_id: str, article_id: str) -> str | None:
        """The story of the rule that already holds this article (a redelivery), if any: an
        index, checked against the story's state (an evicted or dropped story holds nothing)."""
        story = self._held.get((rule_id, article_id))
        if story is None:
            return None
        state = self.states.get((rule_id, story))
        if state is None or article_id not in state.ids:
            del self._held[(rule_id, article_id)]
            return None
        return story

    def _fold(self, fold: Fold) -> None:
        """Move a fragment story's articles into the story it is folded into; its detectors'
        state ends with it (counted as ``stories_merged:<reason>``)."""
        source = self.states.pop((fold.rule, fold.story), None)
        self.counters[f"stories_merged:{fold.reason}"] += 1
        if source is None:
            return
        target = self._state(fold.rule, fold.into)
        for event in source.events:
            if target.add(event):
                self._held[(fold.rule, event.id)] = fold.into
                self._delta.moved.append((fold.rule, fold.into, event))
        self._delta.states.pop((fold.rule, fold.story), None)
        self._delta.dropped_stories.add((fold.rule, fold.story))

    def _state(self, rule_id: str, story: str) -> StoryState:
        key = (rule_id, story)
        state = self.states.get(key)
        if state is None:
            state = self.states[key] = StoryState(rule_id, story)
        return state

    def _alerts(self, rule: Rule, state: StoryState, signals: list[Signal]) -> list[Alert]:
        self._delta.states[(state.rule, state.story)] = state.detectors
        return [build_alert(rule, self.ruleset, state.story, s) for s in signals]

    def take_delta(self) -> Delta:
        delta, self._delta = self._delta, Delta()
        for rule_id, story, _ in delta.events:
            state = self.states.get((rule_id, story))
            if state is not None:
                delta.states[(rule_id, story)] = state.detectors
        delta.stories = self.stories.take_changes()
        delta.watermark = self.watermark
        delta.feed_state, delta.moments = self.feed.state, self.moments
        return delta

    def restore(
        self, events: Iterable[tuple[str, str, Event]], states: Mapping[StoryKey, dict[str, Any]],
        stories: dict[str, Any] | None, watermark: float | None,
        feed: FeedState | None = None, moments: Moments | None = None,
    ) -> None:
        """Rebuild from persisted state (only rules still present with the same fingerprint)."""
        for rule_id, story, event in events:
            if rule_id in self._rules and self._state(rule_id, story).add(event):
                self._held[(rule_id, event.id)] = story
        for (rule_id, story), detectors in states.items():
            if rule_id in self._rules and detectors:
                self._state(rule_id, story).detectors = dict(detectors)
        if stories:
            self.stories.restore({rid: s for rid, s in stories.items() if rid in self._rules})
        if watermark is not None:
            self.watermark = watermark
            for state in self.states.values():
                for slot in state.detectors.values():
                    if isinstance(slot, dict):  # frozen states (silence) hold no ``checked``
                        rewind(slot, watermark)
        if feed is not None:
            self.feed.state = feed
        if moments is not None:
            self.moments = Moments(tuple(a for a in moments.held if a.rule in self._rules))
        self._delta = Delta()
