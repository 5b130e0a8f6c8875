"""The seed story with page furniture around it, three fictional outlets a day (real model).

tests/fixtures/syria-furniture-2013-09.jsonl: on 12 September the US insists that a UN
resolution carry the threat of force, Kerry and Lavrov meet in Geneva; on the 14th it drops
the insistence and speaks of unspecified consequences, Vladimir Putin and the Chemical
Weapons Convention enter. Every page carries a byline, share buttons, a photo caption
("Mr Andrews"), reporter attributions ("the Ledger's Nick Bryce in New York says", "Al
Jazeera's James Bayes, reporting from Geneva, said"), outlets cited as sources (CNN, the
New York Times), a related-stories list (Obama, Congress, Delhi, Japan, G20), CSS and
browser notices, a contributor line and a copyright footer; one page is html only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from monitor.app import backtest
from monitor.model import Alert
from monitor.rules import load_rules
from monitor.settings import Settings

FIXTURES = Path(__file__).parent / "fixtures"
FURNITURE = ("Andrews", "Bryce", "Bayes", "Tom Hale", "Karin Dahl", "Obama", "Congress", "Delhi", "Japan",
             "G20", "CSS", "CNN", "New York Times", "Getty", "Ledger", "Northwind", "Eastgate", "Twitter",
             "Email", "Facebook", "live", "browser", "copyright", "interpreter")


@pytest.fixture(scope="module")
def alerts(nlp: Any) -> list[Alert]:
    rules = load_rules([FIXTURES / "syria-furniture-rules.yaml"])
    return backtest(Settings(), rules, FIXTURES / "syria-furniture-2013-09.jsonl", nlp=nlp)


def one(alerts: list[Alert], kind: str) -> Alert:
    (alert,) = [a for a in alerts if kind in a.kinds]
    assert alert.at.day == 14
    return alert


def no_furniture(terms: list[str]) -> None:
    leaked = [t for t in terms if any(f.lower() in t.lower() for f in FURNITURE)]
    assert not leaked, leaked


@pytest.mark.slow
def test_new_actor_is_putin_and_nothing_from_the_furniture(alerts: list[Alert]) -> None:
    new = one(alerts, "new_actor")
    assert new.changes is not None
    names = [c.term for c in new.changes.new_actors]
    assert "Vladimir Putin" in names[:2], names
    assert len(names) <= 3
    no_furniture(names)
    putin = new.changes.new_actors[names.index("Vladimir Putin")]
    assert putin.context and "Putin" in putin.context  # the sentence that brings him in
    assert "Lavrov" not in new.summary and "Kerry" not in new.summary  # both there on day 1


@pytest.mark.slow
def test_shift_names_the_change_and_no_furniture(alerts: list[Alert]) -> None:
    shift = one(alerts, "shift")
    assert shift.changes is not None
    rising = [c.term for c in shift.changes.rising]
    fading = [c.term for c in shift.changes.fading]
    assert any({"unspecified", "consequence", "drop", "insistence"} & set(t.split()) for t in rising), rising
    no_furniture(rising + fading)
    day14 = {"s14-ledger", "s14-wire", "s14-times"}
    assert all(set(c.articles) <= day14 for c in shift.changes.rising)


@pytest.mark.slow
def test_every_article_counts_and_says_why(alerts: list[Alert]) -> None:
    counted = {r.id: r.why for a in alerts for r in a.articles}
    assert len(counted) == 6  # the html-only page too
    assert all(why and "in the headline" in why for why in counted.values()), counted
