"""``story-monitor healthcheck``: ask the running daemon's /healthz; exit 0 healthy, 1 not."""

from __future__ import annotations

import http.client
import json
import sys
from pathlib import Path
from typing import TextIO

from monitor.settings import Settings

PORT_FILE = "http.port"
WILDCARDS = {"", "0.0.0.0", "::"}  # noqa: S104 - compared against, not bound


def probe_address(settings: Settings) -> tuple[str, int] | None:
    """Where the daemon listens: the configured port, or the one it wrote to the state dir (port 0)."""
    host = settings.http.host
    host = ("::1" if host == "::" else "127.0.0.1") if host in WILDCARDS else host
    port = settings.http.port
    if port == 0:
        try:
            port = int((Path(settings.state.dir) / PORT_FILE).read_text(encoding="ascii").strip())
        except (OSError, ValueError):
            return None
    return host, port


def check(host: str, port: int, timeout_s: float, path: str = "/healthz") -> tuple[bool, str]:
    """GET ``path``; healthy on 200, else the reason the daemon gave or the connection error."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout_s)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read(4096)
    except TimeoutError:
        return False, f"no answer from {host}:{port} within {timeout_s:g}s"
    except OSError as exc:
        return False, f"cannot reach {host}:{port}: {exc.strerror or exc}"
    finally:
        conn.close()
    if response.status == 200:
        return True, "ok"
    try:
        reason = str(json.loads(body).get("reason", ""))
    except ValueError:
        reason = ""
    return False, f"{path} answered {response.status}" + (f": {reason}" if reason else "")


def healthcheck(settings: Settings, timeout_s: float = 3.0, err: TextIO | None = None) -> int:
    """Exit code for Docker HEALTHCHECK and Kubernetes exec probes; a one-line reason on stderr."""
    err = err or sys.stderr
    where = probe_address(settings)
    if where is None:
        print(f"unhealthy: no daemon port: http.port is 0 and {Path(settings.state.dir) / PORT_FILE} "
              "is missing", file=err)
        return 1
    ok, reason = check(*where, timeout_s)
    if not ok:
        print(f"unhealthy: {reason}", file=err)
        return 1
    return 0
