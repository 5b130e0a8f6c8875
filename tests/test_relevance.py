"""Relevance: a rule counts an article only when its actors and keywords are central to it.

A table of articles (headline, lead, one passing mention deep in a long body, four
mentions, ...) against whether the rule counts them and the reason shown. Alias-only
annotation (no model) places actors and keywords exactly as the model run does.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from builders import DOCK_STRIKE, FILLER

from monitor.annotate.annotator import Annotator
from monitor.match import Matcher, match
from monitor.model import Article
from monitor.rules import check_paths, load_rules

RULES = DOCK_STRIKE + """%s}
"""


def body(*inserts: tuple[int, str]) -> str:
    sentences = list(FILLER)
    for where, sentence in inserts:
        sentences.insert(where, sentence)
    return " ".join(sentences)


CASES = [
    # (name, title, body, counted, why)
    ("headline", "Brennport dockers strike over pay", body(),
     True, "Port of Brennport, strike in the headline; together in one sentence"),
    ("lead", "Council round-up", body((0, "Dockers at Brennport began a strike on Monday.")),
     True, "Port of Brennport, strike in the lead; together in one sentence"),
    ("passing mention deep in a long body", "Council round-up",
     body((7, "One member recalled the Brennport strike of 1998.")), False, None),
    ("four mentions", "Council round-up", body(
        (4, "Brennport dockers voted for a strike."), (6, "The strike at Brennport stopped ferries."),
        (8, "Brennport managers called the strike illegal."), (10, "Talks on the Brennport strike resume."),
    ), True, "Port of Brennport: 4 mentions; strike: 4 mentions; together in one sentence"),
    ("two mentions in one sentence each", "Council round-up", body(
        (5, "Brennport dockers voted for a strike."), (8, "The strike at Brennport stopped ferries."),
    ), True, "Port of Brennport: 2 mentions; strike: 2 mentions; together in one sentence"),
    ("actor central, keyword passing", "Brennport council backs new library",
     body((7, "A strike by bus drivers was also mentioned.")), False, None),
    ("actor central, keyword twice", "Brennport council backs new library",
     body((6, "A strike by bus drivers was mentioned."), (8, "The strike may spread.")),
     True, "Port of Brennport in the headline; strike: 2 mentions"),
    ("one passing sentence with both", "Council round-up",
     body((7, "Brennport dockers went on strike in 1998.")), False, None),
]


def annotate(rules_text: str, tmp_path: Path, title: str, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "rules.yaml"
    path.write_text(rules_text)
    rules = load_rules([path])
    article = Article(id="a", title=title, body=text, published_at=datetime(2026, 3, 2, tzinfo=UTC))
    return rules, Annotator(rules, None).annotate([article])[0]


@pytest.mark.parametrize(("name", "title", "text", "counted", "why"), CASES, ids=[c[0] for c in CASES])
def test_relevance_table(
    tmp_path: Path, name: str, title: str, text: str, counted: bool, why: str | None
) -> None:
    rules, item = annotate(RULES % "", tmp_path, title, text)
    assert item.actors and item.keywords  # the rule's requirements are all met ...
    matcher = Matcher(rules)
    found = matcher.match([item])
    assert bool(found) is counted  # ... but only a central article counts
    assert matcher.below == (0 if counted else 1)
    assert match([item], rules.rules) == found  # the reference form agrees
    if counted:
        assert found[0].why == why


def test_min_relevance_zero_counts_every_match(tmp_path: Path) -> None:
    _, text = CASES[2][1], CASES[2][2]
    rules, item = annotate(RULES % ", min_relevance: 0", tmp_path, "Council round-up", text)
    (found,) = Matcher(rules).match([item])
    assert found.relevance < 0.5
    assert found.why == "Port of Brennport: 1 mention; strike: 1 mention"


def test_headline_only_level(tmp_path: Path) -> None:
    rules, lead = annotate(RULES % ", min_relevance: 1", tmp_path, CASES[1][1], CASES[1][2])
    assert Matcher(rules).match([lead]) == []
    _, head = annotate(RULES % ", min_relevance: 1", tmp_path, CASES[0][1], CASES[0][2])
    assert len(Matcher(rules).match([head])) == 1


@pytest.mark.parametrize("value", ["high", "1.5", "-0.1", "true"])
def test_bad_min_relevance_is_an_error_with_line(tmp_path: Path, value: str) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES % f", min_relevance: {value}")
    (error,) = check_paths([path])
    expected = f"{path}:6: match.min_relevance: expected a number from 0 (every match) to 1"
    assert error.startswith(expected), error
