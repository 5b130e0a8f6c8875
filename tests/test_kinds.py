"""One registry of detector kinds (``monitor/detect/kinds.py``): the rule schema, the alert model,
the engine, story-moments and the report all speak of the same kinds."""

from __future__ import annotations

from typing import get_args

from builders import ruleset

from monitor.detect import kinds
from monitor.detect.engine import Engine
from monitor.model import AlertKind
from monitor.report.charts import KIND_COLOURS
from monitor.rules.schema import DETECTORS


def test_every_kind_of_the_rule_schema_has_one_row_and_nothing_else_does() -> None:
    assert tuple(kinds.KINDS) == DETECTORS
    assert set(get_args(AlertKind)) == {*DETECTORS, "resolved"}  # a resolved alert ends a window
    assert set(KIND_COLOURS) >= {*DETECTORS, "resolved"}


def test_the_engine_builds_every_kind_wired_to_its_own_feed_and_counters() -> None:
    engine = Engine(ruleset())
    assert set(engine.detectors) == set(DETECTORS)
    assert [type(d).__name__ for d in engine.detectors.values()] == [
        "ThresholdDetector", "SpikeDetector", "NewActorDetector", "ShiftDetector", "SilenceDetector",
        "AnyDetector"]
    counters = {n: getattr(d, "drops", getattr(d, "counters", None)) for n, d in engine.detectors.items()}
    assert {name for name, c in counters.items() if c is engine.counters} == {
        "threshold", "spike", "new_actor", "shift", "silence", "any"}  # what each leaves out is counted
    assert engine.detectors["spike"].feed is engine.feed  # type: ignore[attr-defined]
    assert engine.detectors["silence"].feed is engine.feed  # type: ignore[attr-defined]


def test_every_kind_but_silence_waits_for_its_story_moment() -> None:
    assert set(DETECTORS) - {"silence"} == kinds.MOMENT_KINDS
