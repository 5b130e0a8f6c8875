"""Feed-aware silence and one message per story-moment, as timelines: articles at hours in,
alerts (and feed notices) out. The feed is every article of the stream, matched or not."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from builders import T0, article, item, matches, rule, ruleset

from monitor.app import App, backtest
from monitor.detect.engine import Engine
from monitor.detect.feed import FeedParams, FeedState, FeedTracker
from monitor.detect.moments import MomentParams
from monitor.model import Alert
from monitor.notify.console import CollectingNotifier
from monitor.rules import load_rules
from monitor.rules.schema import SilenceParams, SpikeParams
from monitor.settings import Settings
from monitor.sources.jsonl import JsonlSource

H = 3600.0
Step = tuple[Any, ...]  # ("story", id, hour) | ("feed", hour, n) | ("tick", hour) | ("batch",)


def background(start_h: float, end_h: float, per_h: int = 2,
               skip: tuple[float, float] | None = None) -> list[Step]:
    """Other news of the feed: ``per_h`` unmatched articles an hour, none in ``skip``."""
    out: list[Step] = []
    for h in range(int(start_h), int(end_h)):
        if skip is None or not skip[0] <= h < skip[1]:
            out.append(("feed", h + 0.5, per_h))
    return out


def play(r: Any, steps: list[Step], *, moments: MomentParams | None = None,
         engine: Engine | None = None) -> tuple[list[Alert], list[tuple[str, float]]]:
    """Feed, story articles and ticks in time order; the engine as the pipeline drives it."""
    engine = engine or Engine(ruleset(r), grace_s=H, feed=FeedParams(window=timedelta(hours=6),
                                                                     min_expected=3), moments=moments)
    alerts: list[Alert] = []
    order = {"feed": 0, "story": 1, "tick": 2, "batch": 3}
    for step in sorted(steps, key=lambda s: (s[1] if len(s) > 1 else 0, order[s[0]])):
        t = T0.timestamp() + step[1] * H
        if step[0] == "feed":
            engine.observe_feed([article(f"f{step[1]}-{i}", step[1]) for i in range(step[2])])
        elif step[0] == "story":
            it = item(step[2], step[1], story_id="s")
            engine.observe_feed([it.article])
            alerts += engine.process(matches(r.id, it))
        else:
            alerts += engine.tick(t)
    notices = [(n.kind, round((n.at - T0.timestamp()) / H, 2)) for n in engine.notices]
    return alerts, notices


def hours(alerts: list[Alert]) -> list[tuple[str, float]]:
    return [(a.kind, round((a.at - T0).total_seconds() / H, 2)) for a in alerts]


def silence_rule() -> Any:
    return rule(detect=("silence",), silence=SilenceParams(after=timedelta(hours=12), min_articles=2))


STORY = [("story", h, f"s{h}") for h in (30, 31, 32)]


# --- silence against the feed --------------------------------------------------------------

def test_a_feed_outage_gives_no_silence_and_one_degraded_feed_report() -> None:
    outage = background(0, 90, skip=(33, 60))
    back = [("story", 64, "s64"), ("story", 65, "s65")]  # the story resumes 4h after the feed
    alerts, notices = play(silence_rule(), [*outage, *STORY, *back, *(("tick", h) for h in range(33, 77))])
    assert hours(alerts) == []  # quiet from 32 to 64, but the feed was out from 33 to 60
    assert [k for k, _ in notices] == ["degraded", "recovered"]
    assert 33 < notices[0][1] <= 40 and 60 < notices[1][1] <= 67


def test_a_story_still_quiet_once_the_feed_is_back_goes_quiet_a_whole_period_later() -> None:
    outage = background(0, 90, skip=(33, 60))
    alerts, _ = play(silence_rule(), [*outage, *STORY, *(("tick", h) for h in range(33, 90))])
    assert hours(alerts) == [("silence", 74)]  # moments 44, 50, ... : the first with 12h of feed after 60


def test_a_story_going_quiet_while_the_feed_runs_normally_still_goes_quiet() -> None:
    steps = [*background(0, 80), *STORY, *(("tick", h) for h in range(33, 80))]
    alerts, notices = play(silence_rule(), steps)
    assert hours(alerts) == [("silence", 44)]
    assert notices == []


def test_a_silence_judged_after_a_short_outage_comes_once_the_feed_is_back() -> None:
    # the feed drops from 40 to 46: the quiet period (32, 44] is not judged; (38, 50] is not
    # either (the outage); the one ending at 56, one feed window later again, is
    steps = [*background(0, 80, skip=(40, 46)), *STORY, *(("tick", h) for h in range(33, 80))]
    alerts, _ = play(silence_rule(), steps)
    assert hours(alerts) == [("silence", 56)]
    assert "since the last one" in alerts[0].reason


def test_the_story_s_own_sources_down_is_a_degraded_feed_for_it() -> None:
    tracker = FeedTracker(FeedParams(window=timedelta(hours=6), min_expected=3))
    wire = [replace(article(f"w{h}", h), source="wire") for h in range(0, 40)]
    other = [replace(article(f"o{h}-{i}", h), source="other") for h in range(0, 60) for i in range(3)]
    state, _ = tracker.observe(FeedState(), wire + other)
    t0 = T0.timestamp()
    assert not tracker.judge(state, t0 + 40 * H, t0 + 52 * H).degraded  # the feed as a whole runs
    verdict = tracker.judge(state, t0 + 40 * H, t0 + 52 * H, sources=("wire",))
    assert verdict.degraded and verdict.scope == "sources" and verdict.count == 0


def test_a_young_feed_is_not_judged() -> None:
    # the engine never saw the feed (a detector test feeding only matches): silence as before
    engine = Engine(ruleset(silence_rule()), grace_s=H)
    alerts = []
    for h in (0, 1, 2):
        alerts += engine.process(matches("r", item(f"x{h}", h, story_id="s")))
    alerts += engine.tick(T0.timestamp() + 20 * H)
    assert hours(alerts) == [("silence", 14)]


# --- one message per story-moment ----------------------------------------------------------

def both_rule() -> Any:
    return rule(detect=("threshold", "spike"), count=4, window_h=6,
                spike=SpikeParams(min_count=4, warmup=timedelta(hours=1)))


BURST = [("story", 0.0, "s0"), ("story", 1.0, "s1"), ("story", 2.0, "s2"), ("story", 3.0, "s3")]


def test_threshold_and_spike_at_one_moment_give_one_message_with_both_reasons() -> None:
    alone, _ = play(both_rule(), [*BURST, ("tick", 4)])
    assert hours(alone) == [("threshold", 3), ("spike", 3)]  # without merging: two messages
    merged, _ = play(both_rule(), [*BURST, ("tick", 4)], moments=MomentParams(hold_s=120))
    assert hours(merged) == [("threshold", 3)]
    (alert,) = merged
    assert alert.kinds == ("threshold", "spike") and alert.key == alone[0].key
    assert alert.reasons[0].startswith("rising_edge") and alert.reasons[1].startswith("rate_above")
    public = alert.public()
    assert public["kind"] == "threshold" and public["kinds"] == ["threshold", "spike"]
    assert public["reasons"] == list(alert.reasons) and public["reason"] == alert.reasons[0]


def test_a_matching_article_and_the_threshold_it_completes_give_one_message() -> None:
    """``any`` forwards the article that also makes the threshold: the desk gets it once, with
    both reasons, instead of "a new matching article" and "4 articles" side by side. (s0, told
    at hour 0, does not count again: the threshold is s1 and s2, new at hour 5.)"""
    r = rule(detect=("any", "threshold"), count=2, window_h=6)

    def run(moments: MomentParams | None) -> list[Alert]:
        engine = Engine(ruleset(r), grace_s=H, moments=moments)
        out = engine.process(matches(r.id, item("s0", 0.0, story_id="s")))
        out += engine.process(matches(r.id, item("s1", 5.0, story_id="s"), item("s2", 5.0, story_id="s")))
        return out + engine.tick(T0.timestamp() + 6 * H)

    assert sorted(hours(run(None))) == [("any", 0.0), ("any", 5.0), ("threshold", 5.0)]
    merged = run(MomentParams(hold_s=120))
    assert [(a.kind, a.kinds, hours([a])[0][1]) for a in merged] == [
        ("any", ("any",), 0.0), ("any", ("any", "threshold"), 5.0)]
    assert [x.id for x in merged[1].articles] == ["s1", "s2"]


def test_the_same_across_a_batch_boundary_and_a_restart() -> None:
    r = both_rule()
    r = replace(r, threshold=replace(r.threshold, count=3))  # threshold at the third, spike at the fourth
    first = Engine(ruleset(r), grace_s=H, moments=MomentParams(hold_s=2 * H))
    got = []
    for step in BURST[:3]:
        got += first.process(matches(r.id, item(step[2], step[1], story_id="s")))
    got += first.tick(T0.timestamp() + 2.5 * H)  # the end of a batch: the threshold of 2 is held
    assert got == [] and [a.kinds for a in first.moments.held] == [("threshold",)]
    delta = first.take_delta()
    second = Engine(ruleset(r), grace_s=H, moments=MomentParams(hold_s=2 * H))
    events = [(rid, s, e) for (rid, s), st in first.states.items() for e in st.events]
    second.restore(events, delta.states, delta.stories, delta.watermark, delta.feed_state, delta.moments)
    got += second.process(matches(r.id, item("s3", 3.0, story_id="s")))  # the spike, next batch: joins
    got += second.tick(T0.timestamp() + 6 * H)
    assert [(a.kind, a.kinds, hours([a])[0][1]) for a in got] == [("threshold", ("threshold", "spike"), 2)]
    assert [x.id for x in got[0].articles] == ["s0", "s1", "s2", "s3"]
    assert first.counters["merged:same_moment"] == 0 and second.counters["merged:same_moment"] == 1


def test_signals_further_apart_than_the_hold_stay_apart() -> None:
    r = replace(both_rule(), threshold=replace(both_rule().threshold, count=3))
    got, _ = play(r, [*BURST, ("tick", 5)], moments=MomentParams(hold_s=600))
    assert [(k, a.kinds) for k, a in zip(hours(got), got, strict=True)] == [
        (("threshold", 2), ("threshold",)), (("spike", 3), ("spike",))]


# --- the whole app: batches, the outbox, a replay ------------------------------------------

MOMENT_RULES = """\
actors:
  norvania: {name: Norvania, aliases: [Norvania]}
rules:
  - id: dock-strike
    match: {actors: [norvania], keywords: [strike]}
    threshold: {count: 4, window: 1d}
    spike: {recent: 1d, baseline: 7d, factor: 3, min_count: 4, warmup: 2d}
    detect: [threshold, spike]
"""


def moment_stream(path: Path) -> Path:
    """Calm coverage for a week, then four articles on one day: threshold and spike at once."""
    lines = []
    days = [*range(0, 8, 4), 10, 10, 10, 10]
    for i, d in enumerate(days):
        at = (T0 + timedelta(days=d, hours=12)).strftime("%Y-%m-%dT%H:%M:%SZ")
        lines.append({"id": f"d{i}", "title": f"Norvania dock strike, report {i}", "published_at": at})
    path.write_text("".join(json.dumps(a) + "\n" for a in lines))
    return path


def test_one_message_whatever_the_batches_and_a_replay_posts_nothing_twice(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "desk.yaml").write_text(MOMENT_RULES)
    stream = moment_stream(tmp_path / "in.jsonl")
    outputs = []
    for size in (1, 2, 256):
        settings = Settings(kafka={"max_poll_records": size})  # type: ignore[arg-type]
        outputs.append([(a.key, a.kinds) for a in backtest(settings, load_rules([rules]), stream, nlp=None)])
    assert outputs[0] == outputs[1] == outputs[2]
    [(key, kinds)] = outputs[0]
    assert kinds == ("threshold", "spike") and ":threshold:" in key

    state = tmp_path / "state"
    first, raised = run_app(stream, state, load_rules([rules]))
    assert [(a.key, a.kinds) for a in first] == outputs[0] and raised == 1
    conn = sqlite3.connect(state / "state.sqlite")  # a replay from scratch: state lost, outbox kept
    with conn:
        for table in ("offsets", "events", "detectors", "stories", "meta", "feed", "held"):
            conn.execute(f"DELETE FROM {table}")
    conn.close()
    assert run_app(stream, state, load_rules([rules])) == ([], 1)  # raised again, same key: not sent


def run_app(path: Path, state: Path, rules: Any) -> tuple[list[Alert], float]:
    """What was sent, and how many alerts the pipeline raised."""
    sink = CollectingNotifier()
    app = App(Settings(), rules, JsonlSource(path), sink, nlp=None, state_dir=state, background_sender=False)
    try:
        app.run()
        app.finish()
    finally:
        app.close()
    samples = [s for m in app.metrics.alerts.collect() for s in m.samples]
    raised = sum(s.value for s in samples if s.name.endswith("_total"))
    return sink.alerts, raised


def test_a_merged_alert_keeps_what_moved_in_each_signal() -> None:
    from monitor.detect.moments import merge_changes
    from monitor.model import Changes, TermChange

    shift = Changes(rising=(TermChange(term="drop insistence", score=1.0),),
                    fading=(TermChange(term="threat of force", score=-1.0),), divergence=0.4)
    actor = Changes(new_actors=(TermChange(term="Ban Ki-moon", score=1.0),))
    both = merge_changes(shift, actor)
    assert both is not None and both.divergence == 0.4
    assert [[c.term for c in x] for x in (both.rising, both.fading, both.new_actors)] == [
        ["drop insistence"], ["threat of force"], ["Ban Ki-moon"]]
    assert merge_changes(None, actor) == actor


def test_a_backtest_raises_no_silence_in_a_feed_gap_and_counts_what_it_held_back(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "desk.yaml").write_text(MOMENT_RULES.replace("detect: [threshold, spike]", (
        "detect: [threshold, spike, silence]\n    silence: {after: 2d, min_articles: 2}")))
    lines = []
    for day in range(14):  # 12 articles a day, at noon like the corpus; nothing on days 7 to 9
        for i in range(0 if 7 <= day <= 9 else 12):
            title = f"Norvania dock strike, day {day}" if day in (5, 6) and i < 2 else f"Markets, day {day}"
            at = (T0 + timedelta(days=day, hours=12)).strftime("%Y-%m-%dT%H:%M:%SZ")
            lines.append({"id": f"a{day}-{i}", "title": title, "published_at": at, "source": f"s{i % 3}"})
    stream = tmp_path / "in.jsonl"
    stream.write_text("".join(json.dumps(a) + "\n" for a in lines))
    sink = CollectingNotifier()
    app = App(Settings(), load_rules([rules]), JsonlSource(stream), sink, nlp=None,
              state_dir=tmp_path / "state", background_sender=False)
    try:
        app.run()
        app.finish()
    finally:
        app.close()
    # quiet from day 6: (6, 8], (7, 9] and (8, 10] hold days of the gap; (9, 11] is the first
    # with the feed normal all along: the silence comes then, saying how long it has been
    assert [(a.kind, (a.at - T0).days) for a in sink.alerts] == [("silence", 11)]
    assert "(5d since the last one)" in sink.alerts[0].reason
    held_back = app.metrics.suppressed.labels(kind="silence", reason="feed_degraded")._value.get()
    assert held_back == 3
    assert app.metrics.feed_notices.labels(kind="degraded")._value.get() == 1
