"""The bundled samples with the statistical model give the alerts samples/README.md promises,
each story in one thread named after its rule (what README's first command shows a newcomer)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from monitor.app import backtest
from monitor.rules import load_rules
from monitor.settings import Settings

ROOT = Path(__file__).resolve().parent.parent

EXPECTED = [  # samples/README.md "Alerts to expect"
    ("2026-03-02 17:45", "brennport-dock-strike", ("threshold",), ["port-002", "port-003", "port-004"]),
    ("2026-03-03 09:05", "brennport-dock-strike", ("threshold",), ["port-006", "port-007", "port-008"]),
    ("2026-03-03 09:50", "brennport-dock-strike", ("spike",), [f"port-00{i}" for i in range(6, 10)]),
    ("2026-03-04 13:30", "brennport-dock-strike", ("new_actor",), ["port-014", "port-015"]),
    ("2026-03-05 14:00", "greyfall-dam-escalation", ("threshold",), ["dam-006", "dam-007"]),
    ("2026-03-05 19:30", "greyfall-dam-dispute", ("shift",), [f"dam-00{i}" for i in range(1, 9)]),
    ("2026-03-06 10:15", "brennport-dock-strike", ("silence",), ["port-018"]),
]


@pytest.mark.slow
def test_the_samples_give_the_promised_alerts_with_the_model(nlp: Any) -> None:
    alerts = backtest(Settings(), load_rules([ROOT / "rules"]), ROOT / "samples" / "articles.jsonl", nlp=nlp)
    got = [(f"{a.at:%Y-%m-%d %H:%M}", a.rule, a.kinds, [r.id for r in a.articles]) for a in alerts]
    assert got == EXPECTED
    assert all(a.story == a.rule for a in alerts)  # one thread per story, named after its rule
    (new,) = [a for a in alerts if "new_actor" in a.kinds]
    assert new.changes is not None and [c.term for c in new.changes.new_actors] == ["Adaeze Okafor"]
