"""Frozen detector and feed state through JSON and the store: what goes in comes back out."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from builders import T0, article, item, matches, rule, ruleset
from postgres_fixtures import postgres_server as postgres_server  # the fixtures: one server a session
from postgres_fixtures import postgres_url as postgres_url
from postgres_fixtures import state_at as state_at

from monitor.detect.engine import Engine
from monitor.detect.moments import MomentParams
from monitor.detect.silence import SilenceState
from monitor.rules.schema import SilenceParams, SpikeParams
from monitor.state import codec
from monitor.state.store import Store

H = 3600.0


def test_silence_state_round_trips_with_its_infinities() -> None:
    for state in (SilenceState(), SilenceState(10.0, 10.0, 50.0, 40.0)):
        blob = codec.encode_detectors({"silence": state, "threshold": {"phase": "idle"}})
        assert codec.decode_detectors(blob) == {"silence": state, "threshold": {"phase": "idle"}}


def test_silence_state_of_earlier_versions_is_read() -> None:
    old = json.dumps({"silence": {"quiet_after": 36.0, "fired_at": 60.0}})
    assert codec.decode_detectors(old)["silence"] == SilenceState(told=36.0, fired_at=60.0)


def test_feed_counts_status_and_held_alerts_survive_a_restart(state_at: Path | str) -> None:
    r = rule(detect=("threshold", "spike", "silence"), count=3,
             spike=SpikeParams(min_count=3, warmup=timedelta(hours=1)),
             silence=SilenceParams(after=timedelta(hours=12)))
    engine = Engine(ruleset(r), grace_s=H, moments=MomentParams(hold_s=20 * H))
    store = Store(state_at)  # SQLite and PostgreSQL
    engine.observe_feed([replace(article(f"n{h}", h), source="wire") for h in range(0, 30)])
    for h in (28, 29, 30):
        engine.process(matches("r", item(f"s{h}", h, story_id="s")))
    assert engine.tick(T0.timestamp() + 43 * H) == []  # the feed stopped at 29: no silence at 42
    assert engine.moments.held  # and the threshold of 30 waits for the rest of its moment
    store.commit({}, engine.take_delta(), [])

    restored = store.restore({r.id: r.state_fingerprint})
    assert restored.feed is not None and restored.moments is not None
    assert restored.feed.counts == engine.feed.state.counts
    feed = engine.feed.state
    assert (restored.feed.first, restored.feed.checked) == (feed.first, feed.checked)
    assert restored.moments == engine.moments
    silence = restored.states[("r", "s")]["silence"]
    assert silence == engine.states[("r", "s")].detectors["silence"]
    assert silence.judged == T0.timestamp() + 42 * H and silence.fired_at is None


def test_state_documents_read_back_equal_whatever_writes_them() -> None:
    plain = {"next": 3, "clusters": [{"name": "r-2", "first": 1.5, "centroid": {"dock": 0.25}}], "df": {}}
    with_null = {"decayed": None, "df_at": None, "at": 7.0}
    odd = {"first": float("-inf"), "scale": float("inf")}  # orjson would write these as null
    for doc in (plain, with_null, odd, {1: "int key"}, [2**70, "big"]):
        assert json.loads(codec.dumps(doc)) == json.loads(json.dumps(doc))
    assert json.loads(codec.dumps(odd))["first"] == float("-inf")


def test_events_and_stories_documents_hold_no_infinity_so_orjson_alone_writes_them() -> None:
    """``codec.dumps_finite`` trusts the documents it writes to have no infinity or NaN: a
    rule's stories before any article (its unset time as null) and after some, and the
    events of its story, all pass the standard library's strict check and come back equal."""
    from monitor.detect.clusters import RuleStories

    engine = Engine(ruleset(rule("r", count=2)))
    engine.process(matches("r", *(item(f"a{i}", i, terms=("port", "dockers", f"day{i}")) for i in range(3))))
    docs = [RuleStories().to_json(), *(s.to_json() for s in engine.stories.rules.values())]
    events = [e.to_json() for state in engine.states.values() for e in state]
    assert len(docs) >= 2 and len(events) == 3
    for doc in [*docs, *events]:
        json.dumps(doc, allow_nan=False)  # raises on an infinity or NaN
        assert json.loads(codec.dumps_finite(doc)) == json.loads(json.dumps(doc))
