"""Stories within a rule: upstream ids, online clustering, stable names, persistence."""

from __future__ import annotations

import json
from typing import Any

from builders import item, matches, rule, ruleset

from monitor.detect.engine import Engine
from monitor.detect.stories import StoryAssigner
from monitor.model import Annotated
from monitor.rules.schema import MatchSpec, Rule

DOCKS = ("dock", "crane", "union", "pay offer", "harbour", "container", "night shift", "ballot")
FLIGHTS = ("airline", "pilot", "flight", "airport", "cabin crew", "runway", "passenger", "delay")


def about(words: tuple[str, ...], i: int) -> tuple[str, ...]:
    """An article of a story: most of the story's words, in a varying order, and one of its own."""
    turn = i % len(words)
    return (*(*words[turn:], *words[:turn])[:6], f"detail{i}")


def docks(id_: str, hours: float, i: int) -> Annotated:
    return item(id_, hours, actors=("a", "b"), terms=about(DOCKS, i))


def flights(id_: str, hours: float, i: int) -> Annotated:
    return item(id_, hours, actors=("a", "c"), terms=about(FLIGHTS, i))


def assign_all(r: Rule, items: list[Annotated], assigner: StoryAssigner | None = None) -> list[str]:
    assigner = assigner or StoryAssigner()
    out = []
    for it in items:
        placed = assigner.place(r, it)
        assigner.commit(r, placed)
        out.append(placed.story)
    return out


def two_stories() -> list[Annotated]:
    first = [docks(f"d{i}", i * 2, i) for i in range(4)]
    mixed = [
        flights("f0", 9, 0), docks("d4", 10, 4), flights("f1", 11, 1), docks("d5", 12, 5),
        flights("f2", 13, 2), flights("f3", 14, 3), docks("d6", 15, 6),
    ]
    return first + mixed


def test_upstream_story_id_wins() -> None:
    r = rule()
    assert StoryAssigner().place(r, item("1", 0, story_id="s-42")).story == "s-42"


def test_a_rule_with_one_story_names_it_after_the_rule() -> None:
    r = rule()
    assert set(assign_all(r, [docks(f"d{i}", i, i) for i in range(8)])) == {"r"}


def test_one_rule_follows_two_unrelated_stories() -> None:
    r = rule()
    got = dict(zip([it.article.id for it in two_stories()], assign_all(r, two_stories()), strict=True))
    assert {got[f"d{i}"] for i in range(7)} == {"r"}
    # the first flight article is a stray until a second one agrees with it
    assert got["f0"] == "r" and got["f1"] == got["f2"] == got["f3"] == "r/passenger-2"


def test_a_single_stray_article_never_opens_a_story() -> None:
    r = rule()
    items = [docks(f"d{i}", i, i) for i in range(4)] + [flights("f0", 5, 0)]
    items += [docks(f"d{i}", i + 2, i) for i in range(4, 8)]
    assert set(assign_all(r, items)) == {"r"}


def test_articles_that_say_too_little_join_the_story() -> None:
    r = rule()
    assert set(assign_all(r, [item(str(i), i) for i in range(5)])) == {"r"}


def test_stories_survive_a_restart() -> None:
    r = rule()
    items = two_stories()
    once = assign_all(r, items)
    for cut in range(1, len(items)):
        first = StoryAssigner()
        got = assign_all(r, items[:cut], first)
        second = StoryAssigner()
        second.restore(json.loads(json.dumps(first.to_json())))
        got += assign_all(r, items[cut:], second)
        assert got == once, cut


def test_a_duplicate_delivery_changes_nothing() -> None:
    r = rule(count=10)
    engine = Engine(ruleset(r), grace_s=86400)
    engine.process(matches(r.id, *two_stories()))
    before = json.dumps(engine.stories.to_json(), sort_keys=True)
    engine.process(matches(r.id, flights("f3", 14, 3)))
    assert engine.counters["duplicate"] == 1
    assert json.dumps(engine.stories.to_json(), sort_keys=True) == before


def test_an_expired_story_hands_its_name_on() -> None:
    r = rule()  # longest window: 6h
    items = [docks(f"d{i}", i, i) for i in range(3)] + [flights(f"f{i}", 20 + i, i) for i in range(3)]
    assert assign_all(r, items) == ["r"] * 6


def test_alerts_name_their_story() -> None:
    r = rule(count=3, window_h=24)
    engine = Engine(ruleset(r))
    alerts = engine.process(matches(r.id, *two_stories()))
    assert [(a.story, [x.id for x in a.articles]) for a in alerts] == [
        ("r", ["d0", "d1", "d2"]),
        ("r/passenger-2", ["f1", "f2", "f3"]),
    ]


def test_forgetting_a_rule_and_pruning_old_stories() -> None:
    r, other = rule(), rule("other")
    assigner = StoryAssigner()
    assign_all(r, two_stories(), assigner)
    assign_all(other, two_stories()[:3], assigner)
    assigner.forget_rule("other")
    assert set(assigner.rules) == {"r"}
    assert assigner.prune(r, before=12.5 * 3600 + two_stories()[0].article.published_at.timestamp()) == 0
    assert assigner.prune(r, before=1e12) == 2 and assigner.rules["r"].clusters == []


def test_persisted_form_is_plain_json() -> None:
    assigner = StoryAssigner()
    assign_all(rule(), two_stories(), assigner)
    data: dict[str, Any] = json.loads(json.dumps(assigner.to_json()))
    assert [c["name"] for c in data["r"]["clusters"]] == ["r", "r/passenger-2"]
    assert data["r"]["next"] == 3


def test_place_changes_nothing_until_commit() -> None:
    r, assigner = rule(), StoryAssigner()
    assign_all(r, two_stories()[:5], assigner)
    before = json.dumps(assigner.to_json(), sort_keys=True)
    nxt = flights("f9", 9.5, 9)
    first, again = assigner.place(r, nxt), assigner.place(r, nxt)
    assert first == again and json.dumps(assigner.to_json(), sort_keys=True) == before
    assigner.commit(r, first)
    assert json.dumps(assigner.to_json(), sort_keys=True) != before


def feed_rule() -> Rule:
    return rule("feed", match=MatchSpec(all=True), detect=("threshold", "spike"))


def test_a_feed_rule_keeps_unrelated_stories_apart_from_their_first_article() -> None:
    ids = [it.article.id for it in two_stories()]
    got = dict(zip(ids, assign_all(feed_rule(), two_stories()), strict=True))
    assert {got[f"d{i}"] for i in range(7)} == {"feed"}
    assert {got[f"f{i}"] for i in range(4)} == {"feed/airline-2"}


def test_an_article_that_fits_no_story_continues_a_burst_only_on_a_fine_clock() -> None:
    r = feed_rule()
    burst = [docks(f"d{i}", i / 3600, i) for i in range(3)]  # one second apart
    stray = item("x", 3.5 / 3600, actors=(), terms=("weather", "forecast", "rain", "wind"))
    assert assign_all(r, [*burst, stray]) == ["feed"] * 4
    day = [docks(f"d{i}", 12, i) for i in range(3)]  # day-dated: one time stamp for the day
    tie = item("x", 12, actors=(), terms=("weather", "forecast", "rain", "wind"))
    assert assign_all(r, [*day, tie])[-1].startswith("feed/weather-")
