"""The state store: one transaction per batch; stories keep their windows across restarts."""

from __future__ import annotations

from pathlib import Path

from builders import item, matches, rule, ruleset

from monitor.detect.engine import Engine
from monitor.state.store import Store


def test_story_without_detector_state_keeps_its_events(tmp_path: Path) -> None:
    r = rule(count=10)  # never fires: its detector state stays small
    engine = Engine(ruleset(r))
    store = Store(tmp_path)
    engine.process(matches("r", item("1", 0), item("2", 1)))
    store.commit({("f", -1): 2}, engine.take_delta(), [])
    engine.process(matches("r", item("3", 2)))
    store.commit({("f", -1): 3}, engine.take_delta(), [])
    restored = store.restore({r.id: r.state_fingerprint})
    assert [e.id for _, _, e in restored.events] == ["1", "2", "3"]
    assert store.offsets("f") == {-1: 3}


def test_evicted_stories_leave_the_database(tmp_path: Path) -> None:
    r = rule(window_h=1, cooldown_h=1)
    engine = Engine(ruleset(r), grace_s=0)
    store = Store(tmp_path)
    engine.process(matches("r", item("1", 0)))
    store.commit({}, engine.take_delta(), [])
    engine.evict(now=item("x", 100).article.published_at.timestamp())
    store.commit({}, engine.take_delta(), [])
    assert store.restore({r.id: r.state_fingerprint}).events == []


def test_changed_rule_drops_its_state_on_restore(tmp_path: Path) -> None:
    engine = Engine(ruleset(rule()))
    store = Store(tmp_path)
    store.remember_rules({"r": rule().state_fingerprint})
    engine.process(matches("r", item("1", 0)))
    store.commit({}, engine.take_delta(), [])
    changed = rule(count=5)
    assert changed.state_fingerprint != rule().state_fingerprint
    assert store.restore({"r": changed.state_fingerprint}).events == []


def test_delivered_alerts_are_pruned_after_retention(tmp_path: Path) -> None:
    import time

    from monitor.detect.engine import Delta
    from monitor.notify.outbox import Outbox

    engine = Engine(ruleset(rule(count=1)))
    alerts = engine.process(matches("r", item("1", 0, story_id="s1"), item("2", 1, story_id="s2")))
    assert len(alerts) == 2
    store = Store(tmp_path)
    store.commit({}, Delta(), alerts)
    outbox = Outbox(tmp_path)
    first = outbox.next_ready(time.time())
    assert first is not None
    outbox.sent(first.seq, "1.0")
    assert store.prune_outbox(time.time() - 3600) == 0  # sent just now: kept
    assert store.prune_outbox(time.time() + 1) == 1  # only the delivered one goes
    assert outbox.counts() == {"pending": 1}
