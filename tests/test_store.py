"""The state store: one transaction per batch; stories keep their windows across restarts.

Every test runs on both backends: a SQLite file and a real PostgreSQL server.
"""

from __future__ import annotations

from pathlib import Path

from builders import item, matches, rule, ruleset
from postgres_fixtures import postgres_server as postgres_server  # the fixtures: one server a session
from postgres_fixtures import postgres_url as postgres_url
from postgres_fixtures import state_at as state_at

from monitor.detect.engine import Engine
from monitor.state.store import Store


def test_story_without_detector_state_keeps_its_events(state_at: Path | str) -> None:
    r = rule(count=10)  # never fires: its detector state stays small
    engine = Engine(ruleset(r))
    store = Store(state_at)
    engine.process(matches("r", item("1", 0), item("2", 1)))
    store.commit({("f", -1): 2}, engine.take_delta(), [])
    engine.process(matches("r", item("3", 2)))
    store.commit({("f", -1): 3}, engine.take_delta(), [])
    restored = store.restore({r.id: r.state_fingerprint})
    assert [e.id for _, _, e in restored.events] == ["1", "2", "3"]
    assert store.offsets("f") == {-1: 3}


def test_evicted_stories_leave_the_database(state_at: Path | str) -> None:
    r = rule(window_h=1, cooldown_h=1)
    engine = Engine(ruleset(r), grace_s=0)
    store = Store(state_at)
    engine.process(matches("r", item("1", 0)))
    store.commit({}, engine.take_delta(), [])
    engine.evict(now=item("x", 100).article.published_at.timestamp())
    store.commit({}, engine.take_delta(), [])
    assert store.restore({r.id: r.state_fingerprint}).events == []


def test_changed_rule_drops_its_state_on_restore(state_at: Path | str) -> None:
    engine = Engine(ruleset(rule()))
    store = Store(state_at)
    store.remember_rules({"r": rule().state_fingerprint})
    engine.process(matches("r", item("1", 0)))
    store.commit({}, engine.take_delta(), [])
    changed = rule(count=5)
    assert changed.state_fingerprint != rule().state_fingerprint
    assert store.restore({"r": changed.state_fingerprint}).events == []


def test_delivered_alerts_are_pruned_after_retention(state_at: Path | str) -> None:
    import time

    from monitor.detect.engine import Delta
    from monitor.notify.outbox import Outbox

    engine = Engine(ruleset(rule(count=1)))
    alerts = engine.process(matches("r", item("1", 0, story_id="s1"), item("2", 1, story_id="s2")))
    assert len(alerts) == 2
    store = Store(state_at)
    store.commit({}, Delta(), alerts)
    outbox = Outbox(state_at)
    first = outbox.next_ready(time.time())
    assert first is not None
    outbox.sent(first.seq, "1.0")
    assert store.prune_outbox(time.time() - 3600) == 0  # sent just now: kept
    assert store.prune_outbox(time.time() + 1) == 1  # only the delivered one goes
    assert outbox.counts() == {"pending": 1}


def test_a_commit_writes_the_stories_of_the_rules_its_batch_touched(state_at: Path | str) -> None:
    a, b = rule("ra"), rule("rb")
    fingerprints = {r.id: r.state_fingerprint for r in (a, b)}
    engine, store = Engine(ruleset(a, b)), Store(state_at)
    engine.process(matches("ra", item("1", 0, terms=("port", "strike"))) +
                   matches("rb", item("2", 0, terms=("rail", "strike"))))
    first = engine.take_delta()
    assert set(first.stories) == {"ra", "rb"}
    store.commit({}, first, [])
    engine.process(matches("ra", item("3", 1, terms=("port", "dock"))))
    second = engine.take_delta()
    assert set(second.stories) == {"ra"}  # rb did not change: its row is not rewritten
    store.commit({}, second, [])
    assert engine.take_delta().stories == {}

    restored = store.restore(fingerprints)
    assert restored.stories == engine.stories.to_json()
    again = Engine(ruleset(a, b))
    again.restore(restored.events, restored.states, restored.stories, restored.watermark)
    assert again.stories.to_json() == engine.stories.to_json()


def test_stories_of_a_changed_or_removed_rule_leave_the_database(state_at: Path | str) -> None:
    a, b = rule("ra"), rule("rb")
    engine, store = Engine(ruleset(a, b)), Store(state_at)
    store.remember_rules({r.id: r.state_fingerprint for r in (a, b)})
    engine.process(matches("ra", item("1", 0)) + matches("rb", item("2", 0)))
    store.commit({}, engine.take_delta(), [])
    changed = rule("ra", count=5)
    restored = store.restore({"ra": changed.state_fingerprint, "rb": b.state_fingerprint})
    assert set(restored.stories) == {"rb"}

    engine.use_rules(ruleset(b))  # a hot reload that removes rb's neighbour ra
    engine.process(matches("rb", item("3", 1)))
    engine.use_rules(ruleset(a))  # and one that removes rb
    delta = engine.take_delta()
    assert delta.stories.get("rb", "kept") is None
    store.commit({}, delta, [])
    assert store.db.execute("SELECT rule FROM stories").fetchall() == []


def test_stories_kept_in_one_document_by_earlier_versions_are_split_on_restore(state_at: Path | str) -> None:
    import json

    a, b = rule("ra"), rule("rb")
    engine, store = Engine(ruleset(a, b)), Store(state_at)
    engine.process(matches("ra", item("1", 0)) + matches("rb", item("2", 0)))
    store.commit({}, engine.take_delta(), [])
    whole = engine.stories.to_json()
    store.db.execute("DELETE FROM stories")
    store.db.execute("INSERT INTO meta (key, value) VALUES ('stories', ?)", (json.dumps(whole),))
    restored = store.restore({"ra": a.state_fingerprint, "rb": b.state_fingerprint})
    assert restored.stories == whole
    assert store.db.execute("SELECT count(*) FROM meta WHERE key='stories'").fetchone() == (0,)
    assert store.restore({"ra": a.state_fingerprint, "rb": b.state_fingerprint}).stories == whole


def test_a_folded_fragment_s_articles_are_kept_under_their_new_story(state_at: Path | str) -> None:
    from test_fragments import SIDE, feed_rule, two_stories
    from test_stories import flights

    r = feed_rule()
    engine, store = Engine(ruleset(r), grace_s=86400), Store(state_at)
    engine.process(matches(r.id, *two_stories(), SIDE))
    store.commit({}, engine.take_delta(), [])
    engine.process(matches(r.id, flights("f6", 56, 6)))  # a day later: the fragment folds
    assert engine.counters["stories_merged:fragment"] == 1
    store.commit({}, engine.take_delta(), [])
    restored = store.restore({r.id: r.state_fingerprint})
    held = sorted((story, e.id) for _, story, e in restored.events)
    assert ("feed", "side") in held and not [s for s, _ in held if s == "feed/picket-3"]
    again = Engine(ruleset(r), grace_s=86400)
    again.restore(restored.events, restored.states, restored.stories, restored.watermark)
    assert [c.name for c in again.stories.rules[r.id].clusters] == ["feed", "feed/airline-2"]
