"""What a framing shift lists: content terms the news shares, never filler words, one
off-topic article, one outlet's phrasing or absence, or the story's last shift again.

A fictional story: a water dispute between two towns on the Varne. Four days of talks
(four outlets), then a day of sanctions and an ultimatum. Every article also carries
words that fit any story ("night", "thing", "meet") and a few words of its own.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from builders import article, matches, rule, ruleset

from monitor.annotate.terms import framing
from monitor.detect.engine import Engine
from monitor.model import Alert, Annotated
from monitor.rules.schema import Rule, ShiftParams

H = 3600.0
TALKS = ("negotiation", "water sharing", "delegation", "technical committee", "river commission")
FORCE = ("sanction", "troop", "threat force", "ultimatum", "border closure")
FILLER = ("night", "thing", "lot", "meet", "think", "city", "need", "world", "state medium")
OUTLETS = ("varne-courier", "east-ledger", "hill-gazette", "wire-one")

Doc = tuple[str, float, str, tuple[str, ...]]  # id, hour, outlet, terms


def own(name: str) -> tuple[str, ...]:
    return tuple(f"{name}x{j}" for j in range(4))


def docs(prefix: str, hours: tuple[float, ...], words: tuple[str, ...], outlets: tuple[str, ...] = OUTLETS,
         filler: tuple[str, ...] = ()) -> list[Doc]:
    """Articles that share ``words`` (rotated, so positions differ), each with its own words too."""
    return [(f"{prefix}{i}", h, outlets[i % len(outlets)],
             (*words[i % 2:], *words[: i % 2], *filler, *own(f"{prefix}{i}"))) for i, h in enumerate(hours)]


BASE = docs("t", (0, 10, 20, 30), TALKS)


def shift_rule() -> Rule:
    return rule(detect=("shift",), shift=ShiftParams(), cooldown_h=1)


def run(steps: list[Doc], r: Rule | None = None) -> tuple[list[Alert], Engine]:
    r = r or shift_rule()
    engine = Engine(ruleset(r), grace_s=H)
    out: list[Alert] = []
    for id_, hours, outlet, terms in steps:
        a = replace(article(id_, hours, story_id="s"), source=outlet)
        out += engine.process(matches(r.id, Annotated(a, {"a": "A"}, frozenset({"strike"}), terms)))
    return [x for x in out if x.kind == "shift"], engine


def terms(alert: Alert) -> tuple[list[str], list[str]]:
    assert alert.changes is not None
    return [c.term for c in alert.changes.rising], [c.term for c in alert.changes.fading]


@pytest.mark.parametrize(("term", "frames"), [
    ("sanction", True), ("drop insistence", True), ("unspecified consequence", True),
    ("meet demand", True), ("night", False), ("thing", False), ("lot", False), ("think", False),
    ("new", False), ("state medium", False), ("high world", False),
])
def test_framing_terms_are_content_words(term: str, frames: bool) -> None:
    assert framing(term) is frames


def test_a_shift_lists_the_shared_change_and_no_filler() -> None:
    (alert,), _ = run(BASE + docs("f", (50, 55, 60), FORCE, filler=FILLER))
    rising, fading = terms(alert)
    assert set(FORCE) <= set(rising) and not set(FILLER) & set(rising), rising
    assert set(TALKS) & set(fading) and not any("x" in t for t in rising + fading)  # nobody's own words


def test_an_off_topic_article_lends_the_shift_no_terms() -> None:
    speech = ("f9", 58.0, "hill-gazette", ("navy seal", "yemen raid", "immigration reform", "tone", FORCE[0]))
    (alert,), _ = run(BASE + docs("f", (50, 55, 60), FORCE)[:2] + [speech] + docs("g", (61,), FORCE))
    rising, _ = terms(alert)
    assert not {"navy seal", "yemen raid", "immigration reform", "tone"} & set(rising), rising


def test_one_outlets_phrasing_is_no_rising_term() -> None:
    outlets = ("east-ledger", "varne-courier", "east-ledger", "wire-one", "hill-gazette")
    phrased = [(i, h, o, (*t, "iron fist")) if o == "east-ledger" else (i, h, o, t)
               for i, h, o, t in docs("f", (50, 52, 55, 58, 60), FORCE, outlets=outlets)]
    (alert,), _ = run(BASE + phrased)
    rising, _ = terms(alert)
    assert "sanction" in rising and "iron fist" not in rising, rising


def test_fewer_articles_from_one_outlet_is_no_fading_term() -> None:
    outlets = ("varne-courier", "east-ledger", "varne-courier", "wire-one", "hill-gazette")
    base = [(i, h, o, (*t, "courier column")) if o == "varne-courier" else (i, h, o, t)
            for i, h, o, t in docs("t", (0, 5, 10, 20, 30), TALKS, outlets=outlets)]
    (alert,), _ = run(base + docs("f", (50, 55, 60), FORCE, outlets=OUTLETS[1:]))
    _, fading = terms(alert)
    assert "courier column" not in fading and "negotiation" in fading, fading


def test_a_change_of_filler_words_only_is_no_shift() -> None:
    got, _ = run(BASE + docs("u", (50, 55, 60), TALKS, filler=FILLER))
    assert got == []


def test_a_shift_no_two_outlets_share_is_not_raised() -> None:
    """Three recent articles, each on its own new thing: the divergence is there, no shared term."""
    alone = [(f"u{i}", h, o, (*TALKS[:2], *own(f"u{i}"), f"topic{i} alpha", f"topic{i} beta"))
             for i, (h, o) in enumerate(zip((50, 55, 60), OUTLETS, strict=False))]
    got, engine = run(BASE + alone)
    assert got == [] and engine.counters["shift:no_shared_terms"] >= 1, engine.counters


def test_a_shift_that_repeats_the_last_told_one_is_not_raised() -> None:
    """The sanctions day is told; once its window turned over, the next day's articles again
    write of sanctions against a week of talks: the same shift, told once, counted as a repeat."""
    talks = docs("t", (0, 5, 10, 20, 30, 35, 40), TALKS)
    got, engine = run(talks + docs("f", (50, 55, 60), FORCE) + docs("g", (80, 84, 88), FORCE))
    assert len(got) == 1 and set(FORCE) <= set(terms(got[0])[0])
    assert engine.counters["shift:repeats_last_shift"] >= 1, engine.counters


def test_a_shift_with_new_terms_after_the_last_one_is_raised() -> None:
    """After the sanctions, a ceasefire: new terms, a new shift."""
    talks = docs("t", (0, 5, 10, 20, 30, 35, 40), TALKS)
    truce = ("ceasefire", "prisoner exchange", "mediator", "truce monitor", "aid convoy")
    got, _ = run(talks + docs("f", (50, 55, 60), FORCE) + docs("g", (80, 84, 88), truce))
    assert len(got) == 2 and set(truce) & set(terms(got[1])[0]), [terms(a) for a in got]
