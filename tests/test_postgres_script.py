"""scripts/postgres: one line on start, idempotent start, status exit codes, stop cleans up."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import psycopg
import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "postgres"
pytestmark = [pytest.mark.postgres, pytest.mark.timeout(240)]


def script(command: str, state: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "POSTGRES_STATE_DIR": str(state)}
    return subprocess.run([str(SCRIPT), command], env=env, capture_output=True, text=True, timeout=180,
                          check=False)


def test_start_status_stop(tmp_path: Path) -> None:
    state = tmp_path / "pg"
    assert script("status", state).returncode == 1
    try:
        first = script("start", state)
        assert first.returncode == 0, first.stderr
        [line] = first.stdout.splitlines()
        assert line.startswith("POSTGRES_URL=postgresql://postgres@127.0.0.1:")
        url = line.removeprefix("POSTGRES_URL=")
        with psycopg.connect(url, connect_timeout=10) as conn:
            assert conn.execute("SELECT 1 + 1").fetchone() == (2,)
        data = Path((state / "data_dir").read_text().strip())
        if os.geteuid() == 0:  # PostgreSQL refuses root: the server runs as an unprivileged user
            assert data.stat().st_uid != 0
        again = script("start", state)  # finds the running server
        assert (again.returncode, again.stdout) == (0, first.stdout)
        status = script("status", state)
        assert (status.returncode, status.stdout) == (0, first.stdout)
    finally:
        stopped = script("stop", state)
    assert stopped.returncode == 0, stopped.stderr
    assert script("status", state).returncode == 1
    assert not state.exists() and not data.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=3)
