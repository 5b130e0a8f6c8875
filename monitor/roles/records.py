"""The matches topic's records: typed, versioned JSON between the annotate and detect roles.

Two record types, each with ``"v": 2`` and ``"type"``:

- ``match``: one rule that one article satisfies, with everything detection reads of it
  (the article's id, time, title, url, source and upstream story, its actors, keywords and
  terms, the relevance, why it counts and its cast, and ``sig``: the article's MinHash for
  syndicated copies, base64 of its 32-bit values, or null when the text is too short to
  judge; made once per article by the annotate worker, however many rules and detect
  partitions it reaches). Keyed by rule id. Version 1 carried the lead of the body
  instead (``lead``), which the detect side fingerprinted itself; it still reads.
- ``feed``: the articles of one publication time, matched or not, sent to *every*
  partition: spike baselines and feed-aware silence read the whole feed's rate, and event
  time moves with the feed, so each partition carries the feed (a few bytes an article)
  and a detect worker needs nothing but its partitions. Why not feed counts in PostgreSQL:
  the counts would then move apart from the matches in time (a detect worker reading a
  count that an annotate worker wrote for a later moment), and a partition's state could
  no longer be rebuilt from its own log and offsets alone.

Both carry their article's place in the articles topic (``partition``, ``offset``): the
detect side lines records up by it (the same event-time alignment as one process over
the articles topic) and counts each article toward the feed once, whatever an annotate
worker that died before committing produced twice.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from monitor.decode import DecodeError
from monitor.detect import copies
from monitor.model import Annotated, Article, Fingerprint, Match

VERSION = 2
READS = (1, 2)  # version 1: the body's lead in the record, no signature


@dataclass(frozen=True, slots=True)
class Origin:
    """Where an article sits in the articles topic."""

    partition: int
    offset: int


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One article of the feed: enough to count it (time, source) and to count it once."""

    article: Article
    origin: Origin


@dataclass(frozen=True, slots=True)
class FeedRecord:
    """The articles of one publication time from one articles partition."""

    published_at: datetime
    entries: tuple[FeedEntry, ...]
    origin: Origin  # the first entry's place: the record's lane on the detect side


@dataclass(frozen=True, slots=True)
class MatchRecord:
    """One match, as the detect role rebuilds it."""

    match: Match
    origin: Origin

    @property
    def published_at(self) -> datetime:
        return self.match.item.article.published_at


Decoded = FeedRecord | MatchRecord


def encode_match(match: Match, origin: Origin, terms: int | None = None) -> bytes:
    """A match record; the article's fingerprint is the one its item carries (computed here
    when it carries none: a caller with several matches of one article attaches it first).
    ``terms``: how many of the article's terms the rule reads (``topic.OPENING_TERMS``), all
    when None."""
    item, a = match.item, match.item.article
    values = (item.fingerprint or copies.fingerprint(a)).values
    body = {
        "v": VERSION, "type": "match", "rule": match.rule_id,
        "partition": origin.partition, "offset": origin.offset,
        "article": {"id": a.id, "title": a.title, "published_at": a.published_at.isoformat(),
                    "url": a.url, "source": a.source, "story_id": a.story_id},
        "sig": copies.encode(values) if values is not None else None,
        "actors": dict(item.actors), "keywords": sorted(item.keywords), "terms": list(item.terms[:terms]),
        "nlp": item.nlp, "relevance": match.relevance, "why": match.why,
        "cast": [list(c) for c in match.cast], "central": match.central, "lone": match.lone,
        "headlined": match.headlined,
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def encode_feed(articles: Sequence[tuple[Article, Origin]]) -> bytes:
    """One publication time's articles (all of one time, from one articles partition)."""
    first = articles[0]
    body = {
        "v": VERSION, "type": "feed", "published_at": first[0].published_at.isoformat(),
        "partition": first[1].partition, "offset": first[1].offset,
        "articles": [[a.id, a.source, o.partition, o.offset] for a, o in articles],
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def decode(value: bytes | str | None) -> Decoded | DecodeError:
    """A record of the matches topic, or why it is not one (it goes to the dead-letter topic)."""
    try:
        data = _loads(value) if value is not None else None
    except (ValueError, UnicodeDecodeError) as exc:
        return DecodeError("invalid_json", f"not a matches-topic record: {exc}"[:300])
    if not isinstance(data, dict):
        return DecodeError("invalid_record", "a matches-topic record is a JSON object")
    if data.get("v") not in READS:
        return DecodeError("unknown_version", f"matches-topic record version {data.get('v')!r}, "
                                              f"this build reads {', '.join(map(str, READS))}")
    try:
        if data.get("type") == "match":
            return _match(data)
        if data.get("type") == "feed":
            return _feed(data)
    except (KeyError, TypeError, ValueError) as exc:
        return DecodeError("invalid_record", f"{data.get('type')} record: {type(exc).__name__}: {exc}"[:300])
    return DecodeError("invalid_record", f"unknown record type {data.get('type')!r}")


def _loads(value: bytes | str) -> Any:
    """orjson, and for what it refuses the standard library (JSON5's ``NaN``, say), which may
    still read it: a record reads as it always did, only faster."""
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return json.loads(value)


def _origin(data: Mapping[str, Any]) -> Origin:
    return Origin(int(data["partition"]), int(data["offset"]))


def _time(text: Any) -> datetime:
    at = datetime.fromisoformat(str(text))
    if at.tzinfo is None:
        raise ValueError(f"published_at {text!r} has no time zone")
    return at


def _match(data: Mapping[str, Any]) -> MatchRecord:
    a = data["article"]
    article = Article(id=str(a["id"]), title=str(a["title"]), published_at=_time(a["published_at"]),
                      body=a.get("lead"), url=a.get("url"), source=a.get("source"),
                      story_id=a.get("story_id"))
    item = Annotated(article, {str(k): str(v) for k, v in dict(data["actors"]).items()},
                     frozenset(str(k) for k in data["keywords"]), tuple(str(t) for t in data["terms"]),
                     nlp=bool(data.get("nlp", False)), fingerprint=_fingerprint(data))
    cast = tuple((str(i), float(s), str(q)) for i, s, q in data.get("cast", ()))
    match = Match(str(data["rule"]), item, float(data.get("relevance", 1.0)), str(data.get("why", "")), cast,
                  bool(data.get("central", True)), bool(data.get("lone", False)),
                  bool(data.get("headlined", True)))
    return MatchRecord(match, _origin(data))


def _fingerprint(data: Mapping[str, Any]) -> Fingerprint | None:
    """Version 2's carried signature (a missing ``sig`` is a bad record); none in version 1."""
    if data["v"] == 1:
        return None
    sig = data["sig"]
    if sig is not None and not isinstance(sig, str):
        raise TypeError(f"sig is a base64 string or null, not {type(sig).__name__}")
    return Fingerprint(copies.decode(sig) if sig is not None else None)


def _feed(data: Mapping[str, Any]) -> FeedRecord:
    at = _time(data["published_at"])
    entries = tuple(FeedEntry(Article(id=str(i), title="", published_at=at, source=s), Origin(int(p), int(o)))
                    for i, s, p, o in data["articles"])
    if not entries:
        raise ValueError("a feed record without articles")
    return FeedRecord(at, entries, _origin(data))
