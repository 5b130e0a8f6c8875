"""A rule's word in another sense or story: the lone article (monitor/topic.py).

Round 5's held-out readers found keyword-led rules counting "bleaching" in a piece on
cleaning bins, "Grand Slam" in a rugby headline, "drug testing" of benefit claimants. Such an
article names one of the rule's terms and nothing else of its topic; it counts only once
another article of the story shares its subject. The articles here are fictional.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.app import backtest
from monitor.detect.state import Event, StoryState
from monitor.model import Annotated, Article, Match
from monitor.roles.records import Origin, decode, encode_match
from monitor.rules import load_rules
from monitor.rules.schema import MatchSpec, Rule
from monitor.settings import Settings
from monitor.topic import lone

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)

RULES = """
rules:
  - id: coral-reef
    description: Mass coral bleaching on the Tarrow Reef, the scientists' surveys, and storm damage
    match:
      keywords: [Tarrow Reef, bleaching, coral bleaching, reef]
    threshold: {count: 2, window: 2d}
    any: {min_interval: 1h}
    detect: [any]
    cooldown: 1d
  - id: coral-reef-count
    description: Mass coral bleaching on the Tarrow Reef, the scientists' surveys, and storm damage
    match:
      keywords: [Tarrow Reef, bleaching, coral bleaching, reef]
    threshold: {count: 2, window: 2d}
    detect: [threshold]
    cooldown: 1d
  - id: storms
    description: Storms, floods and cyclones anywhere - a beat
    match:
      keywords: [storm, floods, cyclone]
    threshold: {count: 2, window: 1d}
    detect: [threshold]
    cooldown: 1d
"""

REEF = ("Coral bleaching spreads along the Tarrow Reef",
        "Marine scientists surveying the Tarrow Reef found bleaching on two thirds of the coral they "
        "checked. The survey team said warm water had stayed over the reef for six weeks.")
REEF_2 = ("Divers map bleached coral on the Tarrow Reef",
          "A second survey of the Tarrow Reef by university scientists counted dead coral in the "
          "northern section, where bleaching was worst last summer.")
BINS = ("School caretakers told to stop bleaching the bins",
        "Caretakers at the Holm Lane school were told to stop bleaching the kitchen bins every night "
        "after parents complained about the smell in the playground. The head teacher said a "
        "cleaning firm would take over the work from next week.")
SNOW = ("Winter storm buries the Vell valley",
        "Snow up to a metre deep closed roads across the Vell valley and the regional airport cancelled "
        "every flight. Forecasters said the blizzard would ease by the weekend.")
SNOW_2 = ("Blizzard strands drivers in the Vell valley",
          "Hundreds of drivers spent the night in their cars as snow closed the valley road, and the "
          "airport cancelled flights for a second day. The storm is expected to move east.")


def _article(id: str, hours: float, headline: str, body: str) -> dict[str, str]:
    return {"id": id, "title": headline, "body": body,
            "published_at": (T0 + timedelta(hours=hours)).isoformat()}


def _run(tmp_path: Path, articles: list[dict[str, str]]) -> list[tuple[str, str, list[str]]]:
    (tmp_path / "rules.yaml").write_text(RULES)
    stream = tmp_path / "articles.jsonl"
    stream.write_text("".join(json.dumps(a) + "\n" for a in articles))
    alerts = backtest(Settings(), load_rules([tmp_path / "rules.yaml"]), stream, nlp=None)
    return [(a.rule, a.kind, [x.id for x in a.articles]) for a in alerts]


def test_a_rule_word_in_another_sense_neither_counts_nor_is_forwarded(tmp_path: Path) -> None:
    got = _run(tmp_path, [_article("reef", 0, *REEF), _article("bins", 5, *BINS)])
    assert got == [("coral-reef", "any", ["reef"])], got  # no threshold of 2, no "any" for the bins


def test_a_second_article_on_the_story_makes_the_count_and_the_lone_one_stays_out(tmp_path: Path) -> None:
    got = _run(tmp_path, [_article("reef", 0, *REEF), _article("bins", 5, *BINS),
                          _article("reef2", 9, *REEF_2)])
    assert ("coral-reef-count", "threshold", ["reef", "reef2"]) in got, got
    assert ("coral-reef", "any", ["reef2"]) in got, got
    assert all("bins" not in ids for _, _, ids in got), got


def test_lone_articles_that_share_their_subject_support_each_other(tmp_path: Path) -> None:
    """Two blizzard pieces name only "storm" of the rule, but they tell one story."""
    got = _run(tmp_path, [_article("snow", 0, *SNOW), _article("snow2", 4, *SNOW_2)])
    assert got == [("storms", "threshold", ["snow", "snow2"])], got


def test_a_lone_article_and_one_on_another_subject_make_no_count(tmp_path: Path) -> None:
    jets = ("Storm of protest over the Vell airport fee", "Airlines said a new fee at the Vell regional "
            "airport would cost travellers more. The transport board will meet to discuss it.")
    got = _run(tmp_path, [_article("snow", 0, *SNOW), _article("fee", 3, *jets)])
    assert got == [], got


def _item(keywords: tuple[str, ...], terms: tuple[str, ...], actors: tuple[str, ...] = ()) -> Annotated:
    return Annotated(Article("x", "t", T0), {a: a for a in actors}, frozenset(keywords), terms)


REEF_RULE = Rule("coral-reef", MatchSpec(keywords=("tarrow reef", "bleaching", "coral bleaching", "reef")),
                 description="Mass coral bleaching on the Tarrow Reef, the scientists' surveys")


@pytest.mark.parametrize(("keywords", "terms", "is_lone"), [
    pytest.param(("bleaching",), ("school", "bin", "caretaker"), True, id="one-term-nothing-else"),
    pytest.param(("bleaching", "reef"), ("school", "bin"), False, id="two-terms"),
    pytest.param(("bleaching",), ("school", "scientist"), False, id="a-description-word"),
    pytest.param(("reef", "tarrow reef"), ("school",), True, id="two-forms-of-one-term"),
    pytest.param(("bleaching",), (), False, id="no-terms-cannot-tell"),
])
def test_what_makes_an_article_lone(keywords: tuple[str, ...], terms: tuple[str, ...], is_lone: bool) -> None:
    assert lone(_item(keywords, terms), REEF_RULE) is is_lone


def test_a_rule_with_one_term_and_next_to_no_description_has_no_lone_article() -> None:
    one = Rule("p", MatchSpec(keywords=("headscarf", "headscarves")), description="The headscarf ruling")
    assert not lone(_item(("headscarves",), ("fashion",)), one)
    framed = Rule("b", one.match, description="Any story where headscarves build up")  # no topic words
    assert not lone(_item(("headscarves",), ("fashion",)), framed)
    described = Rule("q", one.match, description="The court's ruling that employers may ban headscarves")
    assert lone(_item(("headscarves",), ("fashion",)), described)  # "ruling", "employers" are rare
    assert not lone(_item(("headscarves",), ("fashion", "court")), described)
    feed = Rule("f", MatchSpec(all=True), description="Everything")
    assert not lone(_item((), ("fashion",)), feed)


def test_a_held_article_is_counted_from_its_own_time_once_supported() -> None:
    state = StoryState("storms", "storms")
    words = ("snow", "blizzard", "airport", "forecaster", "snowplough", "avalanche", "valley")
    assert state.add(Event(at=10.0, id="a", title="t", terms=words, lone=True))
    assert state.held == {"a"} and state.count(0, 100) == 0 and state.counted(0, 100) == []
    assert state.add(Event(at=50.0, id="b", title="t", terms=("court", "fee")))  # another subject
    assert state.held == {"a"} and state.count(0, 100) == 1
    assert state.add(Event(at=60.0, id="c", title="t", terms=words[:5], lone=True))
    assert state.held == set() and state.count(0, 20) == 1 and state.count(0, 100) == 3


def test_a_copy_does_not_support_its_original() -> None:
    state = StoryState("storms", "storms")
    words = ("snow", "blizzard", "airport", "forecaster", "snowplough", "avalanche")
    state.add(Event(at=10.0, id="a", title="t", terms=words, lone=True))
    state.add(Event(at=11.0, id="a2", title="t", terms=words, lone=True, copy_of="a"))
    assert state.held == {"a", "a2"} and state.count(0, 100) == 0


def test_lone_central_and_headlined_survive_the_state_codec_and_the_match_record() -> None:
    for e in (Event(at=1.0, id="x", title="t", lone=True), Event(at=1.0, id="x", title="t", headlined=False)):
        assert Event.from_json(e.to_json()) == e
    assert not Event.from_json(Event(at=1.0, id="y", title="t").to_json()).lone
    item = _item(("bleaching",), ("school",))
    match = Match("coral-reef", item, 0.9, "in the lead", (), central=False, lone=True, headlined=False)
    record = decode(encode_match(match, Origin(0, 7)))
    got = record.match  # type: ignore[union-attr]
    assert got.lone and not got.central and not got.headlined


def test_an_event_keeps_only_the_opening_terms_its_rule_reads() -> None:
    """Grouping and topic support read an article's opening; shift and any read every term."""
    from dataclasses import replace

    from builders import item, ruleset

    from monitor.detect.engine import Engine
    from monitor.topic import OPENING_TERMS

    terms = tuple(f"word{i}" for i in range(200))
    counted = Rule("count", MatchSpec(actors=("a",), keywords=("strike",)), detect=("threshold",))
    forwarded = replace(counted, id="every", detect=("any",))
    engine = Engine(ruleset(counted, forwarded))
    it = item("x", 0, terms=terms)
    engine.process([Match("count", it), Match("every", it)])
    kept = {rule: len(e.terms) for (rule, _), state in engine.states.items() for e in state}
    assert kept == {"count": OPENING_TERMS, "every": 200}


def test_a_match_record_ships_the_terms_its_rule_reads() -> None:
    terms = tuple(f"word{i}" for i in range(200))
    match = Match("r", _item(("bleaching",), terms))
    opening = decode(encode_match(match, Origin(0, 1), terms=120)).match  # type: ignore[union-attr]
    whole = decode(encode_match(match, Origin(0, 1))).match  # type: ignore[union-attr]
    assert opening.item.terms == terms[:120] and whole.item.terms == terms
