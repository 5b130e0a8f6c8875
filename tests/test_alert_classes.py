"""The error classes readers found in round 2 of the alert labels (docs/quality.md), each one
on short fictional fixtures: new actors that are common words, demonyms or one-word names,
one outlet's pieces, actors of another story; thresholds counted from articles that only
mention the rule's story; a new actor alone that is not strong enough to be a message."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import timedelta

import pytest
from builders import at, item, ruleset
from slack_fixtures import alert as make_alert
from test_detectors import actor_rule

from monitor.annotate.salience import Where
from monitor.detect.cast import Context, why_not
from monitor.detect.engine import Engine
from monitor.detect.moments import MomentMerger, MomentParams, Moments
from monitor.detect.state import Event
from monitor.model import Alert, Annotated, Changes, Match, TermChange
from monitor.relevance import APART, cast, relevance
from monitor.rules.schema import MatchSpec, Threshold

H = 3600.0


def _events(actor: str, name: str, salience: float, sources: tuple[str, ...]) -> list[Event]:
    return [Event(at=float(i), id=f"e{i}", title="t", source=s, actors=((actor, name),),
                  cast=((actor, salience, f"{name} spoke."),)) for i, s in enumerate(sources)]


TWO = ("Harbour Ledger", "Northwind Wire")
WHY_NOT = [
    ("org:royal charter", "Royal Charter", 0.8, TWO, Context(2), "common_words"),  # a procedure step
    ("org:district court", "District Court", 0.8, TWO, Context(2), "common_words"),
    ("org:government", "Government", 0.8, TWO, Context(2), "common_words"),
    ("org:welshman", "Welshman", 0.8, TWO, Context(2), "common_words"),  # who he is, not his name
    ("org:national pension service", "National Pension Service", 0.8, TWO, Context(2), "common_words"),
    ("org:gchq", "GCHQ", 0.8, TWO, Context(2), None),  # an acronym is a name
    ("org:nato", "NATO", 0.8, TWO, Context(2), None),  # "nato" is no English word
    ("org:who", "WHO", 0.8, TWO, Context(2), None),  # three letters: an acronym, however common the word
    ("org:great", "GREAT", 0.8, TWO, Context(2), "common_words"),  # a tweet's shout, tagged an org
    ("org:brennport herald", "Brennport Herald", 0.8, TWO, Context(2), "outlet"),  # named like a paper
    ("org:recode", "Recode", 0.8, TWO, Context(2), "outlet"),  # a site that broke the news
    ("person:ada post", "Ada Post", 0.8, TWO, Context(2), None),  # a person's name may end like one
    ("org:brennport dock trust", "Brennport Dock Trust", 0.8, TWO, Context(2), None),  # one rare word
    ("person:okafor", "Okafor", 0.8, TWO, Context(2), "no_full_name"),
    ("person:okafor", "Ada Okafor", 0.8, TWO, Context(2), None),
    ("person:okafor", "Ada Okafor", 0.8, ("Harbour Ledger", "Harbour Ledger"), Context(2), "single_outlet"),
    ("person:okafor", "Ada Okafor", 1.2, ("Harbour Ledger", "Harbour Ledger"), Context(2), None),  # central
    ("person:okafor", "Ada Okafor", 0.8, ("Harbour Ledger",), Context(1), None),  # the rule asks for one
    ("person:okafor", "Ada Okafor", 0.8, TWO, Context(2, elsewhere=6), "elsewhere"),  # another story's
    ("person:okafor", "Ada Okafor", 0.8, TWO, Context(2, elsewhere=2), None),  # named elsewhere too, less
]


@pytest.mark.parametrize(("actor", "name", "salience", "sources", "context", "reason"), WHY_NOT)
def test_why_a_candidate_is_not_announced(actor: str, name: str, salience: float, sources: tuple[str, ...],
                                          context: Context, reason: str | None) -> None:
    assert why_not(actor, name, _events(actor, name, salience, sources), context) == reason


def test_a_newcomer_brought_in_only_by_pieces_off_the_story_is_not_new() -> None:
    """Two outlets name her, but one of the two pieces only mentions the rule's story deep down
    (a court case matched by "killed"): with two articles asked for, she is not in the story."""
    events = _events("person:okafor", "Ada Okafor", 0.8, TWO)
    assert why_not("person:okafor", "Ada Okafor", events, Context(2)) is None
    off = [events[0], replace(events[1], central=False)]
    assert why_not("person:okafor", "Ada Okafor", off, Context(2)) == "off_story"
    assert why_not("person:okafor", "Ada Okafor", off, Context(1)) is None  # one about it is enough


# --- an actor of another story: the rest of the feed names it more than this story does ------

OUTLETS = ("Harbour Ledger", "Eastgate Times")


def _match(rule_id: str, id_: str, hours: float, story: str, names: dict[str, str], source: str) -> Match:
    base = item(id_, hours, actors=("a",), story_id=story)
    art = replace(base.article, source=source)
    it = Annotated(art, {"a": "A", **names}, base.keywords)
    return Match(rule_id, it, cast=tuple((a, 0.85, f"{n} spoke beside A.") for a, n in names.items()))


def _quill_in_two_stories(ferry_rule: str) -> tuple[list[Alert], Engine, str]:
    """Tom Quill, the ferry story's mayor, four times there; then two dock pieces quote him."""
    docks = actor_rule()
    ferries = replace(docks, id="ferries")
    engine = Engine(ruleset(docks, ferries))
    quill = {"person:quill": "Tom Quill"}
    rule = docks.id if ferry_rule == "same" else ferries.id
    for i, h in enumerate((0, 10, 20, 30)):
        engine.process([_match(docks.id, f"d{i}", h, "docks", {}, "Harbour Ledger")])
        engine.process([_match(rule, f"f{i}", h + 1, "ferries", quill, "Northwind Wire")])
    alerts = []
    for i, h in enumerate((40, 41)):
        alerts += engine.process([_match(docks.id, f"n{i}", h, "docks", quill, OUTLETS[i])])
    return alerts + engine.flush(), engine, docks.id


def test_an_actor_of_another_story_passing_through_is_not_new() -> None:
    alerts, engine, docks = _quill_in_two_stories("same")
    assert {s for r, s in engine.states if r == docks} == {"docks", "ferries"}
    assert not [a for a in alerts if a.rule == docks and "new_actor" in a.kinds]
    assert engine.counters["new_actor:elsewhere"] == 1


def test_another_rule_s_stories_are_not_read_so_a_scaled_deployment_says_the_same() -> None:
    """Detect workers hold only the rules of their partitions: a rule's newcomers are judged
    against its own stories, so one process and a scaled deployment announce the same."""
    alerts, engine, docks = _quill_in_two_stories("other")
    told = [c.term for a in alerts if a.rule == docks and a.changes for c in a.changes.new_actors]
    assert told == ["Tom Quill"] and engine.counters["new_actor:elsewhere"] == 0


def test_a_newcomer_the_rest_of_the_feed_does_not_hold_is_told() -> None:
    docks = actor_rule()
    engine = Engine(ruleset(docks))
    for i, h in enumerate((0, 10, 20, 30)):
        engine.process([_match(docks.id, f"d{i}", h, "docks", {}, "Harbour Ledger")])
    alerts = []
    okafor = {"person:okafor": "Ada Okafor"}
    for i, h in enumerate((40, 41)):
        alerts += engine.process([_match(docks.id, f"n{i}", h, "docks", okafor, OUTLETS[i])])
    alerts += engine.flush()
    told = [c.term for a in alerts if a.changes for c in a.changes.new_actors]
    assert told == ["Ada Okafor"]


# --- relevance: central means most requirements in the headline or the lead -----------------

SPEC = MatchSpec(actors=("a",), keywords=("strike",))


def _placed(actors: dict[str, tuple[int, ...]], strike: tuple[int, ...], sentences: int = 12) -> Annotated:
    base = item("x", 0, actors=tuple(actors))
    names = {a: a.title() for a in actors}
    where = Where(actors=actors, keywords={"strike": strike}, sentences=sentences,
                  quotes={a: f"{a} said." for a in actors})
    return Annotated(base.article, names, frozenset({"strike"}), where=where)


def test_central_only_when_every_requirement_leads() -> None:
    assert relevance(_placed({"a": (0,)}, (2,)), SPEC).central  # headline and lead
    deep = relevance(_placed({"a": (0,)}, (6, 8, 9, 11)), SPEC)  # counted, but only deep down
    assert deep.score >= 0.5 and not deep.central
    three = MatchSpec(actors=("a", "b"), keywords=("strike",))  # two of three groups lead: about them
    assert relevance(_placed({"a": (0,), "b": (5, 8, 9)}, (1,)), three).central
    assert not relevance(_placed({"a": (0,), "b": (5, 8, 9)}, (6, 7, 9)), three).central


def test_an_actor_never_beside_the_rules_story_scores_at_most_apart() -> None:
    it = _placed({"a": (2,), "b": (0, 7), "c": (2, 5)}, (2,))  # b leads the headline, apart from a
    scores = {a: s for a, s, _ in cast(it, SPEC)}
    assert scores["b"] <= APART < scores["c"]


def test_a_name_only_the_headline_has_scores_at_most_apart() -> None:
    """A Title-Case headline gives NER fragments ("G20 Financial Leaders Acquiesce") that the body
    never names: they are no actors of the article. A title-only feed keeps its headline names."""
    it = _placed({"a": (0, 2), "g": (0,), "c": (0, 4)}, (0, 2))
    scores = {a: s for a, s, _ in cast(it, SPEC)}
    assert scores["g"] <= APART < scores["c"]
    headline_only_feed = _placed({"a": (0,), "g": (0,)}, (0,), sentences=0)
    assert {a: s for a, s, _ in cast(headline_only_feed, SPEC)}["g"] > APART


# --- threshold: a count of passing mentions is not coverage ----------------------------------

def _threshold_engine() -> tuple[Engine, str]:
    r = replace(actor_rule(), threshold=Threshold(3, timedelta(hours=6)), detect=("threshold",))
    return Engine(ruleset(r)), r.id


def test_threshold_of_articles_only_mentioning_the_story_does_not_fire() -> None:
    engine, rid = _threshold_engine()
    alerts = []
    for i in range(4):
        alerts += engine.process([Match(rid, item(f"o{i}", i, story_id="s"), central=False)])
    assert alerts == []
    assert engine.counters["threshold:off_story"] == 2


@pytest.mark.parametrize(("central", "fires"), [((False, True, False), False), ((False, True, True), True)])
def test_threshold_needs_half_of_its_articles_about_the_story(central: tuple[bool, ...], fires: bool) -> None:
    """One piece about the story and two that name it in passing are no coverage (round 3: a
    weather rule's count made by "RAF Typhoon jets" and photos "flooding" social media)."""
    engine, rid = _threshold_engine()
    alerts = []
    for i, c in enumerate(central):
        alerts += engine.process([Match(rid, item(f"o{i}", i, story_id="s"), central=c)])
    assert [a.kind for a in alerts] == (["threshold"] if fires else [])
    assert engine.counters["threshold:off_story"] == (0 if fires else 1)


def test_any_forwards_only_articles_about_the_story() -> None:
    """A matching article that names the story only in passing is counted, not forwarded."""
    r = replace(actor_rule(), detect=("any",))
    engine = Engine(ruleset(r))
    alerts = engine.process([Match(r.id, item("aside", 0, story_id="s"), central=False)])
    alerts += engine.process([Match(r.id, item("about", 1, story_id="s"), central=True)])
    assert [x.id for a in alerts for x in a.articles] == ["about"]
    assert engine.counters["any:off_story"] == 1


def test_an_off_story_flag_survives_the_state_codec() -> None:
    e = Event(at=1.0, id="x", title="t", central=False)
    assert Event.from_json(e.to_json()) == e
    assert Event.from_json(Event(at=1.0, id="y", title="t").to_json()).central


# --- a new actor alone must be strong to be a message ----------------------------------------

def _lone(score: float, context: str | None = "Ada Okafor spoke.") -> object:
    change = TermChange(term="Ada Okafor", score=score, articles=("port-002",), context=context)
    return make_alert(kind="new_actor", changes=Changes(new_actors=(change,)), at=at(0))


@pytest.mark.parametrize(("score", "context", "out"), [
    (0.9, "Ada Okafor spoke.", False),  # once in a lead and once in passing
    (2.0, "Ada Okafor spoke.", True),  # in a headline and beside the story in another lead
    (0.1, None, True),  # no positions known: cannot tell, told as before
])
def test_a_lone_new_actor_needs_salience(score: float, context: str | None, out: bool) -> None:
    counters: Counter[str] = Counter()
    merger = MomentMerger(MomentParams(), counters)
    m, passed = merger.offer(Moments(), [_lone(score, context)])  # type: ignore[list-item]
    _, done = merger.release(m, float("inf"))
    assert (len(done) == 1) is out and passed == []
    assert counters["new_actor:weak_alone"] == (0 if out else 1)


def test_a_weak_new_actor_riding_on_a_threshold_goes_out() -> None:
    merger = MomentMerger(MomentParams(), Counter())
    m, _ = merger.offer(Moments(), [make_alert(at=at(0)), _lone(0.9)])  # type: ignore[list-item]
    _, done = merger.release(m, float("inf"))
    assert [a.kinds for a in done] == [("threshold", "new_actor")]


# --- shift: only articles about the story frame it -------------------------------------------

def _shift_run(central_force: tuple[bool, ...]) -> tuple[list[object], Engine]:
    from test_shift_terms import BASE, FORCE, docs, shift_rule

    r = shift_rule()
    engine = Engine(ruleset(r), grace_s=H)
    out = []
    steps = [(d, True) for d in BASE] + list(zip(docs("f", (50, 55, 60), FORCE), central_force, strict=True))
    for (id_, hours, outlet, terms), central in steps:
        a = replace(item(id_, hours, story_id="s").article, source=outlet)
        it = Annotated(a, {"a": "A"}, frozenset({"strike"}), terms)
        out += engine.process([Match(r.id, it, central=central)])
    return [x for x in out if x.kind == "shift"], engine


def test_a_shift_told_by_articles_about_the_story_is_raised() -> None:
    shifts, _ = _shift_run((True, True, True))
    assert len(shifts) == 1


def test_a_shift_told_only_by_pieces_on_other_stories_is_not_raised() -> None:
    shifts, engine = _shift_run((False, False, True))  # two of three only mention the story
    assert shifts == [] and engine.counters["shift:off_story"] >= 1
