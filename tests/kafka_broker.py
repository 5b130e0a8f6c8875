"""A real single-node Apache Kafka broker for tests, driven by ``scripts/kafka``.

No Docker: ``scripts/kafka`` runs Apache Kafka (KRaft, broker and controller in one JVM)
from jars that Maven keeps in ``~/.m2`` (version pinned in ``scripts/kafka-pom.xml``).
It needs Java 17+ and, on the first run only, Maven with access to Maven Central.
This module does not depend on pytest; use it from fixtures::

    import pytest
    from kafka_broker import KafkaBroker   # tests/ is on sys.path under pytest

    @pytest.fixture(scope="session")
    def kafka_broker(tmp_path_factory):
        broker = KafkaBroker(tmp_path_factory.mktemp("kafka"))
        broker.start()            # raises KafkaBrokerError with the broker log on failure
        yield broker
        broker.destroy()          # stop it and delete its data

    def test_something(kafka_broker):
        kafka_broker.create_topic("articles", partitions=3)
        consumer = KafkaConsumer(bootstrap_servers=kafka_broker.bootstrap, ...)

``KafkaBroker(state_dir)`` keeps everything of its broker (pid, port, server.properties,
broker.log, the path of the data directory) in ``state_dir``, so several brokers can run
side by side, each with its own state directory.

- ``start()`` starts the broker and waits until it serves metadata and group requests;
  it returns the bootstrap address, also in ``.bootstrap`` ("127.0.0.1:PORT").
- ``stop()`` stops the broker but keeps its data and port: a following ``start()`` brings
  the same broker back on the same address, with its topics, records and committed offsets
  (for tests that take Kafka away under a running daemon).
- ``destroy()`` stops it and deletes its data; idempotent, also run at interpreter exit
  for brokers a test forgot.
- ``create_topic(name, partitions)`` creates a topic and waits until every partition has
  a leader.
- ``log_tail()`` returns the end of the broker log, for assertion messages.

The broker listens on 127.0.0.1 only, auto-creates topics (1 partition by default) and
runs with replication factor 1 for all internal topics. Start takes a few seconds after
the first run (which downloads the jars); ``scripts/kafka start`` prints
``KAFKA_BOOTSTRAP=127.0.0.1:PORT``, which is what this class parses.

kafka-python notes (3.0.x against Kafka 4.x): leave ``api_version`` unset so the client
negotiates versions with ApiVersions (Kafka 4 removed the old protocol versions that a
pinned old ``api_version`` would select); in 3.x the admin group methods are named
``describe_groups`` / ``list_group_offsets`` (2.x: ``describe_consumer_groups`` /
``list_consumer_group_offsets``).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
SCRIPT = REPO_ROOT / "scripts" / "kafka"

__all__ = ["SCRIPT", "KafkaBroker", "KafkaBrokerError"]


class KafkaBrokerError(RuntimeError):
    """The broker could not be started or stopped; the message carries the broker log."""


class KafkaBroker:
    """One single-node Kafka broker whose state lives in ``state_dir``."""

    def __init__(
        self,
        state_dir: str | os.PathLike[str],
        *,
        script: str | os.PathLike[str] = SCRIPT,
        start_timeout: float = 180.0,
        stop_timeout: float = 30.0,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.state_dir = Path(state_dir)
        self.script = Path(script)
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self._extra_env = dict(env or {})
        self._bootstrap: str | None = None
        self._destroyed = False
        atexit.register(self._atexit)

    # ------------------------------------------------------------------ lifecycle

    @property
    def bootstrap(self) -> str:
        """``127.0.0.1:PORT`` of the broker; the same across ``stop()`` / ``start()``."""
        if self._bootstrap is None:
            raise KafkaBrokerError("the broker has not been started")
        return self._bootstrap

    @property
    def port(self) -> int:
        return int(self.bootstrap.rsplit(":", 1)[1])

    @property
    def log_file(self) -> Path:
        return self.state_dir / "broker.log"

    def start(self) -> str:
        """Start the broker (or find it running) and return its bootstrap address.

        After ``stop()`` it comes back on the same port with the same data.
        """
        self.state_dir.mkdir(parents=True, exist_ok=True)
        result = self._run("start", timeout=self.start_timeout + 120)
        if result.returncode != 0:
            raise KafkaBrokerError(
                f"`{self.script} start` failed (exit {result.returncode}); "
                f"state dir {self.state_dir}\n{result.stderr.strip()}"
            )
        bootstrap = None
        for line in result.stdout.splitlines():
            if line.startswith("KAFKA_BOOTSTRAP="):
                bootstrap = line.split("=", 1)[1].strip()
        if not bootstrap:
            raise KafkaBrokerError(
                f"`{self.script} start` printed no KAFKA_BOOTSTRAP line:\n"
                f"{result.stdout}\n{result.stderr}"
            )
        if self._bootstrap is not None and bootstrap != self._bootstrap:
            raise KafkaBrokerError(
                f"the broker came back on {bootstrap}, not on {self._bootstrap}"
            )
        self._bootstrap = bootstrap
        self._destroyed = False
        return bootstrap

    def stop(self) -> None:
        """Stop the broker process, keeping its data dir and port for ``start()``."""
        result = self._run("stop", "--keep-data", timeout=self.stop_timeout + 60)
        if result.returncode != 0:
            raise KafkaBrokerError(
                f"`{self.script} stop --keep-data` failed (exit {result.returncode}):\n"
                f"{result.stderr.strip()}"
            )

    def destroy(self) -> None:
        """Stop the broker and delete its data and state. Safe to call more than once."""
        if self._destroyed:
            return
        result = self._run("stop", timeout=self.stop_timeout + 60)
        if result.returncode != 0:
            raise KafkaBrokerError(
                f"`{self.script} stop` failed (exit {result.returncode}):\n"
                f"{result.stderr.strip()}"
            )
        self._destroyed = True
        self._bootstrap = None

    def is_running(self) -> bool:
        return self._run("status", timeout=30).returncode == 0

    def log_tail(self, lines: int = 80) -> str:
        """The last ``lines`` lines of the broker log ("" when there is none)."""
        try:
            text = self.log_file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> KafkaBroker:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.destroy()

    def __repr__(self) -> str:
        return f"KafkaBroker(state_dir={str(self.state_dir)!r}, bootstrap={self._bootstrap!r})"

    # ------------------------------------------------------------------ topics

    def admin(self, **configs: Any) -> Any:
        """A ``kafka.KafkaAdminClient`` for this broker; close it when done."""
        from kafka import KafkaAdminClient

        configs.setdefault("bootstrap_servers", self.bootstrap)
        configs.setdefault("client_id", "tests-kafka-broker")
        return KafkaAdminClient(**configs)

    def create_topic(
        self,
        name: str,
        partitions: int = 1,
        *,
        replication_factor: int = 1,
        configs: Mapping[str, str] | None = None,
        exist_ok: bool = False,
        timeout: float = 30.0,
    ) -> None:
        """Create a topic and wait until each of its partitions has a leader."""
        from kafka.errors import TopicAlreadyExistsError

        admin = self.admin()
        try:
            try:
                if hasattr(admin, "wait_for_topics"):  # kafka-python 3.x
                    admin.create_topics(
                        {
                            name: {
                                "num_partitions": partitions,
                                "replication_factor": replication_factor,
                                "configs": dict(configs or {}),
                            }
                        },
                        timeout_ms=int(timeout * 1000),
                    )
                else:  # kafka-python 2.x
                    from kafka.admin import NewTopic

                    admin.create_topics(
                        [
                            NewTopic(
                                name,
                                num_partitions=partitions,
                                replication_factor=replication_factor,
                                topic_configs=dict(configs or {}),
                            )
                        ],
                        timeout_ms=int(timeout * 1000),
                    )
            except TopicAlreadyExistsError:
                if not exist_ok:
                    raise
            self._wait_for_leaders(admin, name, timeout)
        finally:
            admin.close()

    @staticmethod
    def _wait_for_leaders(admin: Any, name: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        state: object = "not described yet"
        while time.monotonic() < deadline:
            try:
                topics = admin.describe_topics([name])
            except Exception as exc:  # metadata not propagated yet
                state = exc
            else:
                state = topics
                if topics and all(_topic_ready(t) for t in topics):
                    return
            time.sleep(0.1)
        raise KafkaBrokerError(f"topic {name!r} has no leader for every partition: {state}")

    # ------------------------------------------------------------------ internals

    def _run(self, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ)
        env.update(self._extra_env)
        env["KAFKA_STATE_DIR"] = str(self.state_dir)
        env.setdefault("KAFKA_PYTHON", sys.executable)
        env.setdefault("KAFKA_START_TIMEOUT", str(int(self.start_timeout)))
        env.setdefault("KAFKA_STOP_TIMEOUT", str(int(self.stop_timeout)))
        try:
            return subprocess.run(
                [str(self.script), *args],
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise KafkaBrokerError(
                f"`{self.script} {' '.join(args)}` did not finish in {timeout:.0f}s\n"
                f"{self.log_tail()}"
            ) from exc

    def _atexit(self) -> None:
        if not self._destroyed and self.state_dir.exists():
            with contextlib.suppress(Exception):
                self.destroy()


def _topic_ready(topic: Mapping[str, Any]) -> bool:
    if topic.get("error_code", 0) != 0:
        return False
    partitions = topic.get("partitions") or []
    return bool(partitions) and all(
        p.get("error_code", 0) == 0 and p.get("leader", p.get("leader_id", -1)) >= 0
        for p in partitions
    )
