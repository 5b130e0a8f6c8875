"""The matches topic's records read back as they were written, and bad ones get a clear reason."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import builders
import numpy as np
from builders import item

from monitor.decode import DecodeError
from monitor.detect import copies
from monitor.detect.stories import COPY, StoryAssigner
from monitor.model import Match
from monitor.roles.records import FeedRecord, MatchRecord, Origin, decode, encode_feed, encode_match
from monitor.rules.schema import MatchSpec


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


BODY = ("Dock workers in Brennport walked out on Monday after talks with the port authority broke "
        "down over night-shift pay, leaving container ships waiting in the outer harbour.")


def _wire(id_: str, title: str, body: str | None) -> Match:
    annotated = item(id_, 1.0, actors=("brennport",))
    return Match("brennport-dock-strike", replace(annotated, article=replace(annotated.article, title=title,
                                                                                 body=body)))


def test_a_match_record_carries_the_fingerprint_not_the_body() -> None:
    match = _wire("ab-2", "Brennport dockers strike over pay", BODY)
    raw = encode_match(match, Origin(0, 7))
    assert b"night-shift" not in raw and json.loads(raw)["v"] == 2
    got = decode(raw)
    assert isinstance(got, MatchRecord) and got.match.item.fingerprint is not None
    values = got.match.item.fingerprint.values
    expected = copies.signature("Brennport dockers strike over pay", BODY)
    assert values is not None and expected is not None and np.array_equal(values, expected)
    short = decode(encode_match(_wire("ab-3", "Strike", None), Origin(0, 8)))
    assert isinstance(short, MatchRecord) and short.match.item.fingerprint is not None
    assert short.match.item.fingerprint.values is None  # too short to judge, and said so


def test_a_carried_fingerprint_is_the_one_story_grouping_uses() -> None:
    # two texts that share nothing, the second carrying the first's fingerprint: grouping
    # takes it as a copy of the first, so the carried values (not the text) decided
    first = _wire("ab-4", "Brennport dockers strike over pay", BODY)
    other = _wire("ab-5", "Harbour ferry timetable changes for winter", "Ferries leave every hour.")
    carried = replace(other.item, fingerprint=copies.fingerprint(first.item.article))
    rule = builders.rule("brennport-dock-strike", match=MatchSpec(actors=("brennport",)))
    assigner = StoryAssigner()
    assigner.commit(rule, assigner.place(rule, first.item))
    assert assigner.place(rule, other.item).how != COPY
    assert assigner.place(rule, carried).how == COPY


def test_a_version_1_record_still_reads_and_is_fingerprinted_from_its_lead() -> None:
    body = json.loads(encode_match(_wire("ab-6", "Brennport dockers strike over pay", BODY), Origin(1, 9)))
    body["v"] = 1
    body["article"]["lead"] = BODY
    del body["sig"]
    got = decode(json.dumps(body).encode())
    assert isinstance(got, MatchRecord) and got.match.item.fingerprint is None
    assert got.match.item.article.body == BODY


def test_a_bad_fingerprint_says_why() -> None:
    body = json.loads(encode_match(_wire("ab-7", "Brennport dockers strike over pay", BODY), Origin(1, 10)))
    for sig in ("bm90IGEgc2lnbmF0dXJl", "!!", 42):
        bad = decode(json.dumps({**body, "sig": sig}).encode())
        assert isinstance(bad, DecodeError) and bad.reason == "invalid_record", sig
    del body["sig"]
    bad = decode(json.dumps(body).encode())
    assert isinstance(bad, DecodeError) and bad.reason == "invalid_record" and "sig" in bad.detail
