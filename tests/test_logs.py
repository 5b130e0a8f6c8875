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
