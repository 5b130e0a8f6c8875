"""new_actor names actors that act in the rule's story: no places, outlets, tags, fragments,
the rule's own actors and keywords, or names dropped in passing (monitor/detect/cast.py)."""

from __future__ import annotations

import pytest
from builders import item, ruleset
from test_detectors import actor_rule

from monitor.detect.cast import SALIENT, why_not
from monitor.detect.engine import Engine
from monitor.detect.state import Event
from monitor.model import Match
from monitor.rules.schema import MatchSpec

H = 3600.0


def _ev(actor: str, name: str, salience: float | None) -> Event:
    cast = () if salience is None else ((actor, salience, f"{name} said so."),)
    return Event(at=0.0, id="e", title="t", actors=((actor, name),), cast=cast)


WHY_NOT = [
    ("person:okafor", "Ada Okafor", 1.0, None),  # in a headline
    ("org:harbour-trust", "Harbour Trust", 0.65, None),  # beside the rule's actors
    ("person:okafor", "Ada Okafor", None, None),  # no positions known: kept as before
    ("place:millbrook", "Millbrook", 1.0, "place"),  # a town where it happened
    ("org:d-ohio", "D-Ohio", 1.0, "not_a_name"),  # a party/state tag
    ("person:denied", "Lee Sun-ho,-denied", 1.0, "not_a_name"),  # merged NER debris
    ("org:capturing", "Capturing the Old Mill", 1.0, "not_a_name"),  # a headline fragment
    ("org:post", "Post", 1.0, "outlet"),  # the Washington Post, cut short
    ("org:bbc news ni", "BBC News NI", 1.0, "outlet"),  # an outlet's plug
    ("org:politico", "Politico", 1.0, "outlet"),
    ("person:quill", "Tom Quill", 0.15, "passing"),  # one sentence deep in the piece
    ("person:quill", "Tom Quill", SALIENT - 0.05, "passing"),  # three passing sentences
]


@pytest.mark.parametrize(("actor", "name", "salience", "reason"), WHY_NOT)
def test_why_a_candidate_is_not_announced(actor: str, name: str, salience: float | None,
                                          reason: str | None) -> None:
    assert why_not(actor, name, [_ev(actor, name, salience)]) == reason


def _newcomers(spec: MatchSpec, names: dict[str, str], salience: dict[str, float]
               ) -> tuple[list[str], dict[str, int]]:
    r = actor_rule()
    r = type(r)(**{**{f: getattr(r, f) for f in r.__dataclass_fields__}, "match": spec})
    engine = Engine(ruleset(r))
    for i, h in enumerate((0, 10, 20, 30)):
        engine.process([Match(r.id, item(f"o{i}", h, actors=("a",), story_id="s"))])
    alerts = []
    for i, h in enumerate((40, 41)):
        base = item(f"n{i}", h, actors=("a",), story_id="s")
        it = type(base)(base.article, {"a": "A", **names}, base.keywords)
        cast = tuple((a, salience[a], f"{names[a]} spoke.") for a in names)
        alerts += engine.process([Match(r.id, it, cast=cast)])
    shown = [c.term for a in alerts if a.changes for c in a.changes.new_actors]
    return shown, {k: v for k, v in engine.counters.items() if k.startswith("new_actor:")}


NEWCOMERS = [
    pytest.param({"person:okafor": "Ada Okafor", "place:millbrook": "Millbrook"},
                 {"person:okafor": 1.0, "place:millbrook": 1.0},
                 ["Ada Okafor"], {"new_actor:place": 1}, id="a-town-is-no-actor"),
    pytest.param({"person:okafor": "Ada Okafor", "person:quill": "Tom Quill"},
                 {"person:okafor": 0.85, "person:quill": 0.15},
                 ["Ada Okafor"], {"new_actor:passing": 1}, id="another-story's-name-in-passing"),
    pytest.param({"org:old mill": "Old Mill", "person:okafor": "Ada Okafor"},
                 {"org:old mill": 1.0, "person:okafor": 1.0},
                 ["Ada Okafor"], {}, id="a-rule-keyword-is-not-new"),
    pytest.param({"c": "C", "person:c": "Judge C"}, {"c": 1.0, "person:c": 1.0},
                 [], {}, id="the-rule's-own-actor-and-its-variant-are-not-new"),
]


@pytest.mark.parametrize(("names", "salience", "shown", "counted"), NEWCOMERS)
def test_who_walks_in(names: dict[str, str], salience: dict[str, float], shown: list[str],
                      counted: dict[str, int]) -> None:
    spec = MatchSpec(actors=("a",), any_actors=("c",), keywords=("strike", "old mill"))
    assert _newcomers(spec, names, salience) == (shown, counted)


# --- the real model: what NER finds in fictional articles, and who may be announced ----------

MODEL_CASES = [
    pytest.param("Harbour strike spreads",
                 "Dock workers in Millbrook walked out on Monday. Union leader Ada Okafor said the strike "
                 "would go on until the port authority met the union.",
                 "Ada Okafor", None, id="a-person-in-the-lead-acts"),
    pytest.param("Harbour strike spreads",
                 "Dock workers walked out in Millbrook on Monday, and the strike shut the port.",
                 "Millbrook", "place", id="the-town-where-it-happened"),
    pytest.param("Harbour strike spreads",
                 "Dock workers walked out on Monday and the strike shut the port. The union met at noon. "
                 "Pay talks were set for Friday. Ships waited offshore. Elsewhere, the mayor of Lakeport, "
                 "Tom Quill, opened a new library on Tuesday.",
                 "Tom Quill", "passing", id="a-name-from-another-story-deep-down"),
    pytest.param("Harbour strike spreads as the Port Authority of Lakeport digs in",
                 "The strike shut the port on Monday. Ships waited offshore. Pay talks were set for Friday. "
                 "Later, Maria Lopez of the Port Authority of Lakeport said the port would reopen.",
                 "Maria Lopez", None, id="brought-in-by-an-actor-of-the-story's-headline"),
    pytest.param("Harbour strike spreads",
                 "The strike shut the port on Monday. Ships waited offshore. Pay talks were set for Friday. "
                 "Later, Maria Lopez of the Lakeport Rowing Club said the regatta would go ahead.",
                 "Maria Lopez", "passing", id="brought-in-by-nobody-in-the-story"),
]


@pytest.mark.parametrize(("title", "body", "name", "reason"), MODEL_CASES)
def test_real_model_candidates(nlp: object, title: str, body: str, name: str, reason: str | None) -> None:
    from builders import article

    from monitor.annotate.annotator import Annotator
    from monitor.relevance import cast
    from monitor.rules.schema import Rule, RuleSet

    spec = MatchSpec(keywords=("strike",))
    rules = RuleSet(actors={}, rules=(Rule("r", spec),))
    (it,) = Annotator(rules, nlp).annotate([article("1", title=title, body=body)])
    actor = next(a for a, n in it.actors.items() if n == name)
    e = Event(at=0.0, id="1", title=title, actors=tuple(it.actors.items()), cast=cast(it, spec))
    assert why_not(actor, name, [e]) == reason
