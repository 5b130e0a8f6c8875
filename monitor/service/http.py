"""The HTTP endpoints for probes and scrapes: /healthz, /readyz, /metrics."""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from contextlib import suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST

from monitor.errors import MonitorError
from monitor.obs.health import PORT_FILE
from monitor.service.probes import AppProbe, Status

log = logging.getLogger("monitor.service.http")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    probe: AppProbe


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "story-monitor"

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        try:
            if path == "/healthz":
                self._status(self.server.probe.live())
            elif path == "/readyz":
                self._status(self.server.probe.ready())
            elif path == "/metrics":
                self._reply(200, self.server.probe.metrics(), CONTENT_TYPE_LATEST)
            else:
                self._reply(404, b"not found: try /healthz, /readyz or /metrics\n", "text/plain")
        except Exception:  # a probe bug answers 500; the server keeps serving
            log.exception("http_handler_failed", extra={"path": path})
            self._reply(500, b"internal error\n", "text/plain")

    def _status(self, status: Status) -> None:
        body = {"status": "ok" if status.ok else "fail", "reason": status.reason, **status.details}
        self._reply(200 if status.ok else 503, json.dumps(body).encode() + b"\n", "application/json")

    def _reply(self, code: int, body: bytes, content_type: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return None  # probes every few seconds are not log events


class HttpService:
    """Binds at construction (a busy port is a one-line error), serves on its own threads once started.

    With port 0 the kernel picks a free port; it is logged (``http_listening``) and written
    to ``<state.dir>/http.port`` so that ``story-monitor healthcheck`` can find it.
    """

    def __init__(self, probe: AppProbe, host: str, port: int, state_dir: Path | None = None) -> None:
        server_cls = _Server6 if ":" in host else _Server
        try:
            self.server = server_cls((host, port), _Handler)
        except OSError as exc:
            raise MonitorError(f"http: cannot listen on {host}:{port}: {exc.strerror}") from None
        self.server.probe = probe
        self.host = host
        self.port = int(self.server.server_address[1])
        self.port_file = state_dir / PORT_FILE if state_dir is not None else None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.1,), name="http",
                                        daemon=True)
        self._thread.start()
        if self.port_file is not None:
            write_port(self.port_file, self.port)
        log.info("http_listening", extra={"host": self.host, "port": self.port})

    def stop(self) -> None:
        if self._thread is not None:
            self.server.shutdown()
            self._thread.join(5.0)
        self.server.server_close()
        if self.port_file is not None and read_port(self.port_file) == self.port:
            with suppress(OSError):
                self.port_file.unlink()


def write_port(path: Path, port: int) -> None:
    """Atomically, so a reader never sees half a number."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(f"{port}\n", encoding="ascii")
    os.replace(tmp, path)


def read_port(path: Path) -> int | None:
    try:
        return int(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None
