"""Decode: every kind of bad record gets a named reason; good ones keep unknown fields."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from monitor.decode import DecodeError, Intake, decode, decode_record

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


# --- records that used to crash the loop, and the run loop's intake ---------------------------
HOSTILE = [
    pytest.param(b"[" * 1000 + b"]" * 1000, "too_deep", id="nested-1000"),
    pytest.param(b"[" * 100_000 + b"]" * 100_000, "too_deep", id="nested-100000"),
    pytest.param(json.dumps(GOOD)[:-1].encode() + b', "x": ' + b"[" * 32 + b"]" * 32 + b"}", "too_deep",
                 id="nested-33-in-a-field"),
    pytest.param(b'{"id": "x", "title": "\\udc00 x", "published_at": "2026-03-02T08:15:00Z"}', "bad_text",
                 id="lone-surrogate"),
    pytest.param(json.dumps({**GOOD, "published_at": "9999-12-31T23:00:00-05:00"}).encode(), "bad_timestamp",
                 id="beyond-year-9999-in-utc"),
    pytest.param(json.dumps({**GOOD, "published_at": "0001-01-01T00:00:00+05:00"}).encode(), "bad_timestamp",
                 id="before-year-1-in-utc"),
    pytest.param(b'{"id": 1' + b"0" * 5000 + b"}", "not_json", id="integer-of-5000-digits"),
    pytest.param(b"null", "not_object", id="null"),
    pytest.param(b"", "not_json", id="empty"),
    pytest.param(None, "empty", id="key-only"),
]


@pytest.mark.parametrize(("raw", "reason"), HOSTILE)
def test_hostile_records_get_a_reason_instead_of_an_exception(raw: bytes | None, reason: str) -> None:
    result = decode_record(raw)
    assert isinstance(result, DecodeError) and result.reason == reason and len(result.detail) <= 300


def test_an_exception_nobody_foresaw_becomes_a_reason() -> None:
    class Weird(str):
        def encode(self, *args: object, **kwargs: object) -> bytes:
            raise MemoryError("no room")

    result = decode_record(Weird("{}"))
    assert isinstance(result, DecodeError) and result.reason == "undecodable"
    assert "MemoryError: no room" in result.detail


def test_intake_turns_a_repeated_id_away_and_forgets_the_oldest() -> None:
    intake = Intake(remember=2)
    first = json.dumps(GOOD).encode()
    assert not isinstance(intake.read(first), DecodeError)
    repeat = intake.read(first)
    assert isinstance(repeat, DecodeError) and repeat.reason == "duplicate_id" and "'a1'" in repeat.detail
    for other in ("a2", "a3"):
        assert not isinstance(intake.read(json.dumps({**GOOD, "id": other}).encode()), DecodeError)
    assert not isinstance(intake.read(first), DecodeError)  # a1 was forgotten after two newer ids
