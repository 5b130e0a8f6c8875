"""The decode stage: bytes or a JSON line to an Article, or a reason it cannot be one."""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from monitor.model import Article
from monitor.repair import repair

log = logging.getLogger("monitor.decode")
MAX_BYTES = 1_048_576
MAX_DEPTH = 32  # arrays and objects within one another; an article needs two
RECENT_IDS = 100_000  # ids remembered to turn a repeated article away
_OPTIONAL_STR = ("body", "url", "source", "language", "story_id", "html")
_KNOWN = frozenset(("id", "title", "published_at", *_OPTIONAL_STR))


@dataclass(frozen=True, slots=True)
class DecodeError:
    """Why a record is not an article; ``reason`` is a short label for counters and headers."""

    reason: str  # empty | not_utf8 | oversized | not_json | too_deep | not_object | missing_field |
    # wrong_type | bad_text | bad_timestamp | duplicate_id | undecodable (an exception nobody foresaw)
    # | annotate_failed (a valid article the annotator raised on: the run loop's, not decode's)
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
    except RecursionError:
        return DecodeError("too_deep", f"JSON nested deeper than the parser's stack (limit {MAX_DEPTH})")
    except ValueError as exc:
        return DecodeError("not_json", str(exc)[:300])
    if depth(data) > MAX_DEPTH:
        return DecodeError("too_deep", f"JSON nested more than {MAX_DEPTH} levels")
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
    for key in ("id", "title", *_OPTIONAL_STR):
        if isinstance(data.get(key), str) and not _encodable(data[key]):
            return DecodeError("bad_text", f"'{key}' holds an unpaired surrogate (\\ud800-\\udfff escape)")
    body = data.get("body")
    return Article(
        id=data["id"],
        title=repair(data["title"]),  # letters the feed's decoder replaced with U+FFFD
        published_at=published,
        body=repair(body) if body else body,
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
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # not a time, or one that leaves datetime's range in UTC
        return None


def depth(value: object) -> int:
    """How deeply arrays and objects nest in a parsed JSON value (iteratively: no recursion)."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        item, level = todo.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        if level <= MAX_DEPTH:
            todo.extend((c, level + 1) for c in children if isinstance(c, dict | list))
    return deepest


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def decode_record(
    raw: bytes | str | None, fallback_time: datetime | None = None, max_bytes: int = MAX_BYTES
) -> Article | DecodeError:
    """``decode`` that cannot raise: a record nobody foresaw becomes an ``undecodable`` error."""
    if raw is None:
        return DecodeError("empty", "record has no value")
    try:
        return decode(raw, fallback_time=fallback_time, max_bytes=max_bytes)
    except Exception as exc:  # one record must never stop the loop
        log.warning("decode_failed_unexpectedly", extra={"error": type(exc).__name__})
        return DecodeError("undecodable", f"{type(exc).__name__}: {exc}"[:300])


class Intake:
    """The decode stage of the run loop: ``decode_record``, then a repeated article id turned away.

    The last ``remember`` ids are kept; a repeat goes to the dead letters as ``duplicate_id``
    (the detectors would drop it too, per story, also after a restart)."""

    def __init__(self, max_bytes: int = MAX_BYTES, remember: int = RECENT_IDS) -> None:
        self.max_bytes = max_bytes
        self.remember = remember
        self._seen: OrderedDict[str, None] = OrderedDict()

    def read(self, raw: bytes | str | None, fallback_time: datetime | None = None) -> Article | DecodeError:
        return self.check(decode_record(raw, fallback_time, self.max_bytes))

    def check(self, result: Article | DecodeError) -> Article | DecodeError:
        """A decoded article, or ``duplicate_id`` when its id was read before."""
        if isinstance(result, DecodeError):
            return result
        if result.id in self._seen:
            self._seen.move_to_end(result.id)
            return DecodeError("duplicate_id", f"article id {result.id[:200]!r} was already read")
        self._seen[result.id] = None
        if len(self._seen) > self.remember:
            self._seen.popitem(last=False)
        return result
