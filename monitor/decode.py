"""The decode stage: bytes or a JSON line to an Article, or a reason it cannot be one."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from monitor.model import Article

MAX_BYTES = 1_048_576
_OPTIONAL_STR = ("body", "url", "source", "language", "story_id", "html")
_KNOWN = frozenset(("id", "title", "published_at", *_OPTIONAL_STR))


@dataclass(frozen=True, slots=True)
class DecodeError:
    """Why a record is not an article; ``reason`` is a short label for counters and headers."""

    reason: str  # not_utf8 | oversized | not_json | not_object | missing_field | wrong_type | bad_timestamp
    detail: str

    def __str__(self) -> str:
        return f"{self.reason}: {self.detail}"


def decode(
    raw: bytes | str, *, fallback_time: datetime | None = None, max_bytes: int = MAX_BYTES
) -> Article | DecodeError:
    """Decode one record. ``fallback_time`` stands in for a missing ``published_at``."""
    size = len(raw.encode("utf-8") if isinstance(raw, str) else raw)
    if size > max_bytes:
        return DecodeError("oversized", f"{size} bytes > limit {max_bytes}")
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return DecodeError("not_utf8", f"invalid UTF-8 at byte {exc.start}")
    try:
        data = json.loads(raw)
    except ValueError as exc:
        return DecodeError("not_json", str(exc))
    if not isinstance(data, dict):
        return DecodeError("not_object", f"expected a JSON object, got {type(data).__name__}")
    return from_mapping(data, fallback_time=fallback_time)


def from_mapping(data: dict[str, Any], *, fallback_time: datetime | None = None) -> Article | DecodeError:
    for key in ("id", "title"):
        if key not in data or data[key] is None:
            return DecodeError("missing_field", f"'{key}' is required")
    if not isinstance(data["id"], str) or not data["id"].strip():
        return DecodeError("wrong_type", "'id' must be a non-empty string")
    if not isinstance(data["title"], str):
        return DecodeError("wrong_type", "'title' must be a string")
    for key in _OPTIONAL_STR:
        if data.get(key) is not None and not isinstance(data[key], str):
            return DecodeError("wrong_type", f"'{key}' must be a string")
    when = data.get("published_at")
    if when is None:
        if fallback_time is None:
            return DecodeError("missing_field", "'published_at' is required here (no record time)")
        published = fallback_time
    else:
        parsed = parse_time(when)
        if parsed is None:
            return DecodeError("bad_timestamp", f"'published_at' {when!r} is not RFC 3339")
        published = parsed
    if not data["title"].strip() and not (data.get("body") or data.get("html") or "").strip():
        return DecodeError("missing_field", "'title' and 'body' are both empty")
    return Article(
        id=data["id"],
        title=data["title"],
        published_at=published,
        body=data.get("body"),
        url=data.get("url"),
        source=data.get("source"),
        language=data.get("language"),
        story_id=data.get("story_id"),
        html=data.get("html"),
        extra={k: v for k, v in data.items() if k not in _KNOWN},
    )


def parse_time(value: object) -> datetime | None:
    """An RFC 3339 timestamp as an aware UTC datetime; naive times are taken as UTC."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    text = value.strip()
    if text[-1] in "zZ":
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
