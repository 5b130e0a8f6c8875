"""The quick form of the grouping quality suite (bench/quality.py) against its targets."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))

from bench.quality import TARGETS, Score, bcubed, labels_text, run


def test_bcubed_on_a_hand_worked_case() -> None:
    gold = {"1": "a", "2": "a", "3": "b", "4": "b"}
    assert bcubed({"1": "x", "2": "x", "3": "y", "4": "y"}, gold) == (1.0, 1.0, 1.0)
    p, r, f1 = bcubed({"1": "x", "2": "x", "3": "x", "4": "y"}, gold)
    # precision: 2/3, 2/3, 1/3, 1 -> 2/3; recall: 1, 1, 1/2, 1/2 -> 3/4
    assert (round(p, 4), round(r, 4), round(f1, 4)) == (0.6667, 0.75, 0.7059)


@pytest.fixture(scope="module")
def quick(nlp: Any) -> dict[str, Score]:
    return {s.name: s for s in run(full=False, nlp=nlp)}


@pytest.mark.slow
def test_uci_headlines_under_one_feed_rule_meet_the_target(quick: dict[str, Score]) -> None:
    uci = quick["uci"]
    assert uci.articles == 6366 and uci.stories == 87
    assert uci.f1 >= TARGETS["uci"], uci


@pytest.mark.slow
def test_labelled_full_text_beats_both_trivial_groupings(quick: dict[str, Score]) -> None:
    assert labels_text() is not None, "bench/data/stories-fulltext.tsv (or the data branch) is missing"
    text = quick["fulltext"]
    assert text.articles >= 300 and text.stories >= 30
    assert text.f1 > text.singletons_f1 + 0.2, text
    assert text.precision > 0.5 and text.recall > 0.5, text  # not everything in one story


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="B-cubed F1 0.87 measured against 0.90 (docs/quality.md)")
def test_labelled_full_text_under_one_feed_rule_meets_the_target(quick: dict[str, Score]) -> None:
    assert quick["fulltext"].f1 >= TARGETS["fulltext"], quick["fulltext"]
