"""Spike, new actor, shift and silence on event time: timelines of articles and clock ticks in,
the alerts they must cause out; plus the lifecycle, persistence across a restart and eviction."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from builders import T0, item, matches, rule, ruleset

from monitor.app import App, backtest
from monitor.detect.engine import Engine
from monitor.detect.features import display_name, press, same_name
from monitor.detect.lifecycle import ABANDONED, FIRED, RESOLVED, SUPPRESSED, Lifecycle, Reading
from monitor.detect.state import Event, StoryState
from monitor.model import Alert, Annotated
from monitor.notify.console import CollectingNotifier
from monitor.rules import load_rules
from monitor.rules.schema import NewActorParams, Rule, ShiftParams, SilenceParams, SpikeParams
from monitor.settings import Settings
from monitor.sources.jsonl import JsonlSource

REPO = Path(__file__).parents[1]
H = 3600.0
Step = tuple[Any, ...]  # ("a", id, hour, **item kwargs) or ("tick", hour)


def hour(alert: Alert) -> float:
    return round((alert.at - T0).total_seconds() / H, 3)


def play(r: Rule, steps: list[Step], engine: Engine | None = None) -> list[tuple[str, float, list[str]]]:
    """Feed articles and ticks in order; return (kind, hour, supporting article ids) per alert.

    The articles carry an upstream story id: these are detector tests, not clustering tests.
    """
    engine = engine or Engine(ruleset(r), grace_s=H)
    out: list[Alert] = []
    for step in steps:
        if step[0] == "tick":
            out += engine.tick(T0.timestamp() + step[1] * H)
        else:
            _, id_, hours, *kw = step
            out += engine.process(matches(r.id, item(id_, hours, story_id="s", **(kw[0] if kw else {}))))
    return [(a.kind, hour(a), [x.id for x in a.articles]) for a in out]


def arts(*hours: float, prefix: str = "x", **kw: Any) -> list[Step]:
    return [("a", f"{prefix}{i}", h, kw) for i, h in enumerate(hours)]


# --- lifecycle: a table of readings and the transitions they cause -------------------------

LIFE = [
    pytest.param(0, [(0, 1, 1), (1, 1, 1), (2, 0, 1), (3, 0, 0)], [(0, FIRED), (3, RESOLVED)],
                 id="fire-hold-resolve"),
    pytest.param(0, [(0, 1, 1), (1, 0, 0), (2, 1, 1)], [(0, FIRED), (1, RESOLVED), (2, SUPPRESSED)],
                 id="cooldown-suppresses-refire"),
    pytest.param(2, [(0, 1, 1), (1, 1, 1), (2, 1, 1)], [(2, FIRED)], id="pending-then-fire"),
    pytest.param(2, [(0, 1, 1), (1, 0, 1), (2, 1, 1), (4, 1, 1)], [(1, ABANDONED), (4, FIRED)],
                 id="pending-abandoned-below-level"),
]


@pytest.mark.parametrize(("pending_h", "readings", "expected"), LIFE)
def test_lifecycle_transitions(pending_h: float, readings: list[tuple[float, int, int]],
                               expected: list[tuple[float, str]]) -> None:
    life = Lifecycle("k", pending_s=pending_h * H, cooldown_s=5 * H)
    state = StoryState("r", "r")
    got = []
    for t, fire, hold in readings:
        done = life.step(state, t * H, Reading(bool(fire), bool(hold)))
        if done:
            got.append((t, done))
    assert got == expected


# --- spike ---------------------------------------------------------------------------------

def spike_rule(**kw: Any) -> Rule:
    notify = kw.pop("notify_resolved", False)
    params = replace(SpikeParams(min_count=4), **kw)
    return rule(detect=("spike",), spike=params, cooldown_h=2, notify_resolved=notify)


STEADY = arts(*range(0, 48, 8))  # one article every 8 hours for two days: 0.75 per 6h


def test_spike_defaults() -> None:
    assert SpikeParams() == SpikeParams(timedelta(hours=6), timedelta(days=7), 3.0, 3, timedelta(days=1))


def test_spike_fires_when_the_recent_rate_is_factor_times_the_usual() -> None:
    burst = arts(48, 49, 50, 51, 52, prefix="b")
    got = play(spike_rule(), STEADY + burst)
    assert got == [("spike", 51, ["b0", "b1", "b2", "b3"])]


def test_spike_explains_its_numbers() -> None:
    r = spike_rule()
    engine = Engine(ruleset(r))
    for step in STEADY + arts(48, 49, 50, 51, prefix="b"):
        alerts = engine.process(matches(r.id, item(step[1], step[2], story_id="s")))
    (alert,) = alerts
    assert alert.reason == (
        "rate_above_baseline: 4 articles in 6h, 5.0x the usual 0.8 per 6h (6 in the 1d21h before)"
    )


def test_no_spike_during_warm_up_a_new_story_only_builds() -> None:
    assert play(spike_rule(), arts(0, 1, 2, 3, 4, 5)) == []


def test_no_spike_below_min_count_even_from_nothing() -> None:
    quiet = arts(0, 30, prefix="q")
    assert play(spike_rule(), quiet + arts(70, 71, 72, prefix="b")) == []
    assert play(spike_rule(), quiet + arts(70, 71, 72, 73, prefix="b"))[0][:2] == ("spike", 73)


def test_spike_hovering_around_the_level_does_not_flap() -> None:
    # 4 in 6h fires; the rate then hovers at 3 per 6h (above half the level): no second alert
    hover = arts(48, 49, 50, 51, 55, 58, 61, 64, 67, prefix="h")
    got = play(spike_rule(), STEADY + hover)
    assert [g[:2] for g in got] == [("spike", 51)]


def test_spike_re_arms_after_falling_below_the_resolve_level() -> None:
    again = arts(48, 49, 50, 51, prefix="b") + arts(80, 81, 82, 83, 84, 85, 86, prefix="c")
    got = play(spike_rule(), STEADY + again)
    assert [g[:2] for g in got] == [("spike", 51), ("spike", 83)]


def test_spike_pending_period_needs_the_rate_to_hold() -> None:
    held = [*arts(48, 49, 50, 51, 52, prefix="b"), ("tick", 60)]
    assert [g[:2] for g in play(spike_rule(pending=timedelta(hours=2)), STEADY + held)] == [("spike", 53)]
    brief = [*arts(48, 48.5, 49, 49.5, prefix="b"), ("tick", 60)]  # 4 in 6h, then the window empties
    assert play(spike_rule(pending=timedelta(hours=8)), STEADY + brief) == []


def test_spike_resolved_notification_when_asked() -> None:
    got = play(spike_rule(notify_resolved=True), STEADY + arts(48, 49, 50, 51, prefix="b") + [("tick", 70)])
    assert [g[:2] for g in got] == [("spike", 51), ("resolved", 56)]  # 1 left in 6h when b2 leaves


def test_spike_does_not_depend_on_how_often_the_clock_ticks() -> None:
    steps = STEADY + arts(48, 49, 50, 51, prefix="b") + arts(62, 63, 64, 65, 66, prefix="c")
    ticked = [s for step in steps for s in (step, ("tick", step[2] + 0.5))]
    r = spike_rule(notify_resolved=True)
    assert play(r, steps) == play(r, ticked)


# --- new actor -----------------------------------------------------------------------------

def actor_rule(**kw: Any) -> Rule:
    return rule(detect=("new_actor",), new_actor=replace(NewActorParams(), **kw), cooldown_h=1)


CAST = arts(0, 10, 20, 30, actors=("a", "b"))


def test_new_actor_defaults() -> None:
    assert NewActorParams() == NewActorParams(timedelta(hours=24), timedelta(days=7), 2, 1)


def test_new_actor_named_in_two_recent_articles_is_new() -> None:
    steps = CAST + arts(40, 45, 50, prefix="n", actors=("a", "b", "c"))
    assert play(actor_rule(), steps) == [("new_actor", 45, ["n0", "n1"])]


def test_new_actor_alert_names_the_actor_and_the_articles_that_bring_them() -> None:
    r = actor_rule()
    engine = Engine(ruleset(r))
    for step in CAST + arts(40, prefix="n", actors=("a", "c")):
        engine.process(matches(r.id, item(step[1], step[2], actors=step[3]["actors"], story_id="s")))
    named = {"a": "A", "person:ki-moon": "Ban Ki-moon", "c": "C"}
    person = Annotated(item("n9", 44, story_id="s").article, named, frozenset({"strike"}))
    (alert,) = engine.process(matches(r.id, person))
    assert alert.changes is not None
    assert [(c.term, c.articles) for c in alert.changes.new_actors] == [("C", ("n0", "n9"))]
    assert alert.reason.startswith("new_actor: new in the story: C (2 articles)")


def test_one_article_is_not_enough_and_the_baseline_cast_is_never_new() -> None:
    assert play(actor_rule(), CAST + arts(40, prefix="n", actors=("a", "c"))) == []
    assert play(actor_rule(), CAST + arts(40, 45, prefix="n", actors=("a", "b"))) == []


def test_the_opening_cast_of_a_story_is_not_new() -> None:
    assert play(actor_rule(), arts(0, 1, 2, actors=("a", "b", "c"))) == []


def test_min_baseline_waits_for_the_cast_to_form() -> None:
    steps = arts(0, prefix="o") + arts(30, 31, prefix="n", actors=("a", "c"))
    assert play(actor_rule(min_baseline=2), steps) == []
    assert play(actor_rule(min_baseline=1), steps)[0][:2] == ("new_actor", 31)


def test_a_new_actor_is_told_once_while_it_stays() -> None:
    steps = CAST + arts(40, 41, 42, 43, 60, prefix="n", actors=("a", "c"))
    assert [g[:2] for g in play(actor_rule(), steps)] == [("new_actor", 41)]


def test_new_actors_inside_the_cooldown_are_told_with_the_next_article_after_it() -> None:
    steps = CAST + arts(40, 40.2, prefix="n", actors=("a", "c"))
    steps += arts(40.5, 40.7, prefix="m", actors=("a", "d")) + arts(41.5, prefix="l")
    got = play(actor_rule(), steps)
    assert [(k, h) for k, h, _ in got] == [("new_actor", 40.2), ("new_actor", 41.5)]
    assert got[1][2] == ["m0", "m1"]


# --- shift ---------------------------------------------------------------------------------

TALKS = ("talk", "negotiation", "water sharing", "delegation", "technical committee", "progress")
FORCE = ("sanction", "troop", "threat force", "ultimatum", "border", "embargo")


def own(prefix: str, i: int) -> tuple[str, ...]:
    return tuple(f"{prefix}{i}w{j}" for j in range(6))


def framed(prefix: str, hours: tuple[float, ...], words: tuple[str, ...]) -> list[Step]:
    """Articles that share a framing (``words``) and each say a few things of their own."""
    return [
        ("a", f"{prefix}{i}", h, {"terms": (*words[i % 2:], *words[: i % 2], *own(prefix, i))})
        for i, h in enumerate(hours)
    ]


def shift_rule(**kw: Any) -> Rule:
    return rule(detect=("shift",), shift=replace(ShiftParams(), **kw), cooldown_h=1)


def test_shift_defaults() -> None:
    assert ShiftParams() == ShiftParams(timedelta(hours=24), timedelta(days=7), 3, 0.0, 0.5)


def test_shift_fires_when_the_framing_moves_and_lists_what_moved() -> None:
    r = shift_rule()
    engine = Engine(ruleset(r))
    alerts = []
    for step in framed("t", (0, 10, 20, 30), TALKS) + framed("f", (50, 55, 60), FORCE):
        alerts += engine.process(matches(r.id, item(step[1], step[2], terms=step[3]["terms"], story_id="s")))
    (alert,) = alerts
    assert alert.kind == "shift" and hour(alert) == 60 and alert.changes is not None
    rising = {c.term: c.articles for c in alert.changes.rising}
    fading = {c.term: c.articles for c in alert.changes.fading}
    assert set(FORCE) <= set(rising) and set(TALKS) <= set(fading)
    assert rising["sanction"] == ("f0", "f1", "f2") and fading["talk"] == ("t0", "t1", "t2", "t3")
    assert alert.reason.startswith("framing_shift: the last 1d (3 articles) against the 4 before")
    assert {a.id for a in alert.articles} == {"t0", "t1", "t2", "t3", "f0", "f1", "f2"}


def test_no_shift_while_the_framing_holds() -> None:
    steps = framed("t", (0, 10, 20, 30), TALKS) + framed("u", (50, 55, 60), TALKS)
    assert play(shift_rule(), steps) == []


def test_no_shift_below_min_articles() -> None:
    steps = framed("t", (0, 10, 20, 30), TALKS) + framed("f", (50, 55), FORCE)
    assert play(shift_rule(), steps) == []


def test_shift_with_min_articles_one_works_on_a_story_of_two_articles() -> None:
    steps = framed("t", (0,), TALKS) + framed("f", (48,), FORCE)
    assert play(shift_rule(min_articles=1), steps) == [("shift", 48, ["t0", "f0"])]


def test_a_re_run_of_the_same_copy_is_no_shift() -> None:
    same = ("talk", "negotiation", "water sharing")
    steps: list[Step] = [("a", "t0", 0, {"terms": same}), ("a", "t1", 48, {"terms": same})]
    assert play(shift_rule(min_articles=1), steps) == []


def test_a_told_shift_stays_told_until_the_recent_window_turned_over() -> None:
    steps = framed("t", (0, 10, 20, 30), TALKS) + framed("f", (50, 55, 60, 65, 70), FORCE)
    assert [g[:2] for g in play(shift_rule(), steps)] == [("shift", 60)]


# --- silence -------------------------------------------------------------------------------

def silence_rule(**kw: Any) -> Rule:
    return rule(detect=("silence",), silence=replace(SilenceParams(), **kw), cooldown_h=1)


def test_silence_defaults() -> None:
    assert SilenceParams() == SilenceParams(timedelta(hours=24), 2)


def test_silence_fires_at_last_article_plus_after_whenever_the_tick_comes() -> None:
    for tick in (34.1, 40, 90):
        assert play(silence_rule(), [*arts(0, 5, 10), ("tick", tick)]) == [("silence", 34, ["x2"])]
    assert play(silence_rule(), [*arts(0, 5, 10), ("tick", 34)]) == []  # one more may come at 34


def test_an_article_exactly_after_the_period_means_the_story_never_went_quiet() -> None:
    assert play(silence_rule(), arts(0, 5, 10) + arts(34, prefix="y")) == []
    assert play(silence_rule(), [*arts(0, 5, 10), ("tick", 34), *arts(34, prefix="y")]) == []


def test_silence_noticed_by_the_next_article_when_no_tick_came() -> None:
    steps = arts(0, 5, 10) + arts(50, prefix="y")
    assert play(silence_rule(), steps) == [("silence", 34, ["x2"])]
    ticked_between = [*arts(0, 5, 10), ("tick", 40), *arts(50, prefix="y")]
    assert play(silence_rule(), [*steps, ("tick", 40)]) == play(silence_rule(), ticked_between)


def test_silence_once_per_quiet_period() -> None:
    steps = [*arts(0, 5, 10), ("tick", 40), ("tick", 60), *arts(70, 72, prefix="y"), ("tick", 100)]
    assert [g[:2] for g in play(silence_rule(), steps)] == [("silence", 34), ("silence", 96)]


def test_a_lone_article_never_goes_quiet() -> None:
    assert play(silence_rule(), [*arts(0, 30, 60), ("tick", 200)]) == []
    assert play(silence_rule(min_articles=1), [*arts(0), ("tick", 200)]) == [("silence", 24, ["x0"])]


# --- state across a restart, and eviction --------------------------------------------------

ALL = ("threshold", "spike", "new_actor", "shift", "silence")


def busy_rule() -> Rule:
    return rule(detect=ALL, count=3, spike=SpikeParams(min_count=4), shift=ShiftParams(min_articles=2),
                cooldown_h=1, notify_resolved=True)


def busy_steps() -> list[Step]:
    steps = STEADY + framed("t", (48, 49, 50, 51), TALKS)
    steps += [("a", f"f{i}", 80 + i, {"terms": FORCE, "actors": ("a", "c")}) for i in range(4)]
    return [*steps, ("tick", 120)]


def test_a_restart_anywhere_gives_the_same_alerts() -> None:
    r, steps = busy_rule(), busy_steps()
    once = play(r, steps)
    assert {k for k, _, _ in once} >= {"spike", "new_actor", "shift", "silence", "threshold"}
    for cut in range(1, len(steps)):
        first = Engine(ruleset(r), grace_s=H)
        got = play(r, steps[:cut], first)
        delta = first.take_delta()
        second = Engine(ruleset(r), grace_s=H)
        events = [(rid, s, e) for (rid, s), st in first.states.items() for e in st.events]
        second.restore(events, delta.states, delta.stories, delta.watermark)
        got += play(r, steps[cut:], second)
        assert got == once, cut


def test_eviction_keeps_memory_bounded() -> None:
    r = busy_rule()
    engine = Engine(ruleset(r), grace_s=H)
    for i in range(40):  # a story of its own (no upstream id): the clustering keeps state too
        engine.process(matches(r.id, item(f"e{i}", i * 2, terms=(*TALKS, f"w{i}"))))
    assert engine.states and engine.stories.rules[r.id].clusters
    span_h = r.longest_window.total_seconds() / H
    engine.evict(T0.timestamp() + (40 + span_h) * H)
    assert len(engine.states[(r.id, r.id)].events) < 40  # only what the windows still need
    engine.evict(T0.timestamp() + (80 + span_h) * H)
    assert engine.states == {} and engine.stories.rules[r.id].clusters == []


# --- the sample stream, cut anywhere -------------------------------------------------------

def run_app(path: Path, state: Path, ruleset_: Any) -> list[Alert]:
    sink = CollectingNotifier()
    app = App(Settings(), ruleset_, JsonlSource(path), sink, nlp=None, state_dir=state,
              background_sender=False)
    try:
        app.run()
        app.finish()
    finally:
        app.close()
    return sink.alerts


def fingerprint(alerts: list[Alert]) -> list[tuple[str, ...]]:
    return sorted((a.key, a.kind, a.story, a.summary, *(x.id for x in a.articles)) for a in alerts)


@pytest.mark.parametrize("cut", [5, 12, 19, 27, 33, 40])
def test_replaying_the_samples_with_a_restart_gives_the_same_alerts(tmp_path: Path, cut: int) -> None:
    rules = load_rules([REPO / "rules"])
    lines = (REPO / "samples" / "articles.jsonl").read_text().splitlines(keepends=True)
    once = backtest(Settings(), rules, REPO / "samples" / "articles.jsonl", nlp=None)
    assert {a.kind for a in once} >= {"threshold", "spike", "new_actor", "shift", "silence"}
    stream = tmp_path / "articles.jsonl"
    stream.write_text("".join(lines[:cut]))
    got = run_app(stream, tmp_path / "state", rules)
    with stream.open("a") as f:
        f.write("".join(lines[cut:]))
    got += run_app(stream, tmp_path / "state", rules)
    assert fingerprint(got) == fingerprint(once)


def test_the_samples_give_the_same_alerts_whatever_the_batch_size() -> None:
    rules = load_rules([REPO / "rules"])
    path = REPO / "samples" / "articles.jsonl"
    once = fingerprint(backtest(Settings(), rules, path, nlp=None))
    for size in (1, 3, 8):
        settings = Settings(kafka={"max_poll_records": size})
        assert fingerprint(backtest(settings, rules, path, nlp=None)) == once


# --- who counts as an actor ----------------------------------------------------------------

NAMES = [
    pytest.param("Lavrov", "Sergey Lavrov", True, id="surname"),
    pytest.param("Sergei Lavrov", "Sergéi Lavrov", True, id="accents"),
    pytest.param("Korea", "South Korea", True, id="tail"),
    pytest.param("Pak", "Pak Myong Ho", True, id="family-name-first"),
    pytest.param("Kim Jong Un", "Kim Jong Nam", False, id="brothers"),
    pytest.param("John Kerry", "Kerry Smith", False, id="first-is-not-last"),
]


@pytest.mark.parametrize(("a", "b", "same"), NAMES)
def test_name_variants(a: str, b: str, same: bool) -> None:
    assert same_name(a, b) is same and same_name(b, a) is same


def test_press_credits_are_not_actors() -> None:
    assert press("ABC", "abcnews.go.com") and press("Source:-Al Jazeera", "www.aljazeera.com")
    assert press("Associated Press", "www.cnn.com") and press("Reuters", None)
    assert not press("Ban Ki-moon", "www.aljazeera.com") and not press("Port of Brennport", "Northwind Wire")


def test_a_name_variant_from_ner_is_not_a_new_actor() -> None:
    r = actor_rule()
    engine = Engine(ruleset(r))
    cast = {"a": "A", "person:lavrov": "Sergey Lavrov"}
    variant = {"a": "A", "org:lavrov": "Lavrov", "org:abc": "ABC", "person:abe": "Shinzo Abe",
               "org:abe": "Abe"}
    got = []
    for id_, hours, actors in [("1", 0, cast), ("2", 10, cast), ("3", 30, variant), ("4", 31, variant)]:
        article = item(id_, hours, story_id="s").article
        got += engine.process(matches(r.id, Annotated(replace(article, source="abcnews.go.com"), actors,
                                                      frozenset({"strike"}))))
    (alert,) = got
    assert alert.changes is not None
    assert [(c.term, c.articles) for c in alert.changes.new_actors] == [("Shinzo Abe", ("3", "4"))]


def test_an_actor_is_shown_by_its_usual_and_clean_name() -> None:
    def named(*names: str) -> list[Event]:
        return [Event(float(i), str(i), "t", actors=(("person:bakar", n),)) for i, n in enumerate(names)]

    full = "Khalid Abu Bakar"
    assert display_name("person:bakar", named("Bakar", full, full)) == full
    assert display_name("person:bakar", named(full, "Bakar", 'vomiting,"?Khalid Abu Bakar')) == full
