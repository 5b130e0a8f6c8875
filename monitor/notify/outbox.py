"""The outbox table seen from the sender: claim in order per channel, record the outcome."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from monitor.model import Alert
from monitor.state.store import DB_NAME, connect


@dataclass(frozen=True, slots=True)
class OutboxItem:
    seq: int
    alert: Alert
    attempts: int
    maybe_sent: bool  # a previous attempt was in flight when we lost track of it


class Outbox:
    """Alerts waiting for delivery; the head of each channel's queue goes first."""

    def __init__(self, directory: Path | str) -> None:
        self.conn: sqlite3.Connection = connect(Path(directory) / DB_NAME)

    def close(self) -> None:
        self.conn.close()

    def next_ready(self, now: float) -> OutboxItem | None:
        """The oldest alert whose channel has nothing older still waiting, due by ``now``."""
        row = self.conn.execute(
            """SELECT o.seq, o.payload, o.attempts, o.status FROM outbox o
               WHERE o.status IN ('pending', 'sending') AND o.next_at <= ?
                 AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.status IN ('pending', 'sending')
                                 AND COALESCE(p.channel, '') = COALESCE(o.channel, '') AND p.seq < o.seq)
               ORDER BY o.seq LIMIT 1""",
            (now,),
        ).fetchone()
        if row is None:
            return None
        seq, payload, attempts, status = row
        return OutboxItem(int(seq), Alert.model_validate_json(payload), int(attempts), status == "sending")

    def next_due(self) -> float | None:
        row = self.conn.execute(
            "SELECT MIN(next_at) FROM outbox WHERE status IN ('pending', 'sending')"
        ).fetchone()
        return None if row[0] is None else float(row[0])

    def begin(self, seq: int) -> None:
        self.conn.execute(
            "UPDATE outbox SET status='sending', attempts=attempts+1 WHERE seq=?", (seq,)
        )

    def sent(self, seq: int, ref: str | None) -> None:
        self.conn.execute(
            "UPDATE outbox SET status='sent', ts=?, sent_at=?, last_error=NULL WHERE seq=?",
            (ref, time.time(), seq),
        )

    def retry(self, seq: int, at: float, error: str, *, maybe_delivered: bool = False) -> None:
        """Try again at ``at``; back to 'pending' (no duplicate check) unless the alert may be out."""
        self.conn.execute(
            "UPDATE outbox SET next_at=?, last_error=?, status=? WHERE seq=?",
            (at, error[:500], "sending" if maybe_delivered else "pending", seq),
        )

    def park(self, seq: int, error: str) -> None:
        self.conn.execute(
            "UPDATE outbox SET status='parked', last_error=? WHERE seq=?", (error[:500], seq)
        )

    def waiting(self) -> int:
        row = self.conn.execute("SELECT COUNT(*) FROM outbox WHERE status IN ('pending','sending')")
        return int(row.fetchone()[0])

    def counts(self) -> dict[str, int]:
        rows = self.conn.execute("SELECT status, COUNT(*) FROM outbox GROUP BY status")
        return {str(s): int(n) for s, n in rows}

    def requeue_parked(self) -> int:
        """Operators' lever after fixing a token or channel: try parked alerts again."""
        return self.conn.execute(
            "UPDATE outbox SET status='pending', next_at=0 WHERE status='parked'"
        ).rowcount
