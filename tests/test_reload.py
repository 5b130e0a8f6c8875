"""Hot reload: the watcher, the reloader against a real App and the fake Slack, and the real daemon."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from daemonproc import Daemon, metric, wait_until
from fakeslack import FakeSlack
from slack_sdk import WebClient

from monitor.app import App
from monitor.notify.console import CollectingNotifier
from monitor.rules import load_rules
from monitor.service.post import Poster, WebApiMessenger
from monitor.service.reload import Reloader, RuleWatcher, admin_text
from monitor.settings import Settings
from monitor.sources.base import Record
from monitor.sources.jsonl import JsonlSource

ACTORS = """\
actors:
  alphaland: {name: Alphaland, aliases: [Alphaland]}
  betaland: {name: Betaland, aliases: [Betaland]}
"""
ALPHA = """\
rules:
  - id: alpha-summit
    match: {actors: [alphaland], keywords: [summit]}
    detect: [any]
"""
BETA = ALPHA + """\
  - id: beta-summit
    match: {actors: [betaland], keywords: [summit]}
    detect: [any]
"""
BROKEN = BETA + """\
  - id: gamma-summit
    match: {actors: [gammaland], keywords: [summit]}
    cooldown: 2 hours
"""
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def write_rules(directory: Path, rules: str) -> None:
    directory.mkdir(exist_ok=True)
    (directory / "actors.yaml").write_text(ACTORS)
    (directory / "desk.yaml").write_text(rules)


def article(n: int, title: str) -> dict[str, str]:
    published = (T0 + timedelta(hours=n)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"id": f"a-{n}", "title": title, "published_at": published}


# --- the watcher -------------------------------------------------------------------------

def bump_mtime(path: Path) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


WATCH_CASES = [
    pytest.param(lambda d: None, False, id="nothing"),
    pytest.param(lambda d: bump_mtime(d / "desk.yaml"), False, id="touched-not-edited"),
    pytest.param(lambda d: (d / "desk.yaml").write_text(BETA), True, id="edited"),
    pytest.param(lambda d: (d / "more.yml").write_text("actors: {}\n"), True, id="file-added"),
    pytest.param(lambda d: (d / "actors.yaml").unlink(), True, id="file-removed"),
    pytest.param(lambda d: (d / "notes.txt").write_text("hi"), False, id="not-a-rule-file"),
]


@pytest.mark.parametrize(("change", "expected"), WATCH_CASES)
def test_watcher_sees_edits_not_touches(tmp_path: Path, change: object, expected: bool) -> None:
    write_rules(tmp_path, ALPHA)
    watcher = RuleWatcher(tmp_path)
    change(tmp_path)  # type: ignore[operator]
    assert watcher.changed() is expected
    assert watcher.changed() is False  # reported once


# --- the reloader on a real App -----------------------------------------------------------

@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    rules = tmp_path / "rules"
    write_rules(rules, BETA)
    (tmp_path / "in.jsonl").write_text("")
    settings = Settings(rules={"path": rules}, state={"dir": tmp_path / "state"},  # type: ignore[arg-type]
                        slack={"admin_channel": "#rules-admin"})
    app = App(settings, load_rules([rules]), JsonlSource(tmp_path / "in.jsonl"), CollectingNotifier(),
              nlp=None, background_sender=False)
    yield app
    app.close()


def feed(app: App, *articles: dict[str, str]) -> None:
    import json

    app.runner.process([Record("t", 0, i, json.dumps(a)) for i, a in enumerate(articles)])


def test_rejected_edit_keeps_old_rules_counts_and_tells_the_admin_channel(app: App) -> None:
    with FakeSlack() as fake:
        poster = Poster(WebApiMessenger(WebClient(token="xoxb-test", base_url=fake.base_url)))
        reloader = Reloader(app, poster)
        (app.settings.rules.path / "desk.yaml").write_text(BROKEN)
        assert reloader.check() is False
        assert reloader.check() is None  # the same broken files are not reported twice
        poster.stop()
        [message] = fake.messages_in("#rules-admin")
    assert "desk.yaml:9: match.actors" in message["text"] and "gammaland" in message["text"]
    assert "desk.yaml:10: cooldown" in message["text"]
    assert "previous rules stay in force" in message["text"]
    assert [r.id for r in app.pipeline.ruleset.enabled] == ["alpha-summit", "beta-summit"]
    assert app.metrics.rules_reload_failures._value.get() == 1


def test_valid_edit_swaps_keeps_unchanged_state_and_drops_removed(app: App) -> None:
    reloader = Reloader(app, None)
    feed(app, article(1, "Alphaland summit opens"), article(2, "Betaland summit opens"))
    assert {k[0] for k in app.pipeline.engine.states} == {"alpha-summit", "beta-summit"}
    (app.settings.rules.path / "desk.yaml").write_text(ALPHA)  # beta removed, alpha unchanged
    assert reloader.check() is True
    assert [r.id for r in app.pipeline.ruleset.enabled] == ["alpha-summit"]
    assert {k[0] for k in app.pipeline.engine.states} == {"alpha-summit"}
    [alpha] = app.pipeline.engine.states.values()
    assert [e.id for e in alpha.events] == ["a-1"]


def test_sighup_reloads_through_the_loop(app: App) -> None:
    reloader = Reloader(app, None)
    reloader.start()
    try:
        os.kill(os.getpid(), signal.SIGHUP)

        def turned() -> bool:  # the loop starts the build it was handed, then swaps what was built
            app.runner.turn()
            return bool(app.metrics.rules_reloads._value.get() == 1)
        wait_until(turned, 30, "the SIGHUP reload")
    finally:
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
    assert app.metrics.rules_reloads._value.get() == 1


def test_admin_text_is_bounded() -> None:
    text = admin_text(Path("rules/"), [f"rules/a.yaml:{i}: id: bad" for i in range(50)])
    assert "rules/a.yaml:19: id: bad" in text and "rules/a.yaml:20:" not in text
    assert "and 30 more" in text


# --- the real daemon on a followed file ----------------------------------------------------

def test_daemon_picks_up_valid_edit_and_rejects_invalid_one(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    write_rules(rules, ALPHA)
    articles = tmp_path / "articles.jsonl"
    articles.write_text("")
    daemon = Daemon(tmp_path, rules, articles, STORY_MONITOR_RULES__RELOAD_INTERVAL_S="0.5",
                    STORY_MONITOR_DETECT__TICK_INTERVAL_S="0.5").start()
    try:
        daemon.append([article(1, "Alphaland summit opens"), article(2, "Betaland summit opens")])
        assert daemon.wait_alerts(1) == [("alpha-summit", "any")]

        (rules / "desk.yaml").write_text(BETA)
        edited = time.monotonic()
        daemon.wait_event("rules_reloaded", timeout_s=5)
        # one reload interval, then the loop's turn (an idle poll waits up to 1 s), with room for a busy CI
        assert time.monotonic() - edited < 0.5 + 1.0 + 1.5
        daemon.append([article(3, "Betaland summit ends")])
        assert daemon.wait_alerts(2)[1] == ("beta-summit", "any")

        (rules / "desk.yaml").write_text(BROKEN)
        rejected = daemon.wait_event("rules_reload_rejected", timeout_s=5)
        assert any("desk.yaml:9: match.actors" in e["error"] for e in rejected)
        daemon.append([article(4, "Alphaland summit ends"), article(5, "Gammaland summit")])
        assert daemon.wait_alerts(3)[2] == ("alpha-summit", "any")

        values = daemon.metrics()
        assert metric(values, "story_monitor_rules_reload_failures_total") == 1
        assert metric(values, "story_monitor_rules_reloads_total") == 1
        assert metric(values, "story_monitor_rules_loaded") == 2
        assert metric(values, "story_monitor_alerts_total", rule="alpha-summit", kind="any") == 2
        assert metric(values, "story_monitor_alerts_total", rule="beta-summit", kind="any") == 1
        assert daemon.alerts() == [("alpha-summit", "any"), ("beta-summit", "any"), ("alpha-summit", "any")]

        daemon.signal(signal.SIGHUP)  # still broken: rejected again, counted again
        wait_until(lambda: metric(daemon.metrics(), "story_monitor_rules_reload_failures_total") == 2,
                   5, "the SIGHUP reload")
    finally:
        assert daemon.stop() == 0


# --- hostile rule files on a running daemon ---------------------------------------------------

BAD = Path(__file__).parent / "rules_bad"


def actors_file(path: Path, size: int) -> Path:
    """A valid actors file of about ``size`` bytes (fictional names)."""
    with path.open("w", encoding="utf-8") as f:
        f.write("actors:\n")
        n = written = 0
        while written < size:
            line = f"  actor-{n:07d}: {{name: Actor {n:07d}, aliases: [Actorland {n:07d}]}}\n"
            written += f.write(line)
            n += 1
    return path


class Probe(threading.Thread):
    """Asks /healthz every 0.2 s for as long as the test runs; keeps every status."""

    def __init__(self, daemon: Daemon) -> None:
        super().__init__(daemon=True)
        self.target = daemon
        self.statuses: list[int] = []
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(0.2):
            self.statuses.append(self.target.get("/healthz", timeout_s=10)[0])


def test_hostile_rule_files_are_refused_in_seconds_and_the_loop_keeps_turning(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    write_rules(rules, ALPHA)
    articles = tmp_path / "articles.jsonl"
    articles.write_text("")
    huge = actors_file(tmp_path / "huge.yaml", 50 * 1_048_576)  # over rules.max_file_bytes (5 MB)
    daemon = Daemon(tmp_path, rules, articles, STORY_MONITOR_RULES__RELOAD_INTERVAL_S="0.5",
                    STORY_MONITOR_HTTP__STALL_AFTER_S="5").start()
    probe = Probe(daemon)
    probe.start()
    try:
        daemon.append([article(1, "Alphaland summit opens")])
        daemon.wait_alerts(1)
        cases = [("alias_bomb.yaml", (BAD / "alias_bomb.yaml").read_bytes(), 7, "YAML aliases here expand"),
                 ("python_tag.yaml", (BAD / "python_tag.yaml").read_bytes(), 3, "unsupported YAML tag"),
                 ("huge.yaml", None, 1, "more than rules.max_file_bytes")]
        for n, (name, content, line, words) in enumerate(cases, start=1):
            target = rules / name
            if content is None:
                os.replace(huge, target)
            else:
                target.write_bytes(content)
            edited = time.monotonic()
            daemon.wait_event("rules_reload_rejected", count=n, timeout_s=30)
            assert time.monotonic() - edited < 20, f"{name}: refused in seconds"
            [error] = [e["error"] for e in daemon.named("rules_reload_rejected")][n - 1:]
            assert error.startswith(f"{target}:{line}: ") and words in error and len(error) < 400
            target.unlink()
            daemon.wait_event("rules_reloaded", count=n, timeout_s=30)  # back to the valid set
        daemon.append([article(2, "Alphaland summit ends")])
        assert daemon.wait_alerts(2) == [("alpha-summit", "any")] * 2  # the rules in force kept working
        values = daemon.metrics()
        assert metric(values, "story_monitor_rules_reload_failures_total") == 3
        assert all(len(e.get("error", "")) < 400 for e in daemon.events)

        # large but allowed: built off the loop, which keeps turning (and /healthz 200) meanwhile
        actors_file(rules / "many.yaml", 2 * 1_048_576)
        done = daemon.wait_event("rules_reloaded", count=4, timeout_s=120)
        daemon.append([article(3, "Alphaland summit reaches a deal")])  # news: "again" would be a repeat
        assert daemon.wait_alerts(3)[2] == ("alpha-summit", "any")
        assert [e for e in daemon.named("rules_reload_done") if e["applied"]][-1]["build_s"] > 0
        assert done[-1]["rules"] == 1
    finally:
        probe.halt.set()
        probe.join(15)
        stopping = time.monotonic()
        assert daemon.stop() == 0
    assert time.monotonic() - stopping < 15
    assert probe.statuses and set(probe.statuses) == {200}, probe.statuses
