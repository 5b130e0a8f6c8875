"""Where each story's Slack thread is remembered: the ``threads`` table of the state database."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from monitor.state.db import Db, open_db


@dataclass(frozen=True, slots=True)
class Thread:
    """A story's parent message."""

    channel_id: str
    ts: str


class ThreadStore:
    """Slack parent messages per (channel, rule, story), in the ``threads`` table of the state DB."""

    def __init__(self, where: Path | str | Db = ":memory:") -> None:
        self.db: Db = open_db(where) if isinstance(where, Path | str) else where

    @classmethod
    def at(cls, where: Path | str) -> ThreadStore:
        """The store of a state directory, a ``.sqlite`` file or a ``postgresql://`` URL."""
        return cls(where)

    def get(self, channel: str, rule: str, story: str) -> Thread | None:
        row = self.db.execute("SELECT channel_id, ts FROM threads WHERE channel=? AND rule=? AND story=?",
                              (channel, rule, story)).fetchone()
        return Thread(str(row[0]), str(row[1])) if row and row[0] else None

    def put(self, channel: str, rule: str, story: str, thread: Thread) -> None:
        self.db.execute(
            "INSERT INTO threads (channel, rule, story, ts, channel_id, updated) VALUES (?,?,?,?,?,?)"
            " ON CONFLICT (channel, rule, story) DO UPDATE SET ts=excluded.ts,"
            " channel_id=excluded.channel_id, updated=excluded.updated",
            (channel, rule, story, thread.ts, thread.channel_id, time.time()))

    def touch(self, channel: str, rule: str, story: str) -> None:
        self.db.execute("UPDATE threads SET updated=? WHERE channel=? AND rule=? AND story=?",
                        (time.time(), channel, rule, story))

    def forget(self, channel: str, rule: str, story: str) -> None:
        self.db.execute("DELETE FROM threads WHERE channel=? AND rule=? AND story=?",
                        (channel, rule, story))

    # --- parent edits waiting for a retry ------------------------------------------------
    def defer_edit(self, channel: str, alert_json: str, rule: str, story: str, at: float, error: str,
                   attempts: int = 1) -> None:
        """Keep the parent's latest state to write later (a newer alert replaces an older one)."""
        self.db.execute(
            "INSERT INTO parent_edits (channel, rule, story, payload, attempts, next_at, last_error)"
            " VALUES (?,?,?,?,?,?,?) ON CONFLICT (channel, rule, story) DO UPDATE SET"
            " payload=excluded.payload, attempts=excluded.attempts, next_at=excluded.next_at,"
            " last_error=excluded.last_error",
            (channel, rule, story, alert_json, attempts, at, error[:500]))

    def next_edit(self) -> tuple[str, str, int, float] | None:
        """(channel, alert JSON, attempts, due) of the edit due first."""
        row = self.db.execute("SELECT channel, payload, attempts, next_at FROM parent_edits"
                              " ORDER BY next_at LIMIT 1").fetchone()
        return (str(row[0]), str(row[1]), int(row[2]), float(row[3])) if row else None

    def edit_done(self, channel: str, rule: str, story: str) -> None:
        self.db.execute("DELETE FROM parent_edits WHERE channel=? AND rule=? AND story=?",
                        (channel, rule, story))

    def channel_id(self, channel: str) -> str | None:
        row = self.db.execute("SELECT channel_id FROM threads WHERE channel=? AND channel_id IS NOT NULL"
                              " LIMIT 1", (channel,)).fetchone()
        return str(row[0]) if row else None

    def close(self) -> None:
        self.db.close()
