"""A progress bar on a terminal for backtest and run --source; nothing extra otherwise (issue 16)."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from monitor.sources.progress import count_lines
from tests.test_cli import ROOT, SAMPLES, cli

ALIAS_ONLY = {"STORY_MONITOR_NLP__MODEL": "no_such_model"}  # fast: the bar, not the model, is tested


def on_a_terminal(*args: str, env: dict[str, str]) -> tuple[int, str]:
    """Run the CLI with stdin, stdout and stderr on a pseudo-terminal; everything it wrote."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("STORY_MONITOR_", "SLACK_"))}
    full_env.update(env, COLUMNS="120", TERM="xterm")
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))  # 40 rows, 120 columns
    proc = subprocess.Popen([sys.executable, "-m", "monitor", *args], stdin=slave, stdout=slave,
                            stderr=slave, cwd=ROOT, env=full_env, close_fds=True)
    os.close(slave)
    out = bytearray()
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    return proc.wait(timeout=300), out.decode("utf-8", "replace")


@pytest.mark.parametrize("command", [
    ("backtest", "--rules", "rules/", "--articles", str(SAMPLES), "--workers", "1"),
    ("run", "--source", str(SAMPLES), "--rules", "rules/", "--workers", "1"),
])
def test_a_terminal_gets_a_bar_with_rate_and_eta(command: tuple[str, ...], tmp_path: Path) -> None:
    code, text = on_a_terminal(*command, env={**ALIAS_ONLY, "STORY_MONITOR_STATE__DIR": str(tmp_path)})
    assert code == 0, text
    assert "45/45" in text and "articles/s" in text  # articles done of the total, and the rate
    assert "<00:00" in text or "<?" in text  # tqdm's ETA field ([elapsed<remaining])


@pytest.mark.parametrize("command", [
    ("backtest", "--rules", "rules/", "--articles", str(SAMPLES), "--workers", "1"),
    ("run", "--source", str(SAMPLES), "--rules", "rules/", "--workers", "1"),
])
def test_no_terminal_no_bar(command: tuple[str, ...], tmp_path: Path) -> None:
    result = cli(*command, env={**ALIAS_ONLY, "STORY_MONITOR_STATE__DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert "articles/s" not in result.stderr and "\r" not in result.stderr and "45/45" not in result.stderr


def test_json_on_a_terminal_gets_no_bar() -> None:
    code, text = on_a_terminal("backtest", "--rules", "rules/", "--articles", str(SAMPLES), "--json",
                               "--workers", "1", env=ALIAS_ONLY)
    assert code == 0, text
    assert "articles/s" not in text and '"rule": "brennport-dock-strike"' in text


def test_count_lines_counts_a_last_line_without_newline(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'{"a": 1}\n{"b": 2}')
    assert count_lines(path) == 2
    path.write_bytes(b'{"a": 1}\n')
    assert count_lines(path) == 1
