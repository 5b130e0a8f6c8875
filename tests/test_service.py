"""Running as a service: probes, metrics, scheduled jobs, the digest, and the real daemon's lifecycle."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from datetime import time as dtime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from daemonproc import REPO, Daemon, base_env, healthcheck, metric, parse_metrics, wait_until
from fakeslack import FakeSlack
from slack_sdk import WebClient

from monitor.app import App
from monitor.errors import MonitorError
from monitor.notify.console import CollectingNotifier
from monitor.obs import health
from monitor.obs.metrics import Metrics
from monitor.rules import load_rules
from monitor.rules.schema import RuleSet
from monitor.service.digest import Digest, due_day
from monitor.service.http import HttpService
from monitor.service.post import Poster, WebApiMessenger
from monitor.service.probes import AppProbe, SendCounts
from monitor.service.reload import Reloader
from monitor.service.scheduler import Handoff, Job, Jobs, Maintenance, Scheduler
from monitor.settings import Settings
from monitor.sources.jsonl import JsonlSource

SAMPLES = REPO / "samples" / "articles.jsonl"


class FakeClock:
    """Time that moves only when the test says so."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def fake_app(clock: FakeClock, *, files: tuple[str, ...] = ("rules/a.yaml",), ready: Any = True) -> Any:
    """Just the attributes the probes read."""
    return SimpleNamespace(
        runner=SimpleNamespace(last_turn=clock()), pipeline=SimpleNamespace(ruleset=RuleSet(files=files)),
        source=SimpleNamespace(ready=ready), metrics=Metrics(), sender=SimpleNamespace(results=Counter()),
    )


def probe_for(app: Any, clock: FakeClock, stall_after_s: float = 10.0) -> AppProbe:
    return AppProbe(app, stall_after_s, SendCounts(app.sender, app.metrics), clock=clock)


# --- probes -----------------------------------------------------------------------------

PROBE_CASES = [
    pytest.param({}, 0, (True, True, "ok"), id="fresh"),
    pytest.param({}, 11, (False, False, "main loop stalled for 11s"), id="stalled"),
    pytest.param({"ready": False}, 0, (True, False, "source not ready"), id="kafka-not-assigned"),
    pytest.param({"ready": lambda: False}, 0, (True, False, "source not ready"), id="ready-method"),
    pytest.param({"files": ()}, 0, (True, False, "no rules loaded"), id="no-rules"),
]


@pytest.mark.parametrize(("kw", "idle_s", "expected"), PROBE_CASES)
def test_probe_answers(kw: dict[str, Any], idle_s: float, expected: tuple[bool, bool, str]) -> None:
    clock = FakeClock(1000.0)
    probe = probe_for(fake_app(clock, **kw), clock)
    clock.advance(idle_s)
    live, ready = probe.live(), probe.ready()
    assert (live.ok, ready.ok, ready.reason) == expected


def test_slack_send_results_reach_the_metric_once() -> None:
    app = fake_app(FakeClock(0))
    sends = SendCounts(app.sender, app.metrics)
    app.sender.results.update(ok=2, retry=1)
    sends.sync()
    sends.sync()
    app.sender.results.update(ok=1)
    sends.sync()
    values = parse_metrics(AppProbe(app, 10.0, sends).metrics().decode())
    assert metric(values, "story_monitor_slack_sends_total", result="ok") == 3
    assert metric(values, "story_monitor_slack_sends_total", result="retry") == 1


# --- the HTTP server and `healthcheck` -----------------------------------------------------

@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[HttpService, FakeClock, Any]]:
    clock = FakeClock(1000.0)
    app = fake_app(clock)
    service = HttpService(probe_for(app, clock), "127.0.0.1", 0, tmp_path)
    service.start()
    yield service, clock, app
    service.stop()


def get(port: int, path: str) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.read(), r.headers["Content-Type"]
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers["Content-Type"]


def test_http_endpoints(served: tuple[HttpService, FakeClock, Any], tmp_path: Path) -> None:
    service, clock, app = served
    assert (tmp_path / "http.port").read_text().strip() == str(service.port)
    status, body, _ = get(service.port, "/healthz")
    assert status == 200 and json.loads(body)["status"] == "ok"
    assert get(service.port, "/readyz")[0] == 200
    app.source.ready = False
    status, body, _ = get(service.port, "/readyz")
    assert status == 503 and json.loads(body)["reason"] == "source not ready"
    app.metrics.articles.inc(3)
    status, body, ctype = get(service.port, "/metrics")
    assert status == 200 and ctype.startswith("text/plain; version=")
    assert "story_monitor_articles_total 3.0" in body.decode()
    assert get(service.port, "/nope")[0] == 404
    clock.advance(60)
    status, body, _ = get(service.port, "/healthz")
    assert status == 503 and json.loads(body)["reason"] == "main loop stalled for 60s"


def test_healthcheck_reads_the_port_file_and_reports_why(
    served: tuple[HttpService, FakeClock, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    service, clock, _ = served
    settings = Settings(http={"port": 0}, state={"dir": tmp_path})  # type: ignore[arg-type]
    assert health.healthcheck(settings, 2.0) == 0
    clock.advance(60)
    assert health.healthcheck(settings, 2.0) == 1
    assert capsys.readouterr().err == "unhealthy: /healthz answered 503: main loop stalled for 60s\n"
    service.stop()
    assert not (tmp_path / "http.port").exists()
    assert health.healthcheck(settings, 2.0) == 1
    assert "http.port is 0 and" in capsys.readouterr().err


def test_busy_port_is_a_one_line_error(served: tuple[HttpService, FakeClock, Any]) -> None:
    service, clock, app = served
    with pytest.raises(MonitorError, match=f"cannot listen on 127.0.0.1:{service.port}"):
        HttpService(probe_for(app, clock), "127.0.0.1", service.port)


def test_attach_wires_services_for_a_followed_source_only(tmp_path: Path) -> None:
    from monitor.service import attach

    (tmp_path / "in.jsonl").write_text("")
    settings = Settings(state={"dir": tmp_path / "state"}, http={"port": 0})  # type: ignore[arg-type]
    for follow, expected in ((False, []), (True, ["HttpService", "Poster", "Reloader", "Scheduler"])):
        app = App(settings, load_rules([REPO / "rules"]), JsonlSource(tmp_path / "in.jsonl", follow=follow),
                  CollectingNotifier(), nlp=None, background_sender=False)
        attach(app)
        assert [type(s).__name__ for s in app.services] == expected
        for service in reversed(app.services):
            service.stop()
        app.close()


# --- scheduler: hand-offs only ---------------------------------------------------------------

def test_handoff_runs_on_the_loop_coalesces_and_survives_failures(caplog: pytest.LogCaptureFixture) -> None:
    queued: list[Any] = []
    runs: list[int] = []

    def work() -> None:
        runs.append(1)
        raise RuntimeError("boom")

    handoff = Handoff(Job("j", 1.0, work), queued.append)
    handoff()
    handoff()  # the loop has not run the first one: nothing more is queued
    assert len(queued) == 1 and runs == []
    queued.pop()()  # the loop's turn
    assert runs == [1] and "job_failed" in caplog.text
    handoff()
    assert len(queued) == 1


def test_scheduler_thread_only_queues_work() -> None:
    queued: list[Any] = []
    ran: list[str] = []
    jobs = [Job("a", 0.05, lambda: ran.append("a")), Job("b", 0.05, lambda: ran.append("b"))]
    scheduler = Scheduler(jobs, queued.append)
    scheduler.start()
    try:
        wait_until(lambda: len(queued) == 2, 5, "both jobs handed off")
        time.sleep(0.2)
        assert len(queued) == 2 and ran == []  # nothing runs until the loop takes it
    finally:
        scheduler.stop()
    for task in queued:
        task()
    assert sorted(ran) == ["a", "b"]


@pytest.fixture
def replayed(tmp_path: Path) -> Iterator[App]:
    """An App that has processed the sample stream (event clock), its state kept in tmp_path."""
    settings = Settings(state={"dir": tmp_path / "state"})  # type: ignore[arg-type]
    app = App(settings, load_rules([REPO / "rules"]), JsonlSource(SAMPLES), CollectingNotifier(),
              nlp=None, background_sender=False)
    app.run()
    app.finish()
    yield app
    app.close()


def test_maintenance_evicts_expired_state_and_vacuums(replayed: App) -> None:
    engine, conn = replayed.pipeline.engine, replayed.store.conn

    def expired_rows() -> int:
        return sum(conn.execute(
            "SELECT COUNT(*) FROM events WHERE rule=? AND at<=?",
            (r.id, engine.watermark - r.longest_window.total_seconds() - engine.grace_s),
        ).fetchone()[0] for r in replayed.ruleset.enabled)

    held = sum(len(s.events) for s in engine.states.values())
    engine.watermark += 86_400  # a day of event time later: the oldest articles leave their windows
    assert expired_rows() > 0
    done = Maintenance(replayed, vacuum_interval_s=3600.0).run()
    assert 0 < done["evicted"] < held and done["vacuumed"] == 0
    assert expired_rows() == 0
    assert sum(len(s.events) for s in engine.states.values()) == held - done["evicted"]
    engine.watermark += 30 * 86_400  # a month later: nothing is left
    done = Maintenance(replayed, vacuum_interval_s=0.0).run()
    assert done["vacuumed"] == 1
    assert engine.states == {}
    assert conn.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 0
    assert conn.execute("SELECT COUNT(*) FROM detectors").fetchone()[0] == 0


@pytest.mark.parametrize("follow", [True, False], ids=["wall", "event"])
def test_the_loop_ticks_itself_on_the_wall_clock_only_for_wall_sources(tmp_path: Path, follow: bool) -> None:
    """One tick path: the run loop's own timer (no scheduler job), at the App's clock."""
    settings = Settings(detect={"tick_interval_s": 1e-6})  # type: ignore[arg-type]
    app = App(settings, load_rules([REPO / "rules"]), JsonlSource(REPO / "samples" / "articles.jsonl",
              follow=follow), CollectingNotifier(), nlp=None, state_dir=tmp_path, background_sender=False,
              clock=lambda: 123.0)
    ticks: list[float] = []

    def tick(now: float) -> int:
        ticks.append(now)
        if len(ticks) == 3:
            app.runner.stop()
        return 0

    app.runner.tick = tick  # type: ignore[method-assign]
    try:
        app.run()
    finally:
        app.close()
    assert ticks == ([123.0] * 3 if follow else [])  # a replayed file ticks on event time, after each batch
    jobs = Jobs(app, Reloader(app), SendCounts(app.sender, app.metrics))
    assert "tick" not in {job.name for job in jobs.schedule()}


# --- the daily digest on a fake clock and the fake Slack -----------------------------------

DUE_CASES = [
    pytest.param("2026-03-03T08:59", None, None, id="before-time"),
    pytest.param("2026-03-03T09:00", None, date(2026, 3, 3), id="at-time"),
    pytest.param("2026-03-03T15:00", date(2026, 3, 2), date(2026, 3, 3), id="late-start-catches-up"),
    pytest.param("2026-03-03T15:00", date(2026, 3, 3), None, id="already-posted"),
]


@pytest.mark.parametrize(("now", "last", "expected"), DUE_CASES)
def test_digest_due_once_a_day(now: str, last: date | None, expected: date | None) -> None:
    at = datetime.fromisoformat(now).replace(tzinfo=UTC)
    assert due_day(at, dtime(9, 0, tzinfo=UTC), last) == expected


def test_digest_posts_the_days_alerts_and_growing_stories_once_a_day(replayed: App) -> None:
    replayed.store.conn.execute("UPDATE outbox SET created = at")  # live, alerts are queued as they happen
    clock = FakeClock(datetime(2026, 3, 3, 8, 59, tzinfo=UTC).timestamp())
    with FakeSlack() as fake:
        poster = Poster(WebApiMessenger(WebClient(token="xoxb-test", base_url=fake.base_url)))
        digest = Digest(replayed, poster, "#digest", "09:00", clock=clock)
        assert digest.run() is False
        clock.advance(60)
        assert digest.run() is True
        assert digest.run() is False
        clock.advance(86_400)
        assert digest.run() is True
        restarted = Digest(replayed, poster, "#digest", "09:00", clock=clock)
        assert restarted.run() is False
        poster.stop()
        first, second = (m["text"] for m in fake.messages_in("#digest"))
    assert first.splitlines() == [
        "*Story Monitor digest for Tuesday 03 March 2026* (24 h to the digest time, UTC)",
        "*Alerts:* 1",
        "• `brennport-dock-strike`: 1 (threshold 1)",
        "*Stories that grew most:*",
        "• `brennport-dock-strike`: 6 articles in the last 24 h (1 the day before)",
    ]
    assert second.splitlines()[0].startswith("*Story Monitor digest for Wednesday 04 March 2026*")
    assert "• `greyfall-dam-dispute`: 2 articles in the last 24 h (1 the day before)" in second


# --- the real daemon -----------------------------------------------------------------------

@pytest.fixture
def quiet_daemon(tmp_path: Path) -> Iterator[Daemon]:
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    (tmp_path / "articles.jsonl").write_text("")
    daemon = Daemon(tmp_path, rules, tmp_path / "articles.jsonl", STORY_MONITOR_DETECT__TICK_INTERVAL_S="0.2")
    yield daemon.start()
    daemon.stop()


def test_healthcheck_exit_codes_alive_stalled_and_gone(quiet_daemon: Daemon) -> None:
    state = quiet_daemon.state_dir
    assert (state / "http.port").read_text().strip() == str(quiet_daemon.port)
    ok = healthcheck(state)
    assert (ok.returncode, ok.stderr) == (0, "")
    quiet_daemon.signal(signal.SIGSTOP)
    try:
        stalled = healthcheck(state, timeout_s=0.5)
    finally:
        quiet_daemon.signal(signal.SIGCONT)
    assert stalled.returncode == 1 and stalled.stderr.startswith("unhealthy: no answer from 127.0.0.1:")
    assert healthcheck(state).returncode == 0
    assert quiet_daemon.stop() == 0
    gone = healthcheck(state)
    assert gone.returncode == 1 and gone.stderr.startswith("unhealthy: no daemon port")


def test_sigterm_drains_and_exits_zero_quickly(quiet_daemon: Daemon) -> None:
    quiet_daemon.append(json.loads(line) for line in SAMPLES.read_text().splitlines()[:12])
    quiet_daemon.wait_alerts(1)
    started = time.monotonic()
    quiet_daemon.signal(signal.SIGTERM)
    assert quiet_daemon.wait_exit(10) == 0
    assert time.monotonic() - started < 5.0  # an idle poll (1 s), the HTTP server, interpreter exit
    assert quiet_daemon.named("shutdown_requested") and quiet_daemon.named("stopped")
    assert not (quiet_daemon.state_dir / "http.port").exists()
    printed = len(quiet_daemon.alerts())
    outbox = json.loads(subprocess.run(
        [sys.executable, "-m", "monitor", "outbox", "status"], env=base_env(quiet_daemon.state_dir),
        cwd=quiet_daemon.workdir, capture_output=True, text=True, check=True).stdout)
    assert outbox == {"sent": printed}  # everything committed was delivered before the exit


def start_backtest(workdir: Path) -> subprocess.Popen[str]:
    """``backtest --json`` over the samples, in the background while the daemon runs."""
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", "backtest", "--json", "--rules", str(REPO / "rules"),
         "--articles", str(SAMPLES)], env=base_env(workdir / "state"), cwd=workdir,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )


def counts(backtest: subprocess.Popen[str]) -> Counter[tuple[str, str]]:
    out, _ = backtest.communicate(timeout=60)
    assert backtest.returncode == 0
    return Counter((a["rule"], a["kind"]) for a in map(json.loads, out.splitlines()))


def test_metrics_after_a_replay_match_the_backtest(tmp_path: Path, replayed: App) -> None:
    lines = SAMPLES.read_text().splitlines()
    tmp_path = tmp_path / "daemon"  # its own state, not the in-process replay's
    tmp_path.mkdir()
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    articles = tmp_path / "articles.jsonl"
    articles.write_text("\n".join(lines) + "\n{not json\n")
    backtest = start_backtest(tmp_path)
    # wall-clock ticks every second: months-old articles are not a live feed, so they move no
    # event time, and the followed file gives every alert of the backtest, silences included
    daemon = Daemon(tmp_path, rules, articles, STORY_MONITOR_DETECT__TICK_INTERVAL_S="1").start()
    values: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    try:
        expected_alerts = counts(backtest)
        want = sum(expected_alerts.values())

        def replayed_all() -> bool:
            """Every line read and every alert the backtest raised counted and printed.

            A followed file arrives in more than one batch, and a batch counts its articles before
            its alerts: a scrape in between saw 45 articles and 4 alerts of 6 once. The snapshot
            that satisfied the wait is the one checked, not a later scrape."""
            values.clear()
            values.update(daemon.metrics())
            alerted = sum(v for k, v in values.items() if k[0] == "story_monitor_alerts_total")
            return metric(values, "story_monitor_articles_total") == len(lines) and alerted >= want and \
                metric(values, "story_monitor_slack_sends_total", result="ok") >= want

        wait_until(replayed_all, 30, "the replay and its deliveries")
    finally:
        assert daemon.stop() == 0
    alerts = Counter({(dict(k[1])["rule"], dict(k[1])["kind"]): int(v) for k, v in values.items()
                      if k[0] == "story_monitor_alerts_total" and v})
    assert +alerts == expected_alerts
    assert sum(expected_alerts.values()) > 0 and any(kind == "silence" for _, kind in expected_alerts)
    reference = parse_metrics(_text(replayed.metrics))
    for rule in {r.id for r in replayed.ruleset.rules}:
        assert metric(values, "story_monitor_matches_total", rule=rule) == \
            metric(reference, "story_monitor_matches_total", rule=rule), rule
    assert sum(v for k, v in values.items() if k[0] == "story_monitor_matches_total") > 0
    assert metric(values, "story_monitor_decode_errors_total", reason="not_json") == 1
    assert metric(values, "story_monitor_slack_sends_total", result="ok") == sum(alerts.values())
    assert metric(values, "story_monitor_rules_loaded") == len(replayed.ruleset.enabled)
    assert metric(values, "story_monitor_process_rss_bytes") > 10 * 2**20


def _text(metrics: Metrics) -> str:
    from prometheus_client import generate_latest

    return generate_latest(metrics.registry).decode()
