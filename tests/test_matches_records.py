"""The matches topic's records read back as they were written, and bad ones get a clear reason."""

from __future__ import annotations

import json
import math

from builders import item

from monitor.decode import DecodeError
from monitor.model import Match
from monitor.roles.records import FeedRecord, MatchRecord, Origin, decode, encode_feed, encode_match


def test_a_match_and_a_feed_record_read_back_as_written() -> None:
    annotated = item("ab-1", 2.0, actors=("norvania", "brennport"), keywords=("strike",), terms=("dock",))
    match = Match("brennport-dock-strike", annotated, 0.75, "actors: Norvania", (("norvania", 0.5, "lead"),))
    got = decode(encode_match(match, Origin(1, 41)))
    assert isinstance(got, MatchRecord) and got.origin == Origin(1, 41)
    assert got.match.rule_id == match.rule_id and got.match.relevance == 0.75
    assert got.match.cast == match.cast and got.match.item.actors == annotated.actors
    assert got.match.item.article.published_at == annotated.article.published_at
    feed = decode(encode_feed([(annotated.article, Origin(1, 41))]))
    assert isinstance(feed, FeedRecord) and [e.article.id for e in feed.entries] == ["ab-1"]


def test_a_record_with_a_number_json_has_no_word_for_still_reads() -> None:
    # the standard library writes NaN and Infinity (JSON5); the fast reader refuses them, so
    # the record is read again by the standard library, as before
    body = json.loads(encode_match(Match("r", item("x-1", 0.0)), Origin(0, 3)))
    body["relevance"] = float("nan")
    got = decode(json.dumps(body).encode())
    assert isinstance(got, MatchRecord) and math.isnan(got.match.relevance)


def test_bad_records_say_why() -> None:
    assert isinstance(bad := decode(b"{not json"), DecodeError) and bad.reason == "invalid_json"
    assert isinstance(bad := decode(b"\xff\xfe"), DecodeError) and bad.reason == "invalid_json"
    assert isinstance(bad := decode(b"[1]"), DecodeError) and bad.reason == "invalid_record"
    assert isinstance(bad := decode(b'{"v": 99}'), DecodeError) and bad.reason == "unknown_version"
