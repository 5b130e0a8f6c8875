"""The real processes a benchmark run drives: the Kafka broker, the fake Slack, the daemon."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Any

from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


class Kafka:
    """A single-node broker from ``scripts/kafka`` with a state directory of its own."""

    def __init__(self, state_dir: Path) -> None:
        self.env = {**os.environ, "KAFKA_STATE_DIR": str(state_dir), "KAFKA_PYTHON": PYTHON}
        self.bootstrap = ""

    def start(self) -> str:
        out = subprocess.run([str(ROOT / "scripts" / "kafka"), "start"], env=self.env, check=True,
                             capture_output=True, text=True, timeout=300)
        line = next(x for x in out.stdout.splitlines() if x.startswith("KAFKA_BOOTSTRAP="))
        self.bootstrap = line.split("=", 1)[1].strip()
        return self.bootstrap

    def stop(self) -> None:
        subprocess.run([str(ROOT / "scripts" / "kafka"), "stop"], env=self.env, check=False,
                       capture_output=True, timeout=120)

    def create_topic(self, topic: str, partitions: int = 1) -> None:
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, client_id="bench-admin")
        try:
            admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])
        finally:
            admin.close()

    def producer(self) -> KafkaProducer:
        return KafkaProducer(bootstrap_servers=self.bootstrap, client_id="bench-producer", acks=1,
                             linger_ms=10, batch_size=512 * 1024, max_request_size=4 * 1024 * 1024)


class FakeSlack:
    """``tests/fakeslack.py`` as a process of its own, as Slack would be."""

    def __init__(self, log: Path) -> None:
        self.log: IO[str] = log.open("w")
        self.proc = subprocess.Popen(
            [PYTHON, str(ROOT / "tests" / "fakeslack.py"), "--port", "0"],
            stdout=subprocess.PIPE, stderr=self.log, text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.startswith("FAKE_SLACK="):
            raise RuntimeError(f"fake Slack did not start: {line!r}")
        self.base_url = line.split("=", 1)[1]
        self.root = self.base_url.rsplit("/api/", 1)[0]

    def messages(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(self.root + "/_fake/messages", timeout=30) as resp:
            return list(json.load(resp))

    def reset(self) -> None:
        req = urllib.request.Request(self.root + "/_fake/reset", method="POST", data=b"")
        urllib.request.urlopen(req, timeout=30).close()

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def story_of(message: Mapping[str, Any]) -> str | None:
    """The alert story a fake-Slack message carries in its metadata."""
    meta = message.get("metadata")
    if isinstance(meta, str):
        meta = json.loads(meta)
    if not isinstance(meta, dict):
        return None
    return (meta.get("event_payload") or {}).get("story")


class Daemon:
    """``python -m monitor run`` in Kafka mode, configured through STORY_MONITOR_* variables."""

    def __init__(self, workdir: Path, settings: Mapping[str, str], profile: Path | None = None,
                 role: str = "all") -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.state_dir = Path(settings["STORY_MONITOR_STATE__DIR"])
        self.topic = settings["STORY_MONITOR_KAFKA__TOPIC"]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("STORY_MONITOR_", "SLACK_"))}
        env.update(settings)
        paths = (str(ROOT), os.environ.get("PYTHONPATH"))
        env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
        cmd = [PYTHON, "-m", "monitor", "run", "--role", role]
        if profile is not None:
            cmd = [PYTHON, "-m", "pyinstrument", "--renderer", "text", "--outfile", str(profile),
                   "--interval", "0.002", "-m", "monitor", "run", "--role", role]
        self.log_path = workdir / "daemon.log"
        self.log = self.log_path.open("w")
        self.proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_ready(self, timeout_s: float = 180.0) -> None:
        """Until the consumer has its partitions (the model is loaded before that)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"daemon exited ({self.proc.returncode}); see {self.log_path}")
            if "partitions_assigned" in self.log_path.read_text(errors="replace"):
                return
            time.sleep(0.1)
        raise RuntimeError(f"daemon not ready after {timeout_s:.0f}s; see {self.log_path}")

    def rss_mb(self) -> float:
        """Resident memory of the daemon (VmRSS), in MB."""
        with open(f"/proc/{self.proc.pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def committed(self) -> int:
        """Articles whose offsets the daemon has committed with their state (SQLite ``offsets``)."""
        db = self.state_dir / "state.sqlite"
        if not db.exists():
            return 0
        try:
            conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
            try:
                row = conn.execute("SELECT COALESCE(SUM(next_offset), 0) FROM offsets WHERE source=?",
                                   (self.topic,)).fetchone()
            finally:
                conn.close()
        except sqlite3.Error:
            return 0
        return int(row[0])

    def outbox(self) -> dict[str, int]:
        conn = sqlite3.connect(f"file:{self.state_dir / 'state.sqlite'}?mode=ro", uri=True, timeout=5)
        try:
            return dict(conn.execute("SELECT status, COUNT(*) FROM outbox GROUP BY status").fetchall())
        finally:
            conn.close()

    def stop(self, timeout_s: float = 60.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


def produce(producer: KafkaProducer, topic: str, messages: Iterable[bytes]) -> int:
    """Send the values as fast as the client goes (record time: now); returns how many."""
    n = 0
    for value in messages:
        producer.send(topic, value=value)
        n += 1
    producer.flush()
    return n
