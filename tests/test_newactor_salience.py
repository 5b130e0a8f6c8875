"""new_actor: "new" over the story's whole life, ranked by salience, at most three shown."""

from __future__ import annotations

from builders import T0, item, ruleset
from test_detectors import actor_rule, arts, play

from monitor.detect.engine import Engine
from monitor.detect.newactor import MAX_LISTED, SEEN_MAX, _remember
from monitor.detect.state import Event
from monitor.model import Match

H = 3600.0


def test_an_actor_named_ten_days_earlier_is_not_new_again() -> None:
    steps = arts(0, 10, 20, 30, actors=("a", "b"))
    steps += arts(40, 45, prefix="c", actors=("a", "b", "c"))  # c walks in: told
    steps += arts(*[60 + 24 * d for d in range(10)], prefix="k", actors=("a", "b"))  # c gone for 10 days
    steps += arts(300, 302, prefix="back", actors=("a", "b", "c"))  # baseline (7d) no longer holds c
    assert [g[:2] for g in play(actor_rule(), steps)] == [("new_actor", 45)]


def test_a_stranger_after_ten_days_is_still_new() -> None:
    steps = arts(0, 10, 20, 30, actors=("a", "b"))
    steps += arts(*[60 + 24 * d for d in range(10)], prefix="k", actors=("a", "b"))
    steps += arts(300, 302, prefix="d", actors=("a", "b", "d"))
    assert [g[:2] for g in play(actor_rule(), steps)] == [("new_actor", 302)]


def test_the_memory_of_a_story_is_bounded() -> None:
    slot: dict = {}
    for i in range(SEEN_MAX + 50):
        _remember(slot, Event(at=float(i), id=str(i), title="t", actors=((f"person:p{i}", f"P {i}"),)))
    assert len(slot["seen"]) == SEEN_MAX
    assert "person:p0" not in slot["seen"] and f"person:p{SEEN_MAX + 49}" in slot["seen"]  # oldest forgotten


def test_new_actors_are_ranked_by_salience_and_three_are_shown_with_their_sentence() -> None:
    r = actor_rule()
    engine = Engine(ruleset(r))
    for i, h in enumerate((0, 10, 20, 30)):
        engine.process([Match(r.id, item(f"o{i}", h, actors=("a",), story_id="s"))])
    newcomers = ("person:adams", "org:css", "place:delhi", "person:putin", "org:g20")
    names = {"person:adams": "Ann Adams", "org:css": "CSS", "place:delhi": "Delhi",
             "person:putin": "Vladimir Putin", "org:g20": "G20"}
    salience = {"person:putin": 2.0, "place:delhi": 0.15, "person:adams": 1.2, "org:g20": 0.6,
                "org:css": 0.55}
    alerts = []
    for i, h in enumerate((40, 41)):
        base = item(f"n{i}", h, actors=("a", *newcomers), story_id="s")
        it = type(base)(base.article, {"a": "A", **names}, base.keywords)
        cast = tuple((a, salience[a], f"{names[a]} said something.") for a in newcomers)
        alerts += engine.process([Match(r.id, it, cast=cast)])
    (alert,) = alerts
    assert alert.changes is not None
    shown = alert.changes.new_actors
    assert [c.term for c in shown] == ["Vladimir Putin", "Ann Adams", "G20"]  # not alphabetical
    assert len(shown) == MAX_LISTED == 3
    assert shown[0].context == "Vladimir Putin said something."
    assert "and 1 less central" in alert.reason  # Delhi is a place: left out
    assert alert.at.timestamp() == T0.timestamp() + 41 * H


def test_events_keep_why_and_cast_across_a_restart_and_read_old_state() -> None:
    e = Event(at=1.0, id="x", title="t", actors=(("person:putin", "Vladimir Putin"),),
              why="Syria in the headline",
              cast=(("person:putin", 1.45, "Vladimir Putin welcomed the shift."),))
    assert Event.from_json(e.to_json()) == e
    old = e.to_json()[:8]  # saved before relevance existed
    assert Event.from_json(old) == Event(at=1.0, id="x", title="t", actors=e.actors)
