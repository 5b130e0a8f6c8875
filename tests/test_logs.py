"""Logs: library messages that repeat are let through once per window, with a count."""

from __future__ import annotations

import logging

from monitor.obs.logs import JsonFormatter, RepeatFilter


def record(msg: str, created: float, name: str = "kafka.conn") -> logging.LogRecord:
    rec = logging.LogRecord(name, logging.WARNING, __file__, 1, msg, None, None)
    rec.created = created
    return rec


def test_repeats_are_folded_into_one_line_per_window() -> None:
    f = RepeatFilter(window_s=60)
    passed = [f.filter(record("connect failed to %s", t)) for t in (0, 1, 2, 30, 61, 62)]
    assert passed == [True, False, False, False, True, False]
    again = record("connect failed to %s", 61)
    f2 = RepeatFilter(window_s=60)
    for t in (0, 1, 2):
        f2.filter(record("connect failed to %s", t))
    assert f2.filter(again) and again.repeated == 2  # type: ignore[attr-defined]


def test_json_lines_hide_secrets() -> None:
    rec = record("slack_check", 0, name="monitor.slack")
    rec.token = "xoxb-secret"
    rec.channel = "#desk"
    line = JsonFormatter().format(rec)
    assert "xoxb-secret" not in line and '"channel": "#desk"' in line and '"event": "slack_check"' in line


def test_a_field_never_overwrites_another() -> None:
    import json

    rec = record("slack_duplicate_avoided", 0, name="monitor.slack")
    rec.ts = "1796291044.303811"  # e.g. a Slack message ts
    rec.level = "shouting"
    data = json.loads(JsonFormatter().format(rec))
    assert data["ts"].startswith("1970-01-01T00:00:00") and data["field_ts"] == "1796291044.303811"
    assert data["level"] == "warning" and data["field_level"] == "shouting"
