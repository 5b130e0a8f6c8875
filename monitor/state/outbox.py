"""The outbox table seen from the sender: claim in order per channel, record the outcome.

Several senders may share one PostgreSQL database: a sender claims the head alert of a
channel only while it holds that channel's advisory lock, and keeps the lock until it has
recorded the outcome. So no two senders ever post the same alert, each channel still goes
out in order, and a 'sending' row that a sender finds under its own lock is an attempt that
crashed (its connection, and with it the lock, went away).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from monitor.model import Alert
from monitor.state.db import Db, open_db

HEADS = """SELECT o.seq, o.payload, o.attempts, o.status, COALESCE(o.channel, '') FROM outbox o
           WHERE o.status IN ('pending', 'sending') AND o.next_at <= ?
             AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.status IN ('pending', 'sending')
                             AND COALESCE(p.channel, '') = COALESCE(o.channel, '') AND p.seq < o.seq)"""
MAX_HEADS = 64  # channels looked at per claim


@dataclass(frozen=True, slots=True)
class OutboxItem:
    seq: int
    alert: Alert
    attempts: int
    maybe_sent: bool  # a previous attempt was in flight when we lost track of it


def _item(row: tuple[object, ...]) -> OutboxItem:
    seq, payload, attempts, status = row[:4]
    return OutboxItem(int(str(seq)), Alert.model_validate_json(str(payload)), int(str(attempts)),
                      status == "sending")


class Outbox:
    """Alerts waiting for delivery; the head of each channel's queue goes first."""

    def __init__(self, where: Path | str | Db) -> None:
        self.db: Db = open_db(where) if isinstance(where, Path | str) else where
        self._held: str | None = None  # the channel lock of the claimed alert

    def close(self) -> None:
        self.db.close()

    def next_ready(self, now: float) -> OutboxItem | None:
        """The oldest alert whose channel has nothing older still waiting, due by ``now`` (a peek)."""
        row = self.db.execute(HEADS + " ORDER BY o.seq LIMIT 1", (now,)).fetchone()
        return None if row is None else _item(row)

    def claim(self, now: float) -> OutboxItem | None:
        """Take the oldest ready alert of a channel no other sender holds and mark it 'sending'.

        The claim lasts until :meth:`sent`, :meth:`retry` or :meth:`park`; None when every
        ready channel is held by another sender (or nothing is ready).
        """
        self._release()
        for row in self.db.execute(HEADS + f" ORDER BY o.seq LIMIT {MAX_HEADS}", (now,)).fetchall():
            lock = "outbox:" + str(row[4])
            if not self.db.try_lock(lock):
                continue
            # Under the lock, look again: another sender may have finished it meanwhile.
            fresh = self.db.execute(HEADS + " AND o.seq = ?", (now, row[0])).fetchone()
            if fresh is None:
                self.db.unlock(lock)
                continue
            self._held = lock
            self.begin(int(fresh[0]))
            return _item(fresh)
        return None

    def _release(self) -> None:
        if self._held is not None:
            self.db.unlock(self._held)
            self._held = None

    def next_due(self) -> float | None:
        row = self.db.execute(
            "SELECT MIN(next_at) FROM outbox WHERE status IN ('pending', 'sending')"
        ).fetchone()
        return None if row[0] is None else float(row[0])

    def begin(self, seq: int) -> None:
        self.db.execute(
            "UPDATE outbox SET status='sending', attempts=attempts+1 WHERE seq=?", (seq,)
        )

    def sent(self, seq: int, ref: str | None) -> None:
        self.db.execute(
            "UPDATE outbox SET status='sent', ts=?, sent_at=?, last_error=NULL WHERE seq=?",
            (ref, time.time(), seq),
        )
        self._release()

    def retry(self, seq: int, at: float, error: str, *, maybe_delivered: bool = False) -> None:
        """Try again at ``at``; back to 'pending' (no duplicate check) unless the alert may be out."""
        self.db.execute(
            "UPDATE outbox SET next_at=?, last_error=?, status=? WHERE seq=?",
            (at, error[:500], "sending" if maybe_delivered else "pending", seq),
        )
        self._release()

    def park(self, seq: int, error: str) -> None:
        self.db.execute(
            "UPDATE outbox SET status='parked', last_error=? WHERE seq=?", (error[:500], seq)
        )
        self._release()

    def waiting(self) -> int:
        row = self.db.execute("SELECT COUNT(*) FROM outbox WHERE status IN ('pending','sending')")
        return int(row.fetchone()[0])

    def counts(self) -> dict[str, int]:
        rows = self.db.execute("SELECT status, COUNT(*) FROM outbox GROUP BY status")
        return {str(s): int(n) for s, n in rows}

    def statuses(self) -> dict[str, tuple[str, str | None]]:
        """Alert key -> (status, last error)."""
        rows = self.db.execute("SELECT key, status, last_error FROM outbox")
        return {str(k): (str(s), None if e is None else str(e)) for k, s, e in rows}

    def requeue_parked(self) -> int:
        """Operators' lever after fixing a token or channel: try parked alerts again."""
        return self.db.execute(
            "UPDATE outbox SET status='pending', next_at=0 WHERE status='parked'"
        ).rowcount
