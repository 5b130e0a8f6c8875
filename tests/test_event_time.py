"""Event time against the wall clock, through the real run loop on a fake clock: wall-clock
ticks, batches cut anywhere and restarts change no alert of a replay; a live feed that goes
quiet gets its silence from the wall clock; articles from the future are refused."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from builders import item, matches, rule, ruleset

from monitor.app import App, backtest
from monitor.decode import DecodeError
from monitor.detect.engine import Engine
from monitor.notify.console import CollectingNotifier
from monitor.rules import load_rules
from monitor.settings import KafkaSettings, Settings
from monitor.sources.base import Record
from monitor.sources.membership import instance_id

H = 3600.0
DECEMBER = datetime(2026, 12, 3, 9, 0, tzinfo=UTC).timestamp()  # the wall clock of the replays
RULES = """\
actors:
  brennport: {name: Port of Brennport, aliases: [Brennport]}
rules:
  - id: dock-strike
    match: {actors: [brennport], keywords: [strike]}
    threshold: {count: 2, window: 3h}
    detect: [threshold, silence]
    silence: {after: 1d, min_articles: 2}
    cooldown: 0
    notify_resolved: true
"""


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Feed:
    """A wall-clock source the test feeds: ``caught_up`` as the test says, rejects recorded."""

    clock = "wall"
    name = "feed"
    exhausted = False

    def __init__(self) -> None:
        self.caught_up = True
        self.rejected: list[tuple[int, str]] = []
        self.queue: deque[list[Record]] = deque()

    def poll(self, max_records: int, timeout_s: float) -> list[Record]:
        return self.queue.popleft() if self.queue else []

    def seek(self, offsets: Mapping[int, int]) -> None:
        return None

    def flush(self) -> None:
        return None

    def commit(self, offsets: Mapping[tuple[str, int], int]) -> None:
        return None

    def reject(self, record: Record, error: DecodeError) -> None:
        self.rejected.append((record.offset, error.reason))

    def close(self) -> None:
        return None


def weekly_bursts(weeks: int = 4) -> list[dict[str, Any]]:
    """Three strike articles every Monday morning of March 2026: a threshold, a silence, each week."""
    start = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    out = []
    for w in range(weeks):
        for i, minutes in enumerate((0, 30, 60)):
            at = start + timedelta(days=7 * w, minutes=minutes)
            out.append({"id": f"w{w}-{i}", "title": f"Brennport dockers strike, week {w + 1}",
                        "published_at": at.strftime("%Y-%m-%dT%H:%M:%SZ")})
    return out


def records(articles: list[dict[str, Any]], first: int = 0) -> list[Record]:
    return [Record("feed", 0, first + i, json.dumps(a).encode()) for i, a in enumerate(articles)]


def identity(alerts: list[Any]) -> list[tuple[str, str, str, tuple[str, ...]]]:
    return sorted((a.rule, a.kind, a.at.isoformat(), tuple(r.id for r in a.articles)) for a in alerts)


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    path = tmp_path / "rules"
    path.mkdir()
    (path / "dock.yaml").write_text(RULES)
    return path


def app_for(
    rules: Path, state: Path, feed: Feed, clock: FakeClock, **detect: Any,
) -> tuple[App, CollectingNotifier]:
    notifier = CollectingNotifier()
    app = App(Settings(detect=detect), load_rules([rules]), feed, notifier, nlp=None,  # type: ignore[arg-type]
              state_dir=state, background_sender=False, clock=clock)
    app.runner.restore()
    return app, notifier


def replay(rules: Path, state: Path, steps: list[Any]) -> list[Any]:
    """("batch", articles) or ("tick", wall seconds later) or ("restart",), on the wall clock
    of December; returns the alerts delivered."""
    clock, feed = FakeClock(DECEMBER), Feed()
    app, notifier = app_for(rules, state, feed, clock)
    sent: list[Any] = []
    offset = 0
    for step in steps:
        if step[0] == "batch":
            app.runner.process(records(step[1], offset))
            offset += len(step[1])
        elif step[0] == "tick":
            clock.now += step[1]
            app.runner.tick(clock())
        else:
            app.finish()
            sent += notifier.alerts
            app.close()
            app, notifier = app_for(rules, state, feed, clock)
        app.sender.drain()
    app.finish()
    app.close()
    return sent + notifier.alerts


ARTICLES = weekly_bursts()
WEEKS = [ARTICLES[i:i + 3] for i in range(0, len(ARTICLES), 3)]
REPLAYS = [
    pytest.param([("batch", ARTICLES)], id="one-batch"),
    pytest.param([step for week in WEEKS for step in (("batch", week), ("tick", 30))],
                 id="a-batch-a-week-and-wall-ticks-between"),
    pytest.param([step for a in ARTICLES for step in (("batch", [a]), ("tick", 75), ("tick", 86_400))],
                 id="one-article-a-batch-a-75s-pause-and-a-day-of-wall-clock-after-each"),
    pytest.param([("batch", ARTICLES[:4]), ("tick", 45), ("restart",), ("tick", 3600),
                  ("batch", ARTICLES[4:])], id="a-restart-in-the-middle"),
]


@pytest.mark.parametrize("steps", REPLAYS)
def test_wall_clock_ticks_and_restarts_change_no_alert_of_a_replay(
    rules: Path, tmp_path: Path, steps: list[Any],
) -> None:
    articles = tmp_path / "articles.jsonl"
    articles.write_text("".join(json.dumps(a) + "\n" for a in ARTICLES))
    expected = backtest(Settings(), load_rules([rules]), articles, nlp=None)
    kinds = {a.kind for a in expected}
    assert {"threshold", "silence", "resolved"} <= kinds
    assert sum(a.kind == "threshold" for a in expected) == len(WEEKS)  # it re-arms every week
    assert identity(replay(rules, tmp_path / "state", steps)) == identity(expected)


def test_a_quiet_live_feed_gets_its_silence_from_the_wall_clock(rules: Path, tmp_path: Path) -> None:
    now = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    clock, feed = FakeClock(now.timestamp()), Feed()
    app, notifier = app_for(rules, tmp_path / "state", feed, clock)
    live = [{"id": f"l{i}", "title": "Brennport dockers strike",
             "published_at": (now + timedelta(minutes=10 * i)).isoformat()} for i in range(3)]
    for i, article in enumerate(live):  # each arrives a minute after it was published
        clock.now = now.timestamp() + 600 * i + 60
        app.runner.process(records([article], i))
    last = now.timestamp() + 1200
    seen = []
    for hours in (1, 12, 23, 24.5, 30):
        clock.now = last + hours * H
        feed.caught_up = hours != 24.5  # a moment of backlog: the wall clock says nothing then
        app.runner.tick(clock())
        app.sender.drain()
        seen.append((hours, sorted(a.kind for a in notifier.alerts)))
    app.close()
    assert seen == [(1, ["threshold"]), (12, ["resolved", "threshold"]), (23, ["resolved", "threshold"]),
                    (24.5, ["resolved", "threshold"]), (30, ["resolved", "silence", "threshold"])]
    silence = next(a for a in notifier.alerts if a.kind == "silence")
    assert silence.at.timestamp() == last + 24 * H  # the event-time moment, not the tick's


def test_an_article_from_the_future_is_refused_and_moves_no_watermark(rules: Path, tmp_path: Path) -> None:
    now = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    clock, feed = FakeClock(now.timestamp()), Feed()
    app, _ = app_for(rules, tmp_path / "state", feed, clock, future_tolerance_s=300)

    def dated(id_: str, minutes: float) -> dict[str, Any]:
        at = now + timedelta(minutes=minutes)
        return {"id": id_, "title": "Brennport dockers strike", "published_at": at.isoformat()}

    batch = [dated("soon", 4), dated("2099", 40_000_000), dated("hour", 61), dated("ok", -5)]
    app.runner.process(records(batch))
    engine = app.pipeline.engine
    assert feed.rejected == [(1, "future_timestamp"), (2, "future_timestamp")]
    assert engine.watermark == (now + timedelta(minutes=4)).timestamp()
    assert engine.counters["late"] == 0 and sum(len(s.events) for s in engine.states.values()) == 2
    assert app.metrics.registry.get_sample_value(
        "story_monitor_decode_errors_total", {"reason": "future_timestamp"}) == 2
    app.close()


def test_a_replayed_file_keeps_its_dates_whatever_they_are(rules: Path, tmp_path: Path) -> None:
    articles = tmp_path / "articles.jsonl"
    articles.write_text("".join(json.dumps(a) + "\n" for a in [
        *ARTICLES[:3], *({"id": f"far-{i}", "title": "Brennport dockers strike",
                          "published_at": f"2099-01-01T0{i}:00:00Z"} for i in range(2))]))
    alerts = backtest(Settings(), load_rules([rules]), articles, nlp=None)
    assert {"far-0", "far-1"} <= {r.id for a in alerts for r in a.articles}  # no clock to judge history by


def test_a_check_left_ahead_of_event_time_is_rewound_on_restore() -> None:
    """State saved by a version whose wall-clock ticks ran ahead: the threshold re-arms again."""
    r = rule(count=2, window_h=3, cooldown_h=0)
    bursts = [[item(f"w{w}-{i}", 168 * w + 0.5 * i, story_id="s") for i in range(3)] for w in range(3)]
    old = Engine(ruleset(r), grace_s=600)
    fired = old.process(matches(r.id, *bursts[0]))
    old.tick(DECEMBER)  # what a wall-clock tick did to a replay of March
    old.process(matches(r.id, *bursts[1]))
    delta = old.take_delta()
    assert old.states[(r.id, "s")].detectors["threshold"]["checked"] == DECEMBER

    restored = Engine(ruleset(r), grace_s=600)
    events = [(r.id, "s", e) for e in old.states[(r.id, "s")].events]
    restored.restore(events, delta.states, None, delta.watermark)
    slot = restored.states[(r.id, "s")].detectors["threshold"]
    assert slot["checked"] <= restored.watermark
    again = restored.process(matches(r.id, *bursts[2]))
    assert [a.kind for a in fired] == ["threshold"] and [a.kind for a in again] == ["threshold"]


def test_the_static_member_id_is_kept_with_the_state(tmp_path: Path) -> None:
    auto = KafkaSettings()
    first = instance_id(auto, tmp_path / "state")
    assert first is not None and first.startswith("story-monitor-")
    assert instance_id(auto, tmp_path / "state") == first  # a restart is the same member
    assert instance_id(auto, tmp_path / "other") != first  # another daemon is another member
    assert instance_id(auto, None) is None
    assert instance_id(KafkaSettings(group_instance_id="desk-1"), tmp_path) == "desk-1"
    assert instance_id(KafkaSettings(group_instance_id=""), tmp_path) is None
    assert instance_id(KafkaSettings(group_instance_id=None), tmp_path) is None


def test_ties_cut_by_any_batch_size_change_no_alert(tmp_path: Path) -> None:
    """A thousand articles with ties (two stories at one minute), every alert kind, and a spike
    whose usual rate counts the feed up to its moment: batches of one article, of seven and of
    the default give the same alerts, word for word."""
    from kafka_fixtures import alert_identity, generated_stream, public, write_jsonl
    from kafka_fixtures import backtest as backtest_cli

    stream = generated_stream()
    assert len({a["published_at"] for a in stream}) < len(stream), "the stream has ties"
    path = write_jsonl(tmp_path / "stream.jsonl", map(public, stream))
    rules = Path(__file__).parent / "fixtures" / "event-time-rules.yaml"

    def alerts(size: str) -> list[tuple[Any, ...]]:
        got = backtest_cli(rules, path, STORY_MONITOR_KAFKA__MAX_POLL_RECORDS=size)
        return sorted((*alert_identity(a), a["summary"], a["reason"]) for a in got)

    default = alerts("256")
    assert len(default) > 100
    assert alerts("1") == default
    assert alerts("7") == default
