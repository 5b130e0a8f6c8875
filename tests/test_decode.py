"""Decode: every kind of bad record gets a named reason; good ones keep unknown fields."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from monitor.decode import DecodeError, decode

GOOD = {"id": "a1", "title": "Dock strike spreads", "published_at": "2026-03-02T08:15:00Z"}


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\xff\xfe not utf-8", "not_utf8"),
        (b"{not json", "not_json"),
        (b"[1, 2]", "not_object"),
        (b'"a string"', "not_object"),
        (json.dumps({"title": "no id"}).encode(), "missing_field"),
        (json.dumps({"id": "x"}).encode(), "missing_field"),
        (json.dumps({**GOOD, "id": 7}).encode(), "wrong_type"),
        (json.dumps({**GOOD, "title": ["t"]}).encode(), "wrong_type"),
        (json.dumps({**GOOD, "body": 12}).encode(), "wrong_type"),
        (json.dumps({**GOOD, "published_at": "yesterday"}).encode(), "bad_timestamp"),
        (json.dumps({**GOOD, "published_at": 1700000000}).encode(), "bad_timestamp"),
        (json.dumps({**GOOD, "body": "x" * 2_000_000}).encode(), "oversized"),
        (json.dumps({"id": "x", "title": " ", "published_at": "2026-03-02T08:15:00Z"}).encode(),
         "missing_field"),
    ],
)
def test_bad_records_have_reasons(raw: bytes, reason: str) -> None:
    result = decode(raw)
    assert isinstance(result, DecodeError) and result.reason == reason and result.detail


def test_good_record_keeps_unknown_fields_and_normalises_time() -> None:
    art = decode(json.dumps({**GOOD, "published_at": "2026-03-02T09:15:00+01:00", "lang": "en"}))
    assert not isinstance(art, DecodeError)
    assert art.published_at == datetime(2026, 3, 2, 8, 15, tzinfo=UTC)
    assert art.extra == {"lang": "en"} and art.body is None


def test_record_time_stands_in_for_missing_published_at() -> None:
    record_time = datetime(2026, 1, 1, tzinfo=UTC)
    art = decode(json.dumps({"id": "a", "title": "t"}), fallback_time=record_time)
    assert not isinstance(art, DecodeError) and art.published_at == record_time
    assert isinstance(decode(json.dumps({"id": "a", "title": "t"})), DecodeError)
