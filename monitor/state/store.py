"""The state store: everything a batch changed, committed in one transaction with its offsets."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from monitor.detect.engine import Delta, StoryKey
from monitor.detect.feed import FeedState
from monitor.detect.moments import Moments
from monitor.detect.state import Event
from monitor.model import Alert
from monitor.state import codec

DB_NAME = "state.sqlite"
Offsets = Mapping[tuple[str, int], int]  # (source, partition) -> next offset to read


def connect(path: Path | str) -> sqlite3.Connection:
    """A connection in WAL mode, shared-nothing: open one per thread."""
    conn = sqlite3.connect(str(path), timeout=30.0, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")  # durable against process crashes; see README
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


@dataclass(frozen=True)
class Restored:
    events: list[tuple[str, str, Event]]
    states: dict[StoryKey, dict[str, Any]]
    stories: dict[str, Any]  # rule -> its stories
    watermark: float | None
    feed: FeedState | None = None
    moments: Moments | None = None


class Store:
    """Owns the SQLite file under ``state.dir``; the main loop is its only writer of windows."""

    def __init__(self, directory: Path | str) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / DB_NAME
        self.conn = connect(self.path)
        schema = resources.files("monitor.state").joinpath("schema.sql").read_text()
        self.conn.executescript(schema)

    def close(self) -> None:
        self.conn.close()

    def offsets(self, source: str) -> dict[int, int]:
        rows = self.conn.execute("SELECT partition, next_offset FROM offsets WHERE source=?", (source,))
        return {int(p): int(o) for p, o in rows}

    def commit(self, offsets: Offsets, delta: Delta, alerts: Iterable[Alert]) -> int:
        """Write state, alerts and the offsets they reflect atomically; returns alerts queued."""
        queued = 0
        now = time.time()
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        try:
            for rule in delta.dropped_rules:
                c.execute("DELETE FROM events WHERE rule=?", (rule,))
                c.execute("DELETE FROM detectors WHERE rule=?", (rule,))
                c.execute("DELETE FROM stories WHERE rule=?", (rule,))
            c.executemany(
                "INSERT OR IGNORE INTO events (rule, story, article_id, at, data) VALUES (?,?,?,?,?)",
                [(r, s, e.id, e.at, json.dumps(e.to_json())) for r, s, e in delta.events],
            )
            for rule, story in delta.dropped_stories:
                c.execute("DELETE FROM detectors WHERE rule=? AND story=?", (rule, story))
                c.execute("DELETE FROM events WHERE rule=? AND story=?", (rule, story))
            c.executemany(
                "INSERT OR REPLACE INTO detectors (rule, story, data) VALUES (?,?,?)",
                [(rule, story, codec.encode_detectors(data)) for (rule, story), data in delta.states.items()],
            )
            for alert in alerts:
                cur = c.execute(
                    "INSERT OR IGNORE INTO outbox (key, channel, rule, story, kind, at, payload, created)"
                    " VALUES (?,?,?,?,?,?,?,?)",
                    (alert.key, alert.channel, alert.rule, alert.story, alert.kind,
                     alert.at.timestamp(), alert.model_dump_json(), now),
                )
                queued += cur.rowcount
            gone = [(rule,) for rule, data in delta.stories.items() if data is None]
            c.executemany("DELETE FROM stories WHERE rule=?", gone)
            c.executemany("INSERT OR REPLACE INTO stories (rule, data) VALUES (?,?)",
                          [(r, json.dumps(d)) for r, d in delta.stories.items() if d is not None])
            if delta.watermark is not None and delta.watermark != float("-inf"):
                self._meta(c, "watermark", repr(delta.watermark))
            self._feed_and_moments(c, delta)
            c.executemany(
                "INSERT OR REPLACE INTO offsets (source, partition, next_offset) VALUES (?,?,?)",
                [(s, p, o) for (s, p), o in offsets.items()],
            )
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise
        return queued

    @classmethod
    def _feed_and_moments(cls, c: sqlite3.Connection, delta: Delta) -> None:
        """The feed's counts and status, and the alerts held for their story-moment."""
        c.executemany("INSERT OR REPLACE INTO feed (source, bucket, n) VALUES (?,?,?)",
                      codec.feed_rows(delta.feed))
        if delta.feed_state is not None:
            cls._meta(c, "feed", codec.encode_feed(delta.feed_state))
            kept = [min(v) for v in delta.feed_state.counts.values() if v]
            if kept:
                c.execute("DELETE FROM feed WHERE bucket < ?", (min(kept),))
        if delta.moments is not None:
            c.execute("DELETE FROM held")
            c.executemany("INSERT INTO held (key, payload) VALUES (?,?)", codec.encode_held(delta.moments))

    @staticmethod
    def _meta(c: sqlite3.Connection, key: str, value: str) -> None:
        c.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?,?)", (key, value))

    def restore(self, fingerprints: Mapping[str, str]) -> Restored:
        """Load the state of rules whose fingerprint is unchanged; drop the rest."""
        c = self.conn
        known = dict(c.execute("SELECT rule, fingerprint FROM rules").fetchall())
        stale = [r for r, f in known.items() if fingerprints.get(r) != f]
        c.execute("BEGIN IMMEDIATE")
        self._split_stories(c)
        for rule in stale:
            c.execute("DELETE FROM events WHERE rule=?", (rule,))
            c.execute("DELETE FROM detectors WHERE rule=?", (rule,))
            c.execute("DELETE FROM stories WHERE rule=?", (rule,))
        c.execute("DELETE FROM rules")
        c.executemany("INSERT INTO rules (rule, fingerprint) VALUES (?,?)", list(fingerprints.items()))
        c.execute("COMMIT")
        events = [
            (r, s, Event.from_json(json.loads(d)))
            for r, s, d in c.execute("SELECT rule, story, data FROM events ORDER BY at")
        ]
        states = {(r, s): codec.decode_detectors(d)
                  for r, s, d in c.execute("SELECT rule, story, data FROM detectors")}
        stories = {r: json.loads(d) for r, d in c.execute("SELECT rule, data FROM stories")}
        meta = dict(c.execute("SELECT key, value FROM meta").fetchall())
        watermark = float(meta["watermark"]) if "watermark" in meta else None
        feed = codec.decode_feed(meta.get("feed"), c.execute("SELECT source, bucket, n FROM feed"))
        moments = codec.decode_held(c.execute("SELECT key, payload FROM held ORDER BY rowid"))
        return Restored(events, states, stories, watermark, feed, moments)

    @staticmethod
    def _split_stories(c: sqlite3.Connection) -> None:
        """Earlier versions kept every rule's stories in one document: one row a rule now."""
        row = c.execute("SELECT value FROM meta WHERE key='stories'").fetchone()
        if row is None:
            return
        old = json.loads(row[0])
        c.executemany("INSERT OR IGNORE INTO stories (rule, data) VALUES (?,?)",
                      [(rule, json.dumps(data)) for rule, data in old.items() if isinstance(data, dict)])
        c.execute("DELETE FROM meta WHERE key='stories'")

    def remember_rules(self, fingerprints: Mapping[str, str]) -> None:
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        c.execute("DELETE FROM rules")
        c.executemany("INSERT INTO rules (rule, fingerprint) VALUES (?,?)", list(fingerprints.items()))
        c.execute("COMMIT")

    def evict_events(self, cutoffs: Mapping[str, float]) -> int:
        """Delete events older than each rule's cutoff (epoch seconds)."""
        gone = 0
        for rule, before in cutoffs.items():
            gone += self.conn.execute("DELETE FROM events WHERE rule=? AND at<=?", (rule, before)).rowcount
        return gone

    def prune_outbox(self, sent_before: float) -> int:
        """Forget delivered alerts sent before ``sent_before`` (wall clock); parked ones stay."""
        return self.conn.execute(
            "DELETE FROM outbox WHERE status='sent' AND sent_at < ?", (sent_before,)
        ).rowcount

    def outbox_pending(self) -> int:
        row = self.conn.execute("SELECT COUNT(*) FROM outbox WHERE status IN ('pending','sending')")
        return int(row.fetchone()[0])
