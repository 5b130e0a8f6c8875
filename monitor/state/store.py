"""The state store: everything a batch changed, committed in one transaction with its offsets."""

from __future__ import annotations

import json
import time
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.detect.engine import Delta, StoryKey
from monitor.detect.feed import FeedState
from monitor.detect.moments import Moments
from monitor.detect.state import Event
from monitor.model import Alert
from monitor.state import codec
from monitor.state.db import DB_NAME, Db, connect, open_db

__all__ = ["DB_NAME", "Offsets", "Restored", "Store", "connect"]
Offsets = Mapping[tuple[str, int], int]  # (source, partition) -> next offset to read
OUTBOX_ROWS = 500  # alerts a statement (8 parameters each, well within SQLite's 32,766)


@dataclass(frozen=True)
class Restored:
    events: list[tuple[str, str, Event]]
    states: dict[StoryKey, dict[str, Any]]
    stories: dict[str, Any]  # rule -> its stories
    watermark: float | None
    feed: FeedState | None = None
    moments: Moments | None = None


class Store:
    """The state of ``state.url`` (a SQLite file in ``state.dir`` by default, or PostgreSQL).

    The main loop is its only writer of windows; every batch is one transaction.
    """

    def __init__(self, where: Path | str | Db, scope: str = "") -> None:
        """``scope``: one part of a shared database (a detect worker's matches partition): its
        watermark, feed and held alerts are its own; windows, detectors and stories are
        keyed by rule, and each rule belongs to one part. Several scoped stores may share
        one ``Db`` and write in one of its transactions (:meth:`write`)."""
        self.db: Db = open_db(where) if isinstance(where, Path | str) else where
        self.scope = scope
        self._mark = f"{scope}|" if scope else ""  # feed sources and held keys of this scope

    @property
    def conn(self) -> Any:
        """The backend's own connection (for SQLite: ``sqlite3.Connection``)."""
        return getattr(self.db, "conn", None)

    def close(self) -> None:
        self.db.close()

    def offsets(self, source: str) -> dict[int, int]:
        rows = self.db.execute("SELECT partition, next_offset FROM offsets WHERE source=?", (source,))
        return {int(p): int(o) for p, o in rows}

    def commit(self, offsets: Offsets, delta: Delta, alerts: Iterable[Alert]) -> int:
        """Write state, alerts and the offsets they reflect atomically; returns alerts queued."""
        with self.db.write_transaction():
            return self.write(offsets, delta, alerts)

    def write(self, offsets: Offsets, delta: Delta, alerts: Iterable[Alert],
              meta: Mapping[str, str] | None = None) -> int:
        """:meth:`commit` inside a transaction the caller holds (several scopes, one transaction);
        ``meta``: more values of this scope to keep with it (one statement for all of them)."""
        c = self.db
        for rule in delta.dropped_rules:
            self._drop_rule(rule)
        c.executemany(
            "INSERT INTO events (rule, story, article_id, at, data) VALUES (?,?,?,?,?)"
            " ON CONFLICT DO NOTHING",
            [(r, s, e.id, e.at, codec.dumps_finite(e.to_json()))
             for r, s, e in [*delta.events, *delta.moved]],
        )
        for rule, story in delta.dropped_stories:
            c.execute("DELETE FROM detectors WHERE rule=? AND story=?", (rule, story))
            c.execute("DELETE FROM events WHERE rule=? AND story=?", (rule, story))
        c.executemany(
            "INSERT INTO detectors (rule, story, data) VALUES (?,?,?)"
            " ON CONFLICT (rule, story) DO UPDATE SET data=excluded.data",
            [(rule, story, codec.encode_detectors(data)) for (rule, story), data in delta.states.items()],
        )
        self._stories_and_meta(delta, meta or {})
        self._feed_and_moments(delta)
        c.executemany(
            "INSERT INTO offsets (source, partition, next_offset) VALUES (?,?,?)"
            " ON CONFLICT (source, partition) DO UPDATE SET next_offset=excluded.next_offset",
            [(s, p, o) for (s, p), o in offsets.items()],
        )
        return self._queue(list(alerts))  # last: its answer is the one read inside the transaction

    def _stories_and_meta(self, delta: Delta, meta: Mapping[str, str]) -> None:
        """The rules' stories documents, and the watermark, the feed's status and ``meta``
        in one statement."""
        gone = [(rule,) for rule, data in delta.stories.items() if data is None]
        self.db.executemany("DELETE FROM stories WHERE rule=?", gone)
        self.db.executemany("INSERT INTO stories (rule, data) VALUES (?,?)"
                            " ON CONFLICT (rule) DO UPDATE SET data=excluded.data",
                            [(r, codec.dumps_finite(d)) for r, d in delta.stories.items() if d is not None])
        values = dict(meta)
        if delta.watermark is not None and delta.watermark != float("-inf"):
            values["watermark"] = repr(delta.watermark)
        if delta.feed_state is not None:
            values["feed"] = codec.encode_feed(delta.feed_state)
        self._put_metas(values)

    def _queue(self, alerts: list[Alert]) -> int:
        """The alerts into the outbox, in their order, each key once; how many were new."""
        queued, now = 0, time.time()
        for start in range(0, len(alerts), OUTBOX_ROWS):
            chunk = alerts[start:start + OUTBOX_ROWS]
            rows = ",".join(["(?,?,?,?,?,?,?,?)"] * len(chunk))
            params = [x for a in chunk for x in (a.key, a.channel, a.rule, a.story, a.kind,
                                                  a.at.timestamp(), a.model_dump_json(), now)]
            queued += len(self.db.execute(
                "INSERT INTO outbox (key, channel, rule, story, kind, at, payload, created)"
                f" VALUES {rows} ON CONFLICT DO NOTHING RETURNING key", params).fetchall())
        return queued

    def _feed_and_moments(self, delta: Delta) -> None:
        """The feed's counts and status, and the alerts held for their story-moment."""
        mark = self._mark
        self.db.executemany("INSERT INTO feed (source, bucket, n) VALUES (?,?,?)"
                            " ON CONFLICT (source, bucket) DO UPDATE SET n=excluded.n",
                            [(mark + s, b, n) for s, b, n in codec.feed_rows(delta.feed)])
        if delta.feed_state is not None:
            kept = [min(v) for v in delta.feed_state.counts.values() if v]
            if kept and mark:
                self.db.execute("DELETE FROM feed WHERE bucket < ? AND substr(source, 1, ?) = ?",
                                (min(kept), len(mark), mark))
            elif kept:
                self.db.execute("DELETE FROM feed WHERE bucket < ?", (min(kept),))
        if delta.moments is not None:
            if mark:
                self.db.execute("DELETE FROM held WHERE substr(key, 1, ?) = ?", (len(mark), mark))
            else:
                self.db.execute("DELETE FROM held")
            self.db.executemany("INSERT INTO held (key, payload) VALUES (?,?)",
                                [(mark + k, p) for k, p in codec.encode_held(delta.moments)])

    def _drop_rule(self, rule: str) -> None:
        for table in ("events", "detectors", "stories"):
            self.db.execute(f"DELETE FROM {table} WHERE rule=?", (rule,))

    def get_meta(self, key: str) -> str | None:
        """A value kept with the state (of this store's scope, when it has one)."""
        key = f"{key}@{self.scope}" if self.scope else key
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def put_meta(self, key: str, value: str) -> None:
        self._put_metas({key: value})

    def _put_metas(self, values: Mapping[str, str]) -> None:
        at = f"@{self.scope}" if self.scope else ""
        self.db.executemany("INSERT INTO meta (key, value) VALUES (?,?)"
                            " ON CONFLICT (key) DO UPDATE SET value=excluded.value",
                            [(key + at, value) for key, value in values.items()])

    def restore(self, fingerprints: Mapping[str, str], rules: Collection[str] | None = None) -> Restored:
        """Load the state of rules whose fingerprint is unchanged; drop the rest.

        ``rules``: load only these rules' windows, detectors and stories (a scope's rules)."""
        c = self.db
        with c.transaction():
            known = dict(c.execute("SELECT rule, fingerprint FROM rules").fetchall())
            stale = [r for r, f in known.items() if fingerprints.get(r) != f]
            self._split_stories()
            for rule in stale:
                self._drop_rule(rule)
            self._put_rules(fingerprints)
        def mine(rule: str) -> bool:
            return rules is None or rule in rules

        events = [
            (r, s, Event.from_json(json.loads(d)))
            for r, s, d in c.execute("SELECT rule, story, data FROM events ORDER BY at") if mine(r)
        ]
        states = {(r, s): codec.decode_detectors(d)
                  for r, s, d in c.execute("SELECT rule, story, data FROM detectors") if mine(r)}
        stories = {r: json.loads(d) for r, d in c.execute("SELECT rule, data FROM stories") if mine(r)}
        watermark = self.get_meta("watermark")
        mark = self._mark
        feed = codec.decode_feed(self.get_meta("feed"), (
            (s[len(mark):], b, n) for s, b, n in c.execute("SELECT source, bucket, n FROM feed")
            if s.startswith(mark)))
        # rowid: SQLite's own insertion order; the PostgreSQL schema spells it out as a column
        held = c.execute("SELECT key, payload FROM held ORDER BY rowid")
        moments = codec.decode_held((k[len(mark):], p) for k, p in held if k.startswith(mark))
        at = None if watermark is None else float(watermark)
        return Restored(events, states, stories, at, feed, moments)

    def _split_stories(self) -> None:
        """Earlier versions kept every rule's stories in one document: one row a rule now."""
        old_json = self.get_meta("stories")
        if old_json is None:
            return
        old = json.loads(old_json)
        rows = [(rule, json.dumps(data)) for rule, data in old.items() if isinstance(data, dict)]
        self.db.executemany("INSERT INTO stories (rule, data) VALUES (?,?) ON CONFLICT DO NOTHING", rows)
        self.db.execute("DELETE FROM meta WHERE key='stories'")

    def _put_rules(self, fingerprints: Mapping[str, str]) -> None:
        """The rules in force and their fingerprints; an upsert, so that workers sharing the
        database may write the same set at once (delete-all-then-insert collided)."""
        known = self.db.execute("SELECT rule FROM rules").fetchall()
        gone = [(r,) for (r,) in known if r not in fingerprints]
        self.db.executemany("DELETE FROM rules WHERE rule=?", gone)
        self.db.executemany("INSERT INTO rules (rule, fingerprint) VALUES (?,?)"
                            " ON CONFLICT (rule) DO UPDATE SET fingerprint=excluded.fingerprint",
                            list(fingerprints.items()))

    def remember_rules(self, fingerprints: Mapping[str, str]) -> None:
        with self.db.transaction():
            self._put_rules(fingerprints)

    def evict_events(self, cutoffs: Mapping[str, float]) -> int:
        """Delete events older than each rule's cutoff (epoch seconds)."""
        gone = 0
        for rule, before in cutoffs.items():
            gone += self.db.execute("DELETE FROM events WHERE rule=? AND at<=?", (rule, before)).rowcount
        return gone

    def prune_outbox(self, sent_before: float) -> int:
        """Forget delivered alerts sent before ``sent_before`` (wall clock); parked ones stay."""
        return self.db.execute(
            "DELETE FROM outbox WHERE status='sent' AND sent_at < ?", (sent_before,)
        ).rowcount

    def outbox_pending(self) -> int:
        row = self.db.execute("SELECT COUNT(*) FROM outbox WHERE status IN ('pending','sending')")
        return int(row.fetchone()[0])

    def alert_counts(self, start: float, end: float) -> list[tuple[str, str, int]]:
        """(rule, kind, alerts) queued in ``[start, end)`` (wall time)."""
        rows = self.db.execute(
            "SELECT rule, kind, COUNT(*) FROM outbox WHERE created >= ? AND created < ?"
            " GROUP BY rule, kind ORDER BY rule, kind", (start, end),
        )
        return [(str(r), str(k), int(n)) for r, k, n in rows]

    def maintain(self, vacuum: bool) -> bool:
        """The backend's housekeeping (SQLite: truncate the WAL, VACUUM); False when deferred."""
        return self.db.maintain(vacuum)
