"""new_actor does not announce whom an earlier message of the story already showed the desk.

Round 3's readers: "Cyclone Debbie was already named in the previous day's alert on the same
two articles"; "De Lima was already flagged the day before; this repeats it with one more
article". A threshold message carried the articles, the name in their headlines; the
new_actor message a day later told it as news.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from builders import article, item, ruleset
from test_detectors import actor_rule

from monitor.detect.engine import Engine
from monitor.model import Annotated, Match
from monitor.rules.schema import MatchSpec, Rule, Threshold


def _rule() -> Rule:
    r = actor_rule(min_articles=3)
    return replace(r, detect=("threshold", "new_actor"), threshold=Threshold(2, timedelta(hours=6)))


def _newcomer(id: str, hours: float, title: str) -> Match:
    base = item(id, hours, actors=("a",), story_id="s")
    it = Annotated(article(id, hours, title=title, story_id="s"), {"a": "A", "person:okafor": "Ada Okafor"},
                   base.keywords)
    return Match("r", it, cast=(("person:okafor", 1.0, "Ada Okafor spoke."),))


@pytest.mark.parametrize(("titles", "told"), [
    pytest.param(("Okafor takes over the strike talks", "Union turns to Okafor"), False,
                 id="named-in-the-headlines-the-threshold-carried"),
    pytest.param(("Strike talks resume", "Union meets again"), True, id="named-only-in-their-bodies"),
])
def test_a_name_an_earlier_message_showed_is_not_new(titles: tuple[str, str], told: bool) -> None:
    r = _rule()
    engine = Engine(ruleset(r))
    for i, h in enumerate((0, 10, 20, 30)):
        engine.process([Match(r.id, item(f"o{i}", h, actors=("a",), story_id="s"))])
    first = [a for i, h in enumerate((40, 41)) for a in engine.process([_newcomer(f"n{i}", h, titles[i])])]
    assert [a.kind for a in first] == ["threshold"]  # two articles: the count, not yet 3 for new_actor
    later = engine.process([_newcomer("n2", 50, "Talks go on into the night")])
    shown = [c.term for a in later if a.changes for c in a.changes.new_actors]
    assert shown == (["Ada Okafor"] if told else []), later
    assert engine.counters["new_actor:already_told"] == (0 if told else 1)


def _fuller_name_run(aliases: tuple[str, ...], newcomer: tuple[str, str]) -> list[str]:
    from monitor.rules.schema import ActorDef, RuleSet

    r = replace(actor_rule(), match=MatchSpec(any_actors=("a",), keywords=("strike",)))
    rs = RuleSet(actors={"a": ActorDef("a", aliases[0], aliases)}, rules=(r,))
    engine = Engine(rs)
    for i, h in enumerate((0, 10, 20, 30)):
        engine.process([Match(r.id, item(f"o{i}", h, actors=("a",), story_id="s"))])
    alerts = []
    for i, h in enumerate((40, 41)):
        it = Annotated(article(f"n{i}", h, story_id="s"), {"a": aliases[0], newcomer[0]: newcomer[1]},
                       frozenset({"strike"}))
        alerts += engine.process([Match(r.id, it, cast=((newcomer[0], 1.0, f"{newcomer[1]} spoke."),))])
    return [c.term for a in alerts if a.changes for c in a.changes.new_actors]


@pytest.mark.parametrize(("aliases", "newcomer", "shown"), [
    pytest.param(("Vardania", "Kestrel"), ("person:kestrel", "Ivo Kestrel"), [],
                 id="the-fuller-name-of-a-one-word-alias-is-the-rule's-actor"),
    pytest.param(("Mara Kestrel", "Kestrel"), ("person:kestrel", "Ivo Kestrel"), ["Ivo Kestrel"],
                 id="another-person-of-the-actor's-surname-is-new"),
])
def test_a_rule_actor_named_in_full_is_not_new(aliases: tuple[str, ...], newcomer: tuple[str, str],
                                               shown: list[str]) -> None:
    assert _fuller_name_run(aliases, newcomer) == shown
