"""The story recalled in a line of the lead is background, not coverage (monitor/relevance.py).

Round 5's held-out readers: a Crimea threshold of three pieces (a minister on a peace deal,
a documentary on conscripts, a parliament's delegation rules) that each recall the
annexation in one sentence of their lead. A threshold needs one article with the story in
its headline or named throughout, and ``any`` forwards only such articles. Fictional text.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.app import backtest
from monitor.rules import load_rules
from monitor.settings import Settings

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)

RULES = """
actors:
  vardania: {name: Vardania, aliases: [Vardania]}
rules:
  - id: vardania-status
    description: Vardania's status since its annexation - sanctions, visits, rights claims
    match:
      actors: [vardania]
      keywords: [annexation, annexed, sanctions]
    threshold: {count: 3, window: 2d}
    detect: [threshold]
    cooldown: 1d
  - id: vardania-every-article
    description: Vardania's status since its annexation - sanctions, visits, rights claims
    match:
      actors: [vardania]
      keywords: [annexation, annexed, sanctions]
    any: {min_interval: 1m}
    detect: [any]
"""

BACKGROUND = [
    ("Foreign ministers discuss the river treaty",
     "The ministers met as relations stay tense over Vardania, annexed by Kestria six years ago. "
     "They agreed to share the river's water through the dry months and to meet again in June. "
     "Farmers downstream had asked for the deal for years. The treaty goes to both parliaments. "
     "Engineers will measure the flow at three dams."),
    ("Conscripts train in the northern forests",
     "Young recruits prepare for winter drills, a year after sanctions over annexed Vardania began. "
     "Each unit spends three weeks in tents, and officers say morale is high. "
     "The drills end with a march across the frozen lake. Families may visit at the weekend. "
     "The army plans to double the intake next year."),
    ("Assembly keeps its rules on delegations",
     "The assembly suspended the delegation's votes after Vardania was annexed, and the rules stay. "
     "A committee will review the procedure next year. Members debated the budget for three hours. "
     "The speaker closed the session early. The next sitting is in September."),
]
ABOUT = ("Vardania marks six years since annexation",
         "Crowds gathered in the Vardania capital as the annexation anniversary brought new sanctions. "
     "Exiled leaders called on foreign governments to refuse visits to the peninsula. "
     "Police closed the main square for the afternoon. Shops stayed shut along the river road. "
     "Organisers said the march would be repeated next year.")


def _run(tmp_path: Path, pieces: list[tuple[str, str]]) -> list[tuple[str, str, list[str]]]:
    (tmp_path / "rules.yaml").write_text(RULES)
    stream = tmp_path / "articles.jsonl"
    stream.write_text("".join(
        json.dumps({"id": f"a{i}", "title": title, "body": lead,
                    "published_at": (T0 + timedelta(hours=3 * i)).isoformat()}) + "\n"
        for i, (title, lead) in enumerate(pieces)))
    alerts = backtest(Settings(), load_rules([tmp_path / "rules.yaml"]), stream, nlp=None)
    return [(a.rule, a.kind, [x.id for x in a.articles]) for a in alerts]


def test_three_pieces_recalling_the_story_in_their_lead_reach_no_threshold(tmp_path: Path) -> None:
    assert _run(tmp_path, BACKGROUND) == []


def test_one_article_headlined_on_the_story_makes_the_count_and_is_the_one_forwarded(tmp_path: Path) -> None:
    got = _run(tmp_path, [*BACKGROUND[:2], ABOUT])
    assert ("vardania-status", "threshold", ["a0", "a1", "a2"]) in got, got
    assert [ids for rule, kind, ids in got if kind == "any"] == [["a2"]], got


def test_a_brief_whose_whole_body_is_its_lead_is_about_what_it_names(tmp_path: Path) -> None:
    brief = ("Ministers meet on Friday", "Talks will cover sanctions on annexed Vardania.")
    got = _run(tmp_path, [brief])
    assert got == [("vardania-every-article", "any", ["a0"])], got
