"""The dead-letter side without a broker: letters keep the record whole, or say how they were cut."""

from __future__ import annotations

import hashlib

from monitor.decode import DecodeError
from monitor.sources.base import Record
from monitor.sources.dlq import HEADER_PREFIX as P
from monitor.sources.dlq import Letter, letter_for, shorten


def letter(value: bytes, key: bytes | None = b"k", headers: tuple[tuple[str, bytes], ...] = ()) -> Letter:
    record = Record("articles", 2, 41, value, key=key, headers=headers)
    return letter_for(record, DecodeError("oversized", "too big"))


def test_a_letter_keeps_key_bytes_and_headers_and_adds_the_reason_and_origin() -> None:
    made = letter(b"{bad", headers=(("trace-id", b"t1"),))
    headers = dict(made.headers)
    assert made.value == b"{bad" and made.key == b"k"
    assert headers["trace-id"] == b"t1" and headers[P + "reason"] == b"oversized"
    assert headers[P + "origin.partition"] == b"2" and headers[P + "origin.offset"] == b"41"


def test_a_letter_too_large_is_cut_with_its_size_and_sha256() -> None:
    value = b"Brennport " * 200_000  # 2 MB
    cut = shorten(letter(value, headers=(("trace-id", b"t1"),)), 100_000)
    headers = dict(cut.headers)
    assert cut.size <= 100_000 and value.startswith(cut.value or b"") and len(cut.value or b"") > 90_000
    assert headers[P + "original.size"] == str(len(value)).encode()
    assert headers[P + "original.sha256"] == hashlib.sha256(value).hexdigest().encode()
    assert headers[P + "truncated"] == f"first {len(cut.value or b'')} of {len(value)} bytes".encode()
    assert headers["trace-id"] == b"t1" and headers[P + "reason"] == b"oversized"
    again = shorten(cut, 20_000)  # cut again: still the original's size and digest
    assert dict(again.headers)[P + "original.size"] == str(len(value)).encode()
    assert dict(again.headers)[P + "original.sha256"] == headers[P + "original.sha256"]
    assert again.size <= 20_000 and len([h for h in again.headers if h[0] == P + "truncated"]) == 1


def test_huge_keys_and_headers_are_cut_too() -> None:
    made = letter(b"x" * 10_000, key=b"K" * 50_000, headers=(("blob", b"h" * 50_000),))
    cut = shorten(made, 20_000)
    headers = dict(cut.headers)
    assert cut.size <= 20_000 and cut.key == b"K" * 1024 and "blob" not in headers
    assert headers[P + "original.key_size"] == b"50000"
    assert headers[P + "original.headers_dropped"] == b"1"
