"""Structured logs: one constant event name with fields; JSON when not on a terminal."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_SECRET_HINTS = ("token", "secret", "password", "webhook")


def fields(record: logging.LogRecord) -> dict[str, Any]:
    out = {}
    for key, value in vars(record).items():
        if key in _STANDARD:
            continue
        if any(h in key.lower() for h in _SECRET_HINTS):
            value = "***"
        out[key] = value
    return out


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        for key, value in fields(record).items():  # a field never overwrites another: it is renamed
            name = key
            while name in data:
                name = f"field_{name}"
            data[name] = value
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str)


class ConsoleFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extra = " ".join(f"{k}={v}" for k, v in fields(record).items())
        line = f"{record.levelname.lower():7} {record.getMessage()} {extra}".rstrip()
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class RepeatFilter(logging.Filter):
    """Lets a repeating library message through once per ``window_s``, with how often it came."""

    def __init__(self, window_s: float = 60.0) -> None:
        super().__init__()
        self.window_s = window_s
        self._seen: dict[tuple[str, object], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.msg)
        first, count = self._seen.get(key, (float("-inf"), 0))
        if record.created - first < self.window_s:
            self._seen[key] = (first, count + 1)
            return False
        self._seen[key] = (record.created, 0)
        if count:
            record.repeated = count
        return True


def setup_logging(level: str = "INFO", fmt: str = "auto") -> None:
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if use_json else ConsoleFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    repeats = RepeatFilter()
    for noisy in ("kafka", "apscheduler", "slack_sdk", "urllib3"):
        library = logging.getLogger(noisy)
        library.setLevel(logging.WARNING)
    handler.addFilter(_LibraryOnly(repeats, ("kafka", "apscheduler", "slack_sdk", "urllib3")))


class _LibraryOnly(logging.Filter):
    """Apply ``inner`` to records of the named libraries; our own events pass untouched."""

    def __init__(self, inner: logging.Filter, prefixes: tuple[str, ...]) -> None:
        super().__init__()
        self.inner = inner
        self.prefixes = prefixes

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.split(".", 1)[0] in self.prefixes:
            return bool(self.inner.filter(record))
        return True
