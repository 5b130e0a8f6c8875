"""The September 2013 Syria story of DESIGN.md on the real English model: two articles, two
days apart; the second must bring a framing shift and a new actor (Ban Ki-moon, not Lavrov),
in one message with the threshold it crosses that day (one story-moment, one alert)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from monitor.app import backtest
from monitor.model import Alert
from monitor.rules import load_rules
from monitor.settings import Settings

FIXTURES = Path(__file__).parent / "fixtures"
FIRST, SECOND = "syria-2013-09-12-force", "syria-2013-09-14-drop"


@pytest.fixture(scope="module")
def alerts(nlp: Any) -> list[Alert]:
    rules = load_rules([FIXTURES / "syria-rules.yaml"])
    return backtest(Settings(), rules, FIXTURES / "syria-2013-09.jsonl", nlp=nlp)


def at_second(alerts: list[Alert], kind: str) -> Alert:
    (alert,) = [a for a in alerts if kind in a.kinds]
    assert alert.at.isoformat() == "2013-09-14T10:00:00+00:00"
    assert alert.story == "us-syria-military"
    return alert


@pytest.mark.slow
def test_the_story_builds_then_moves(alerts: list[Alert]) -> None:
    assert [(a.kinds, a.at.day) for a in alerts] == [
        (("threshold",), 12), (("threshold", "shift", "new_actor"), 14)
    ]
    assert alerts[1].kind == "threshold" and len(alerts[1].reasons) == 3


@pytest.mark.slow
def test_shift_at_the_second_article_names_the_change(alerts: list[Alert]) -> None:
    shift = at_second(alerts, "shift")
    assert shift.changes is not None
    rising = {c.term: c.articles for c in shift.changes.rising}
    fading = {c.term: c.articles for c in shift.changes.fading}
    change = [t for t in rising if {"drop", "insistence", "unspecified", "consequence"} & set(t.split())]
    assert change, rising
    assert all(rising[t] == (SECOND,) for t in change)
    assert any("threat" in t for t in fading) and all(ids == (FIRST,) for ids in fading.values())
    assert "Sergey Lavrov" not in rising and "Sergei Lavrov" not in fading  # one person, both days
    assert [a.id for a in shift.articles] == [FIRST, SECOND]
    assert "new: drop insistence" in shift.summary


@pytest.mark.slow
def test_new_actor_is_ban_ki_moon_not_lavrov(alerts: list[Alert]) -> None:
    new = at_second(alerts, "new_actor")
    assert new.changes is not None
    assert [(c.term, c.articles) for c in new.changes.new_actors] == [("Ban Ki-moon", (SECOND,))]
    assert "Lavrov" not in new.summary
    assert SECOND in [a.id for a in new.articles]
