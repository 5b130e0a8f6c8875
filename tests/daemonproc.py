"""The real daemon as a subprocess on a followed JSON Lines file: start, feed, scrape, signal, stop.

Alias-only NLP (a model name that does not exist) keeps it fast; no Slack settings, so
alerts are printed on stdout, and logs are JSON lines on stderr.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
ALERT_LINE = re.compile(r"^\[(?P<severity>[A-Z]+)\] (?P<rule>\S+) · (?P<kind>\w+) · ")
METRIC_LINE = re.compile(r"^(?P<name>[a-z_]+)(?:\{(?P<labels>[^}]*)\})? (?P<value>\S+)$")


def base_env(state_dir: Path, **extra: str) -> dict[str, str]:
    """The test's environment without any developer's Story Monitor or Slack settings."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("STORY_MONITOR_", "SLACK_")) or k == "STORY_MONITOR_TEST_MODEL"}
    env.update({
        "PYTHONPATH": str(REPO), "STORY_MONITOR_STATE__DIR": str(state_dir),
        "STORY_MONITOR_HTTP__PORT": "0", "STORY_MONITOR_HTTP__HOST": "127.0.0.1",
        "STORY_MONITOR_NLP__MODEL": "nonexistent-model", "STORY_MONITOR_LOG__FORMAT": "json",
    })
    env.update(extra)
    return env


def parse_metrics(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Prometheus text as {(name, labels): value}."""
    out = {}
    for line in text.splitlines():
        m = METRIC_LINE.match(line)
        if m is None:
            continue
        labels = frozenset(re.findall(r'(\w+)="([^"]*)"', m["labels"] or ""))
        out[(m["name"], labels)] = float(m["value"])
    return out


def metric(values: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return values.get((name, frozenset(labels.items())), 0.0)


class Daemon:
    """``python -m monitor run --source FILE --follow --rules DIR`` with readers on its output."""

    def __init__(self, workdir: Path, rules: Path, articles: Path, **env: str) -> None:
        self.workdir = workdir
        self.state_dir = workdir / "state"
        self.rules = rules
        self.articles = articles
        self.env = base_env(self.state_dir, **env)
        self.stdout: list[str] = []
        self.events: list[dict[str, Any]] = []
        self.proc: subprocess.Popen[str] | None = None
        self._readers: list[threading.Thread] = []

    def start(self, timeout_s: float = 20.0) -> Daemon:
        cmd = [sys.executable, "-m", "monitor", "run", "--source", str(self.articles), "--follow",
               "--rules", str(self.rules)]
        self.proc = subprocess.Popen(cmd, cwd=self.workdir, env=self.env, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self._readers = [threading.Thread(target=self._read, args=(self.proc.stdout, self._out), daemon=True),
                         threading.Thread(target=self._read, args=(self.proc.stderr, self._err), daemon=True)]
        for reader in self._readers:
            reader.start()
        self.wait_event("http_listening", timeout_s=timeout_s)
        return self

    @staticmethod
    def _read(stream: Any, sink: Callable[[str], None]) -> None:
        for line in stream:
            sink(line.rstrip("\n"))

    def _out(self, line: str) -> None:
        self.stdout.append(line)

    def _err(self, line: str) -> None:
        try:
            self.events.append(json.loads(line))
        except ValueError:
            self.events.append({"event": "raw", "line": line})

    @property
    def port(self) -> int:
        return int(self.event("http_listening")["port"])

    def event(self, name: str) -> dict[str, Any]:
        return next(e for e in self.events if e.get("event") == name)

    def named(self, name: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("event") == name]

    def wait_event(self, name: str, count: int = 1, timeout_s: float = 10.0) -> list[dict[str, Any]]:
        wait_until(lambda: len(self.named(name)) >= count or self._died(), timeout_s, f"log event {name}")
        assert not self._died(), f"daemon exited: {self.events[-5:]}"
        return self.named(name)

    def _died(self) -> bool:
        return self.proc is not None and self.proc.poll() is not None

    def alerts(self) -> list[tuple[str, str]]:
        """(rule, kind) of every alert printed so far."""
        return [(m["rule"], m["kind"]) for m in map(ALERT_LINE.match, self.stdout) if m]

    def wait_alerts(self, count: int, timeout_s: float = 10.0) -> list[tuple[str, str]]:
        wait_until(lambda: len(self.alerts()) >= count, timeout_s, f"{count} alerts")
        return self.alerts()

    def append(self, articles: Iterable[dict[str, Any]]) -> None:
        with self.articles.open("a", encoding="utf-8") as f:
            for a in articles:
                f.write(json.dumps(a) + "\n")

    def get(self, path: str, timeout_s: float = 5.0) -> tuple[int, str]:
        url = f"http://127.0.0.1:{self.port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=timeout_s) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def metrics(self) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        status, text = self.get("/metrics")
        assert status == 200
        return parse_metrics(text)

    def signal(self, sig: signal.Signals) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait_exit(self, timeout_s: float) -> int:
        """The exit code, once every line the daemon wrote has been read (its pipes at EOF)."""
        assert self.proc is not None
        code = self.proc.wait(timeout_s)
        for reader in self._readers:
            reader.join(5.0)
        return code

    def stop(self, timeout_s: float = 15.0) -> int:
        """SIGTERM and wait; kill if it does not go (a failure the caller sees as -9)."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.wait_exit(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.wait_exit(timeout_s)


def wait_until(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(0.05)


def healthcheck(state_dir: Path, timeout_s: float = 1.0) -> subprocess.CompletedProcess[str]:
    """``story-monitor healthcheck`` as a probe runs it."""
    return subprocess.run(
        [sys.executable, "-m", "monitor", "healthcheck", "--timeout", str(timeout_s)],
        env=base_env(state_dir), capture_output=True, text=True, timeout=30, check=False,
    )
