"""Where each story's Slack thread is remembered: the ``threads`` table of the state DB."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from monitor.state.store import DB_NAME, connect

_ID = re.compile(r"^[CGD][A-Z0-9]{8,}$")


def is_channel_id(channel: str) -> bool:
    """Whether ``channel`` is a Slack channel id (``C0123ABCD``) rather than a name."""
    return bool(_ID.match(channel))


def channel_key(channel: str) -> str:
    """The thread-table name of a channel: ``desk``, ``#desk`` and ``#Desk`` are one; ids are kept."""
    bare = channel.strip().lstrip("#")
    return bare if is_channel_id(bare) else "#" + bare.lower()


@dataclass(frozen=True, slots=True)
class Thread:
    """A story's parent message."""

    channel_id: str
    ts: str


class ThreadStore:
    """Slack parent messages per (channel, rule, story), in the ``threads`` table of the state DB."""

    def __init__(self, path: Path | str = ":memory:") -> None:
        self.conn = connect(path)
        self.conn.executescript(resources.files("monitor.state").joinpath("schema.sql").read_text())

    @classmethod
    def at(cls, where: Path | str) -> ThreadStore:
        """The store of a state directory (or of a ``.sqlite`` file)."""
        path = Path(where)
        if path.suffix != ".sqlite":
            path.mkdir(parents=True, exist_ok=True)
            path = path / DB_NAME
        return cls(path)

    def get(self, channel: str, rule: str, story: str) -> Thread | None:
        row = self.conn.execute("SELECT channel_id, ts FROM threads WHERE channel=? AND rule=? AND story=?",
                                (channel, rule, story)).fetchone()
        return Thread(str(row[0]), str(row[1])) if row and row[0] else None

    def put(self, channel: str, rule: str, story: str, thread: Thread) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO threads (channel, rule, story, ts, channel_id, updated)"
            " VALUES (?,?,?,?,?,?)",
            (channel, rule, story, thread.ts, thread.channel_id, time.time()))

    def touch(self, channel: str, rule: str, story: str) -> None:
        self.conn.execute("UPDATE threads SET updated=? WHERE channel=? AND rule=? AND story=?",
                          (time.time(), channel, rule, story))

    def forget(self, channel: str, rule: str, story: str) -> None:
        self.conn.execute("DELETE FROM threads WHERE channel=? AND rule=? AND story=?",
                          (channel, rule, story))

    # --- parent edits waiting for a retry ------------------------------------------------
    def defer_edit(self, channel: str, alert_json: str, rule: str, story: str, at: float, error: str,
                   attempts: int = 1) -> None:
        """Keep the parent's latest state to write later (a newer alert replaces an older one)."""
        self.conn.execute(
            "INSERT OR REPLACE INTO parent_edits"
            " (channel, rule, story, payload, attempts, next_at, last_error) VALUES (?,?,?,?,?,?,?)",
            (channel, rule, story, alert_json, attempts, at, error[:500]))

    def next_edit(self) -> tuple[str, str, int, float] | None:
        """(channel, alert JSON, attempts, due) of the edit due first."""
        row = self.conn.execute("SELECT channel, payload, attempts, next_at FROM parent_edits"
                                " ORDER BY next_at LIMIT 1").fetchone()
        return (str(row[0]), str(row[1]), int(row[2]), float(row[3])) if row else None

    def edit_done(self, channel: str, rule: str, story: str) -> None:
        self.conn.execute("DELETE FROM parent_edits WHERE channel=? AND rule=? AND story=?",
                          (channel, rule, story))

    def channel_id(self, channel: str) -> str | None:
        row = self.conn.execute("SELECT channel_id FROM threads WHERE channel=? AND channel_id IS NOT NULL"
                                " LIMIT 1", (channel,)).fetchone()
        return str(row[0]) if row else None

    def close(self) -> None:
        self.conn.close()
