"""Threshold and spike on day-dated news, judged against the feed: timelines of days (the
story's articles and the rest of the feed, all at noon, as a day-dated corpus has them) in,
the alerts they must cause out. A day-after repeat of the same development is no alert; a
spike is measured against days on which the feed itself ran normally."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from builders import T0, article, item, matches, rule, ruleset

from monitor.detect.engine import Engine
from monitor.detect.lifecycle import REPEAT
from monitor.rules.schema import SpikeParams

D = 86400.0
Days = dict[int, int]  # day -> articles that day (at noon)


def play(r: Any, story: Days, feed: Days | None = None, *, until: int | None = None) -> tuple[
        list[tuple[str, int]], Engine]:
    """Day by day: the feed's other news, then the story's articles one by one, then a tick.

    Returns (kind, day) per alert part (a merged message lists every kind) and the engine.
    """
    engine = Engine(ruleset(r), grace_s=3600.0)
    out: list[tuple[str, int]] = []
    last = until if until is not None else max([*story, *(feed or {})])
    for day in range(last + 1):
        noon = day * 24 + 12
        engine.observe_feed([article(f"f{day}-{i}", noon) for i in range((feed or {}).get(day, 0))])
        for i in range(story.get(day, 0)):
            it = item(f"s{day}-{i}", noon, story_id="s")
            engine.observe_feed([it.article])
            alerts = engine.process(matches(r.id, it))
            out += [(k, day_of(a)) for a in alerts for k in a.kinds or (a.kind,)]
        for a in engine.tick(T0.timestamp() + (noon + 1) * 3600):
            out += [(k, day_of(a)) for k in a.kinds or (a.kind,)]
    return out, engine


def day_of(alert: Any) -> int:
    return int((alert.at - T0).total_seconds() // D)


def threshold_rule() -> Any:
    return rule(count=3, window_h=24, cooldown_h=12)


def spike_rule(**kw: Any) -> Any:
    params = SpikeParams(recent=timedelta(days=1), baseline=timedelta(days=7), factor=3, min_count=4,
                         warmup=timedelta(days=2), **kw)
    return rule(detect=("spike",), count=99, spike=params, cooldown_h=12)


# --- threshold: a repeat needs a calm (or a much higher level) -------------------------------

THRESHOLD = [
    pytest.param({0: 4, 1: 3}, [0], id="the-day-after-at-the-same-level-is-the-same-story"),
    pytest.param({0: 4, 1: 2, 2: 3}, [0], id="a-dip-to-the-resolve-level-is-no-calm"),
    pytest.param({0: 4, 1: 3, 2: 4, 3: 3}, [0], id="an-ongoing-run-of-days-is-one-alert"),
    pytest.param({0: 4, 1: 1, 2: 3}, [0, 2], id="a-calm-day-then-a-new-rise-is-news"),
    pytest.param({0: 4, 2: 3}, [0, 2], id="a-day-without-a-word-then-a-new-rise-is-news"),
    pytest.param({0: 3, 1: 6}, [0, 1], id="twice-the-last-peak-is-news-without-a-calm"),
    pytest.param({0: 3, 1: 5}, [0], id="a-bit-more-than-the-last-peak-is-not"),
    pytest.param({0: 3, 1: 4, 2: 8}, [0, 2], id="doubling-the-peak-of-an-ongoing-run"),
]


@pytest.mark.parametrize(("story", "days"), THRESHOLD)
def test_threshold_repeats_only_after_a_calm_or_a_much_higher_level(story: Days, days: list[int]) -> None:
    got, _ = play(threshold_rule(), story)
    assert got == [("threshold", d) for d in days]


def test_a_held_back_repeat_is_counted_with_its_reason() -> None:
    _, engine = play(threshold_rule(), {0: 4, 1: 3, 2: 1, 3: 4})
    counts = next(iter(engine.states.values())).slot("threshold")["counts"]
    assert counts == {REPEAT: 1}  # day 1 held back; day 3 came after a calm day and was sent
    assert engine.counters[f"threshold:{REPEAT}"] == 1  # signals_suppressed_total{kind, reason}


def test_the_old_continuous_re_arm_still_holds() -> None:
    r = rule(count=3, window_h=6)  # hours: a burst, 13 quiet hours, another burst
    engine = Engine(ruleset(r), grace_s=3600.0)
    hours = []
    for i, h in enumerate((0, 1, 2, 20, 21, 22)):
        alerts = engine.process(matches(r.id, item(f"{i}", h)))
        hours += [round((a.at - T0).total_seconds() / 3600) for a in alerts]
    assert hours == [2, 22]


# --- spike: against the feed ----------------------------------------------------------------

NORMAL = dict.fromkeys(range(16), 100)  # a feed of 100 articles a day
GAP = {**NORMAL, **dict.fromkeys(range(6, 12), 3)}  # days 6-11: (almost) nothing collected
SHORT_GAP = {**NORMAL, **dict.fromkeys(range(9, 12), 3)}  # days 9-11 only
BIG_DAY = {**dict.fromkeys(range(13), 50), 12: 200}  # the feed took in four times as much on day 12

SPIKE = [
    pytest.param({1: 1, 3: 1, 5: 1, 12: 5}, NORMAL, [12], id="a-real-spike-over-a-normal-feed"),
    pytest.param({1: 1, 3: 1, 5: 1, 12: 5}, GAP, [], id="a-baseline-mostly-in-a-feed-gap-is-no-baseline"),
    pytest.param({1: 1, 3: 1, 5: 1, 12: 5}, SHORT_GAP, [12],
                 id="the-normal-days-of-the-baseline-still-judge"),
    pytest.param({d: 1 for d in range(12)} | {12: 4}, BIG_DAY, [], id="more-on-a-day-the-whole-feed-swelled"),
    pytest.param({d: 1 for d in range(12)} | {12: 5}, dict.fromkeys(range(13), 50), [12],
                 id="the-same-day-in-a-steady-feed-is-a-spike"),
    pytest.param({0: 1, 2: 14, 8: 5, 9: 5, 10: 5}, NORMAL, [2],
                 id="as-many-as-the-day-before-is-a-level-not-a-spike"),
    pytest.param({5: 1, 7: 1, 12: 5, 13: 5}, NORMAL, [12],
                 id="the-day-after-at-the-same-level-is-no-second-spike"),
    pytest.param({5: 1, 7: 1, 12: 5, 13: 1, 14: 5}, NORMAL, [12, 14], id="a-calm-day-re-arms-the-spike"),
]


@pytest.mark.parametrize(("story", "feed", "days"), SPIKE)
def test_spike_is_judged_against_the_feed(story: Days, feed: Days, days: list[int]) -> None:
    got, _ = play(spike_rule(), story, feed)
    assert got == [("spike", d) for d in days]


def test_a_spike_withheld_for_a_degraded_baseline_is_counted() -> None:
    _, engine = play(spike_rule(), {1: 1, 3: 1, 5: 1, 12: 5}, GAP)
    assert engine.counters["spike:feed_degraded"] >= 1
    _, normal = play(spike_rule(), {1: 1, 3: 1, 5: 1, 12: 5}, NORMAL)
    assert normal.counters["spike:feed_degraded"] == 0


def test_without_a_counted_feed_the_spike_reads_the_raw_rate() -> None:
    got, _ = play(spike_rule(), {1: 1, 3: 1, 5: 1, 12: 5})  # no feed observed but the story itself
    assert got == [("spike", 12)]
