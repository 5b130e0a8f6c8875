"""Threshold detection on event time: timelines of articles and the alerts they must cause."""

from __future__ import annotations

import pytest
from builders import item, matches, rule, ruleset

from monitor.detect.engine import Engine


def run(
    timeline: list[tuple[str, float]], *, grace_h: float = 1.0, **rule_kw: object
) -> list[tuple[str, float, list[str]]]:
    """Feed articles (id, hour) one by one; return (kind, hour, article ids) per alert."""
    r = rule(**rule_kw)  # type: ignore[arg-type]
    engine = Engine(ruleset(r), grace_s=grace_h * 3600)
    out = []
    for id_, hours in timeline:
        for alert in engine.process(matches(r.id, item(id_, hours))):
            hour = round((alert.at.timestamp() - item("x", 0).article.published_at.timestamp()) / 3600, 3)
            out.append((alert.kind, hour, [a.id for a in alert.articles]))
    return out


TABLE = [
    pytest.param(
        [("1", 0), ("2", 1), ("3", 2)], {}, [("threshold", 2, ["1", "2", "3"])], id="fires-at-count"
    ),
    pytest.param([("1", 0), ("2", 1)], {}, [], id="below-count"),
    pytest.param([("1", 0), ("2", 4), ("3", 7)], {}, [], id="outside-window"),
    pytest.param(
        [("1", 0), ("2", 5), ("3", 5.9)],
        {},
        [("threshold", 5.9, ["1", "2", "3"])],
        id="window-inclusive-of-recent",
    ),
    pytest.param(
        [("1", 0), ("2", 1), ("3", 2), ("4", 3), ("5", 4)],
        {},
        [("threshold", 2, ["1", "2", "3"])],
        id="rising-edge-only",
    ),
    pytest.param(
        [("1", 0), ("2", 1), ("3", 2), ("4", 20), ("5", 21), ("6", 22)],
        {},
        [("threshold", 2, ["1", "2", "3"]), ("threshold", 22, ["4", "5", "6"])],
        id="re-arms-after-falling",
    ),
    pytest.param(
        [("1", 0), ("2", 1), ("3", 2), ("4", 10), ("5", 10.5), ("6", 11)],
        {"cooldown_h": 12},
        [("threshold", 2, ["1", "2", "3"])],
        id="cooldown-silences-second-rise",
    ),
    pytest.param(
        [("1", 0), ("2", 1), ("3", 2), ("4", 15), ("5", 15.5), ("6", 16)],
        {"cooldown_h": 12},
        [("threshold", 2, ["1", "2", "3"]), ("threshold", 16, ["4", "5", "6"])],
        id="after-cooldown",
    ),
    pytest.param(
        [("1", 0), ("3", 2), ("2", 1.5)],
        {},
        [("threshold", 2, ["1", "2", "3"])],
        id="out-of-order-within-grace-counts-where-it-belongs",
    ),
    pytest.param(
        [("1", 0), ("2", 5), ("3", 8), ("late", 4.5)], {"grace_h": 1.0}, [], id="late-beyond-grace-is-dropped"
    ),
    pytest.param([("1", 0), ("1", 0), ("1", 0)], {}, [], id="same-article-counted-once"),
    pytest.param([("1", 0)], {"count": 1}, [("threshold", 0, ["1"])], id="count-one"),
]


@pytest.mark.parametrize(("timeline", "kw", "expected"), TABLE)
def test_threshold_timeline(
    timeline: list[tuple[str, float]], kw: dict[str, float], expected: list[tuple[str, float, list[str]]]
) -> None:
    assert run(timeline, **kw) == expected  # type: ignore[arg-type]


def test_late_and_duplicate_are_counted_not_silent() -> None:
    r = rule()
    engine = Engine(ruleset(r), grace_s=3600)
    engine.process(matches("r", item("1", 10), item("1", 10), item("old", 2)))
    assert engine.counters == {"duplicate": 1, "late": 1}


def test_stories_by_upstream_story_id_are_separate() -> None:
    r = rule(count=2)
    engine = Engine(ruleset(r))
    alerts = engine.process(
        matches(
            "r",
            item("1", 0, story_id="s1"),
            item("2", 1, story_id="s2"),
            item("3", 2, story_id="s1"),
        )
    )
    assert [(a.story, [x.id for x in a.articles]) for a in alerts] == [("s1", ["1", "3"])]


def test_alert_keys_are_stable_across_replays() -> None:
    def keys() -> list[str]:
        engine = Engine(ruleset(rule()))
        return [a.key for a in engine.process(matches("r", *(item(str(i), i) for i in range(5))))]

    assert keys() == keys() and len(keys()) == 1


def test_resolved_notification_when_asked() -> None:
    r = rule(notify_resolved=True)
    engine = Engine(ruleset(r))
    got = [
        a.kind for a in engine.process(matches("r", item("1", 0), item("2", 1), item("3", 2), item("4", 30)))
    ]
    assert got == ["threshold", "resolved"]


def test_summary_explains_the_numbers() -> None:
    engine = Engine(ruleset(rule()))
    (alert,) = engine.process(matches("r", item("1", 0), item("2", 1), item("3", 2)))
    assert alert.summary == "3 articles in 6h: A + strike"
    assert alert.count == 3 and alert.threshold == 3 and alert.window_s == 6 * 3600
    assert alert.reason.startswith("rising_edge:")
