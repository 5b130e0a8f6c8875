"""Backtest real headlines (UCI News Aggregator, March 2014) and check alerts against story labels."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from monitor.app import backtest
from monitor.decode import parse_time
from monitor.rules import load_rules
from monitor.settings import Settings

DATA = Path(__file__).parents[2] / "shared" / "data" / "uci-news-2014-03.jsonl"
if not DATA.is_file():  # a fresh clone has shared/ beside it; a developer checkout may be deeper
    DATA = Path("/work/shared/data/uci-news-2014-03.jsonl")
RULES = Path(__file__).parent / "fixtures" / "uci-rules.yaml"

# Independent of the annotator: plain regular expressions for what each rule means.
MEANS = {
    "mtgox-bankruptcy": lambda t: (
        bool(re.search(r"\bMt\.? ?Gox\b|\bMtGox\b", t))
        and bool(re.search(r"\bbankrupt(cy|cies)?\b", t, re.I))
    ),
    "bitcoin-any-story": lambda t: bool(re.search(r"\bbitcoins?\b", t, re.I)),
}


def expected_alerts(
    rows: list[dict[str, Any]], rule: str, count: int, window_s: float
) -> dict[str, list[str]]:
    """Per labelled story: the first `count` matching headlines, when they fall inside one window."""
    by_story: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if MEANS[rule](row["title"]):
            by_story[row["story_id"]].append(row)
    out = {}
    for story, items in by_story.items():
        times = [parse_time(r["published_at"]).timestamp() for r in items]  # type: ignore[union-attr]
        assert max(times) - min(times) < window_s  # stories were collected within minutes
        if len(items) >= count:
            out[story] = [r["id"] for r in items[:count]]
    return out


@pytest.mark.slow
def test_backtest_alerts_match_story_labels(nlp: Any) -> None:
    rows = [json.loads(line) for line in DATA.read_text().splitlines()]
    ruleset = load_rules([RULES])
    alerts = backtest(Settings(), ruleset, DATA, nlp=nlp)
    for rule in ruleset.rules:
        expected = expected_alerts(rows, rule.id, rule.threshold.count, rule.threshold.window.total_seconds())
        got = {a.story: [r.id for r in a.articles] for a in alerts if a.rule == rule.id}
        assert got == expected, rule.id
        assert all(a.kind == "threshold" for a in alerts if a.rule == rule.id)
    assert len({a.rule for a in alerts}) == 2
    # the labelled story with the most Mt. Gox bankruptcy headlines is among those that fired
    per_story: dict[str, int] = defaultdict(int)
    for row in rows:
        per_story[row["story_id"]] += MEANS["mtgox-bankruptcy"](row["title"])
    biggest = max(per_story, key=per_story.__getitem__)
    gox = [a for a in alerts if a.rule == "mtgox-bankruptcy"]
    assert biggest in {a.story for a in gox} and len(gox) >= 2
    assert all("Gox" in r.title for a in gox for r in a.articles)
    assert [a.at for a in alerts] == sorted(a.at for a in alerts)  # event-time order
