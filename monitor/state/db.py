"""The two backends of the state store: a SQLite file (the default) or a PostgreSQL server.

Callers write one SQL dialect, the common part of both: ``?`` placeholders and
``INSERT ... ON CONFLICT``. A backend adds what differs: connecting, the schema, a
transaction, a lock that other processes see, and housekeeping.
"""

from __future__ import annotations

import logging
import sqlite3
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

DB_NAME = "state.sqlite"
POSTGRES_SCHEMES = ("postgresql://", "postgres://")
_SCHEMA_LOCK = 0x53544D30  # "STM0": one schema creation at a time across processes

log = logging.getLogger("monitor.state")


class Rows(Protocol):
    """What ``execute`` returns: a DB-API cursor."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def __iter__(self) -> Iterator[Any]: ...


class Db(Protocol):
    """One connection to the state database; open one per thread."""

    kind: str

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Rows: ...
    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...
    def transaction(self) -> Any: ...
    def write_transaction(self) -> Any: ...
    def try_lock(self, name: str) -> bool: ...
    def unlock(self, name: str) -> None: ...
    def maintain(self, vacuum: bool) -> bool: ...
    def close(self) -> None: ...


def is_postgres(where: Path | str) -> bool:
    return isinstance(where, str) and where.startswith(POSTGRES_SCHEMES)


def open_db(where: Path | str) -> Db:
    """``postgresql://...`` -> PostgreSQL; a ``.sqlite`` file, ``:memory:`` or a state directory -> SQLite."""
    if is_postgres(where):
        return PostgresDb(str(where))
    path = Path(where)
    if str(where) != ":memory:" and path.suffix != ".sqlite":
        path.mkdir(parents=True, exist_ok=True)
        path = path / DB_NAME
    return SqliteDb(path)


def _schema(name: str) -> str:
    return resources.files("monitor.state").joinpath(name).read_text()


def connect(path: Path | str) -> sqlite3.Connection:
    """A SQLite connection in WAL mode, autocommit unless a transaction is begun."""
    conn = sqlite3.connect(str(path), timeout=30.0, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")  # durable against process crashes; see README
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


class SqliteDb:
    """The SQLite file under ``state.dir``: one writer at a time, so a process needs no lock of its own."""

    kind = "sqlite"

    def __init__(self, path: Path | str) -> None:
        self.path = path
        self.conn = connect(path)
        self.conn.executescript(_schema("schema.sql"))

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        return self.conn.execute(sql, tuple(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self.conn.executemany(sql, [tuple(r) for r in rows])

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def write_transaction(self) -> Any:
        """A transaction of writes (one file, nothing to wait for: the same as ``transaction``)."""
        return self.transaction()

    def try_lock(self, name: str) -> bool:
        return True

    def unlock(self, name: str) -> None:
        return None

    def maintain(self, vacuum: bool) -> bool:
        """Truncate the WAL, VACUUM when asked; False when another connection was busy."""
        try:
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if vacuum:
                self.conn.execute("VACUUM")
        except sqlite3.OperationalError as exc:  # another connection busy: next time
            log.warning("maintenance_deferred", extra={"error": str(exc)})
            return False
        return True

    def close(self) -> None:
        self.conn.close()


class PostgresDb:
    """A PostgreSQL database shared by several processes (psycopg 3, autocommit between transactions).

    A call on a connection that broke (the server restarted, a proxy cut it) fails; the next
    call opens a new connection. Session locks die with the old connection.
    """

    kind = "postgres"

    def __init__(self, url: str) -> None:
        self.url = url
        self._sql: dict[str, str] = {}
        self.conn = self._connect()

    def _connect(self) -> Any:
        import psycopg

        conn = psycopg.connect(self.url, autocommit=True)
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            conn.execute(_schema("schema-postgres.sql").encode())
        return conn

    def _live(self) -> Any:
        if self.conn.broken:
            log.warning("postgres_reconnect", extra={"reason": "connection_broken"})
            self.conn = self._connect()
        return self.conn

    def _pg(self, sql: str) -> str:
        found = self._sql.get(sql)
        if found is None:
            found = self._sql[sql] = sql.replace("%", "%%").replace("?", "%s")
        return found

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        return self._live().execute(self._pg(sql), tuple(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        batch = [tuple(r) for r in rows]
        if batch:
            self._live().cursor().executemany(self._pg(sql), batch)

    def transaction(self) -> Any:
        return self._live().transaction()

    @contextmanager
    def write_transaction(self) -> Iterator[None]:
        """A transaction whose statements go out without waiting for each answer (pipeline mode):
        one round trip at its commit, and one more for each read inside it."""
        conn = self._live()
        with conn.pipeline(), conn.transaction():
            yield

    def try_lock(self, name: str) -> bool:
        """A session advisory lock: held until :meth:`unlock` or until this connection ends."""
        row = self._live().execute("SELECT pg_try_advisory_lock(%s)", (_key(name),)).fetchone()
        return bool(row and row[0])

    def unlock(self, name: str) -> None:
        if not self.conn.broken:  # a lock of a broken connection went with it
            self.conn.execute("SELECT pg_advisory_unlock(%s)", (_key(name),))

    def maintain(self, vacuum: bool) -> bool:
        """Nothing done here (False): the server's autovacuum looks after its tables."""
        return False

    def close(self) -> None:
        self.conn.close()


def _key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for a name (the same in every process)."""
    return zlib.crc32(name.encode("utf-8")) | (0x5354 << 32)
