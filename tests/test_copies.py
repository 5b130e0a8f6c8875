"""Syndicated copies: one wire text in several outlets is one text, counted once, in one story."""

from __future__ import annotations

import json

from builders import article, rule, ruleset

from monitor.detect.copies import MAX_KEPT, Copies, signature, similarity
from monitor.detect.engine import Engine
from monitor.model import Annotated, Match
from monitor.rules.schema import MatchSpec

WIRE = (
    "BRENNPORT (Northwind Wire) - Dock workers at the Port of Brennport walked out at dawn on Monday "
    "after talks over night-shift pay collapsed late on Sunday, leaving container ships queued in the "
    "outer harbour. The union said the stoppage would last 48 hours unless the port authority returned "
    "to the table with a new offer. Crane crews joined the picket lines by mid-morning, and the harbour "
    "master said no vessel had been worked since six o'clock. Shipping lines warned of delays to "
    "deliveries across the region if the walkout ran into a second week."
)
EDITED = WIRE.replace("BRENNPORT (Northwind Wire) - ", "").replace("by mid-morning", "by 10 a.m.")
OTHER = (
    "Passengers faced a second day of cancellations at Lindqvist airport as cabin crew at the regional "
    "carrier continued their strike over rosters. The airline said it had cut forty flights and offered "
    "refunds, while the crew association accused managers of refusing to meet. Travellers queued at "
    "the information desks for hours, and the airport operator asked people to check before leaving home."
)


THIRD = (
    "The port authority of Brennport said on Tuesday it would put a revised pay offer to the dockers' "
    "union, as the queue of ships waiting in the outer harbour grew to eleven and freight forwarders "
    "began diverting cargo to other ports along the coast."
)
DOCKS = ("dock", "union", "picket", "harbour", "crane")
FLIGHTS = ("airline", "cabin crew", "roster", "flight", "refund")


def wire(id_: str, hours: float, body: str, source: str, title: str = "Brennport dockers walk out",
         terms: tuple[str, ...] = DOCKS) -> Annotated:
    a = article(id_, hours, title=title, body=body, source=source)
    return Annotated(a, {"a": "A"}, frozenset({"strike"}), terms)


def test_an_edited_copy_is_the_same_text_and_another_story_is_not() -> None:
    first, copy, other = (signature("Brennport dockers walk out", b) for b in (WIRE, EDITED, OTHER))
    assert first is not None and copy is not None and other is not None
    assert similarity(first, copy) >= 0.7
    assert similarity(first, other) < 0.2
    assert signature("Strike", None) is None  # too short to tell a copy from a coincidence


def test_the_index_finds_the_earliest_original_and_survives_json() -> None:
    copies = Copies()
    copies.keep("w1", 10.0, "r", signature("t", WIRE), since=0.0)
    copies.keep("o1", 11.0, "r/other-2", signature("t", OTHER), since=0.0)
    restored = Copies.from_json(json.loads(json.dumps(copies.to_json())))
    for index in (copies, restored):
        found = index.original(signature("t", EDITED), since=0.0)
        assert found is not None and (found.id, found.story) == ("w1", "r")
        assert index.original(signature("t", EDITED), since=10.5) is None  # too old to count


def test_the_index_is_bounded() -> None:
    copies = Copies()
    sig = signature("t", WIRE)
    for i in range(MAX_KEPT + 5):
        copies.keep(f"a{i}", float(i), "r", sig, since=0.0)
    assert len(copies.kept) == MAX_KEPT and "a0" not in copies.kept
    copies.keep("late", MAX_KEPT + 10.0, "r", sig, since=MAX_KEPT + 2.0)
    assert list(copies.kept) == [f"a{MAX_KEPT + 2}", f"a{MAX_KEPT + 3}", f"a{MAX_KEPT + 4}", "late"]


def test_copies_count_once_toward_the_threshold_and_the_alert_says_so() -> None:
    r = rule(count=3, window_h=6)
    engine = Engine(ruleset(r))
    # the same wire text in three outlets, then two articles of their own: 5 articles, 3 distinct
    got = engine.process([Match(r.id, x) for x in (
        wire("w1", 0, WIRE, "Northwind Wire"), wire("w2", 0.5, EDITED, "Harbour Ledger"),
        wire("w3", 1, WIRE, "Evening Post", title="Dock strike halts Brennport"),
        wire("own1", 1.5, THIRD, "Harbour Ledger", title="Port to make a new offer"),
    )])
    assert got == []  # four articles, but two texts
    assert [e.copy_of for e in engine.states[("r", "r")].events] == [None, "w1", "w1", None]
    assert engine.counters["syndicated_copy"] == 2  # dropped_total{reason="syndicated_copy"}
    alerts = engine.process([Match(r.id, wire("own2", 2, OTHER, "Evening Post", title="Dockers hold out"))])
    assert [(a.story, a.count) for a in alerts] == [("r", 3)]
    assert alerts[0].summary.startswith("5 articles from 3 outlets (2 syndicated copies counted once) in 6h")
    assert [a.id for a in alerts[0].articles] == ["w1", "w2", "w3", "own1", "own2"]


def test_a_copy_joins_the_story_of_its_original_under_a_feed_rule() -> None:
    r = rule("feed", match=MatchSpec(all=True))
    engine = Engine(ruleset(r))
    engine.process([Match(r.id, x) for x in (
        wire("w1", 0, WIRE, "Northwind Wire"),
        wire("o1", 0.2, OTHER, "Sky Daily", title="Cabin crew strike", terms=FLIGHTS),
        wire("w2", 0.4, EDITED, "Harbour Ledger", title="Port at a standstill"),
    )])
    story = {e.id: key[1] for key, state in engine.states.items() for e in state.events}
    assert story["w2"] == story["w1"] != story["o1"]
