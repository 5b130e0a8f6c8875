"""Silences: analysts hold back a known story's alerts until a time; checked like rules."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from builders import at, item, matches, rule, ruleset

from monitor.detect.engine import Engine
from monitor.obs.metrics import Metrics
from monitor.route import Router
from monitor.rules import check_paths, load_rules
from monitor.rules.schema import RuleSet, Silence

BAD = Path(__file__).parent / "rules_bad" / "bad_silence.yaml"


def test_bad_silences_are_reported_with_lines() -> None:
    assert check_paths([BAD]) == [
        f"{BAD}:5: silences.rule: unknown rule id 'strik' (did you mean 'strike'?)",
        f"{BAD}:8: silences.until: 'next tuesday' is not a time like 2026-03-03T12:00:00Z",
        f"{BAD}:9: silences.kinds: unknown kind 'thresold' (did you mean 'threshold'?)",
    ]


def test_silence_loads_from_yaml(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(
        "rules:\n  - id: r\n    match: {keywords: [strike]}\n"
        "silences:\n  - {rule: r, story: s1, kinds: [threshold],\n"
        "     until: 2026-03-03T12:00:00Z, reason: known}\n"
    )
    (silence,) = load_rules([tmp_path]).silences
    assert silence.until == datetime(2026, 3, 3, 12, tzinfo=UTC)
    assert (silence.story, silence.kinds, silence.reason) == ("s1", ("threshold",), "known")


def test_router_holds_back_silenced_alerts_until_the_time() -> None:
    r = rule(count=1, cooldown_h=0)
    engine = Engine(ruleset(r))
    alerts = engine.process(matches("r", item("1", 0, story_id="s1"), item("2", 0, story_id="s2"),
                                    item("3", 30, story_id="s1")))
    silence = Silence(rule="r", story="s1", until=at(10), reason="desk knows")
    kept, dropped = Router(RuleSet(rules=(r,), silences=(silence,))).route(alerts)
    assert [(a.story, a.at) for a in kept] == [("s2", at(0)), ("s1", at(30))]
    assert [(a.story, why) for a, why in dropped] == [("s1", "silenced")]


def test_pipeline_counts_silenced_alerts() -> None:
    from monitor.annotate.annotator import Annotator
    from monitor.pipeline import Pipeline

    r = rule(count=1)
    rs = RuleSet(actors=ruleset(r).actors, rules=(r,), silences=(Silence(rule="r", until=at(100)),))
    metrics = Metrics()
    pipeline = Pipeline(rs, Annotator(rs), Engine(rs), metrics)
    assert pipeline.route(Engine(rs).process(matches("r", item("1", 0)))) == []
    assert metrics.dropped.labels(reason="silenced")._value.get() == 1
