"""The command line as a user meets it: real subprocesses, real files, exit codes and messages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
SAMPLES = ROOT / "samples" / "articles.jsonl"


def cli(*args: str, env: dict[str, str] | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("STORY_MONITOR_", "SLACK_"))}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args], capture_output=True, text=True, env=full_env,
        cwd=cwd, timeout=300, check=False,
    )


@pytest.mark.parametrize(
    "command",
    [[], ["run"], ["rules"], ["rules", "check"], ["rules", "explain"], ["backtest"], ["healthcheck"],
     ["slack"], ["slack", "test"], ["outbox", "status"]],
)
def test_help_on_every_command(command: list[str]) -> None:
    result = cli(*command, "--help")
    assert result.returncode == 0 and "usage: story-monitor" in result.stdout


def test_version() -> None:
    result = cli("--version")
    assert result.returncode == 0 and result.stdout.startswith("story-monitor ")


def test_run_on_samples_prints_alerts_and_exits_zero(tmp_path: Path) -> None:
    no_model = {"STORY_MONITOR_STATE__DIR": str(tmp_path / "state"),
                "STORY_MONITOR_NLP__MODEL": "no_such_model"}  # the warning path (tests/test_first_run.py)
    result = cli("run", "--source", str(SAMPLES), "--rules", "rules/", env=no_model)
    assert result.returncode == 0, result.stderr
    assert "[WARNING] brennport-dock-strike · threshold" in result.stdout
    assert "why: rising_edge" in result.stdout and "https://" in result.stdout
    # the missing model is reported once, and the run goes on by alias
    assert result.stderr.count("nlp_model_missing") == 1
    # run again over the same state: nothing new
    again = cli("run", "--source", str(SAMPLES), "--rules", "rules/", env=no_model)
    assert again.returncode == 0 and "threshold" not in again.stdout


def test_run_keeps_batch_memory_between_batches(tmp_path: Path) -> None:
    """run (like backtest) fixes glibc's malloc thresholds before the first batch (monitor.heap)."""
    result = cli("run", "--source", str(SAMPLES), "--rules", "rules/",
                 env={"STORY_MONITOR_STATE__DIR": str(tmp_path / "state"),
                      "STORY_MONITOR_LOG__LEVEL": "DEBUG", "STORY_MONITOR_LOG__FORMAT": "json"})
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    tuned = [r for r in records if r.get("event") == "malloc_thresholds"]
    assert len(tuned) == 1 and tuned[0]["malloc_trim_threshold"] == 128 << 20, records[:3]


def test_backtest_json_contract(tmp_path: Path) -> None:
    result = cli("backtest", "--rules", "rules/", "--articles", str(SAMPLES), "--json")
    assert result.returncode == 0, result.stderr
    alerts = [json.loads(line) for line in result.stdout.splitlines()]
    assert alerts, "the samples are written to produce alerts"
    for alert in alerts:
        assert {"rule", "kind", "at", "story", "articles", "summary"} <= set(alert)
        assert alert["at"].endswith("Z") and alert["articles"]
    assert [a["at"] for a in alerts] == sorted(a["at"] for a in alerts)
    ids = {json.loads(line)["id"] for line in SAMPLES.read_text().splitlines()}
    assert all(set(a["articles"]) <= ids for a in alerts)


def test_backtest_equals_run(tmp_path: Path) -> None:
    """run --source and backtest share one code path: the same alerts come out."""
    bt = cli("backtest", "--rules", "rules/", "--articles", str(SAMPLES))
    run = cli("run", "--source", str(SAMPLES), "--rules", "rules/",
              env={"STORY_MONITOR_STATE__DIR": str(tmp_path)})
    heads = [line for line in bt.stdout.splitlines() if line.startswith("[")]
    assert heads and heads == [line for line in run.stdout.splitlines() if line.startswith("[")]


def test_bad_lines_are_reported_with_line_numbers_and_skipped(tmp_path: Path) -> None:
    lines = SAMPLES.read_text().splitlines()
    broken = [lines[0], "{not json", lines[1], '{"id": 5, "title": "x"}', "", lines[2], "[]"]
    path = tmp_path / "broken.jsonl"
    path.write_bytes("\n".join(broken).encode() + b"\n\xff\xfe\n")
    result = cli("backtest", "--rules", "rules/", "--articles", str(path), "--json")
    assert result.returncode == 0
    events = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    bad = [(e["where"].rsplit(":", 1)[1], e["reason"]) for e in events if e["event"] == "bad_article_line"]
    assert bad == [("2", "not_json"), ("4", "wrong_type"), ("7", "not_object"), ("8", "not_utf8")]


def test_user_mistakes_are_one_line_errors(tmp_path: Path) -> None:
    missing = cli("run", "--source", str(tmp_path / "nope.jsonl"), "--rules", "rules/",
                  env={"STORY_MONITOR_STATE__DIR": str(tmp_path)})
    assert missing.returncode != 0 and "cannot open" in missing.stderr and "Traceback" not in missing.stderr
    bad_config = tmp_path / "monitor.yaml"
    bad_config.write_text("kafka: {topic: [1, 2]}\n")
    result = cli("backtest", "--config", str(bad_config), "--articles", str(SAMPLES))
    assert result.returncode == 2 and "kafka.topic" in result.stderr and "Traceback" not in result.stderr
    unknown = cli("backtest", "--config", str(tmp_path / "absent.yaml"), "--articles", str(SAMPLES))
    assert unknown.returncode == 2 and "config file not found" in unknown.stderr
    bad_rules = cli("backtest", "--rules", "tests/rules_bad/unknown_key.yaml", "--articles", str(SAMPLES))
    assert bad_rules.returncode == 1 and "unknown_key.yaml:5: treshold" in bad_rules.stderr


def test_settings_from_file_and_environment(tmp_path: Path) -> None:
    from monitor.settings import load_settings

    config = tmp_path / "monitor.yaml"
    config.write_text("kafka: {topic: news}\nslack: {default_channel: '#desk'}\n")
    os.environ["STORY_MONITOR_KAFKA__GROUP_ID"] = "g2"
    os.environ["SLACK_BOT_TOKEN"] = "xoxb-secret"
    try:
        settings = load_settings(config)
    finally:
        del os.environ["STORY_MONITOR_KAFKA__GROUP_ID"], os.environ["SLACK_BOT_TOKEN"]
    assert settings.kafka.topic == "news" and settings.kafka.group_id == "g2"
    assert settings.kafka.dead_letter_topic == "news.dlq"
    assert settings.slack.token is not None and settings.slack.token.get_secret_value() == "xoxb-secret"
    assert "xoxb-secret" not in repr(settings) and "xoxb-secret" not in str(settings.model_dump())


def test_backtest_html_report(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = cli("backtest", "--rules", "rules/", "--articles", str(SAMPLES), "--json", "--html", str(out))
    assert result.returncode == 0, result.stderr
    alerts = [json.loads(line) for line in result.stdout.splitlines()]
    page = out.read_text()
    assert page.startswith("<!doctype html>") and f"<p id=count>{len(alerts)} alerts</p>" in page
    for alert in alerts:
        assert f"id='{alert['rule']}'" in page
    assert "harbourledger.example.com" in page and "<script src" not in page  # plotly.js is inline
