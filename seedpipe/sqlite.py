"""The one way seedpipe opens SQLite (bus log, ledger, job store, index): WAL, one busy policy."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

# How long a writer waits for another process's write lock before SQLite says "database is
# locked". One figure for every store: long enough for the index's largest bulk transaction.
BUSY_TIMEOUT_S = 30.0


def connect(
    path: Path | str, *, synchronous: str = "NORMAL", wal: bool = True
) -> sqlite3.Connection:
    """A connection in autocommit mode, usable from any thread (callers serialise access).

    WAL with ``synchronous=NORMAL`` keeps every commit across a kill -9 of the process (not
    across a power cut).
    """
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(
        path, check_same_thread=False, isolation_level=None, timeout=BUSY_TIMEOUT_S
    )
    db.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
    if wal:
        _to_wal(db)
    db.execute(f"PRAGMA synchronous={synchronous}")
    return db


def _to_wal(db: sqlite3.Connection) -> None:
    """Switch to WAL. While other connections switch the same new file (two services starting
    on a fresh data directory), SQLite can answer "database is locked" at once, without waiting
    on its busy handler (one of them must give way, or they would wait on each other): tried
    again, backing off, for as long as any other lock is waited for."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    pause = 0.002
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


def open_store(path: Path, schema: str, *, synchronous: str = "NORMAL") -> sqlite3.Connection:
    """A store's connection with rows as ``sqlite3.Row`` and its ``schema`` script applied."""
    db = connect(path, synchronous=synchronous)
    db.row_factory = sqlite3.Row
    db.executescript(schema)
    return db


def add_columns(db: sqlite3.Connection, table: str, columns: Mapping[str, str]) -> None:
    """Add the ``columns`` (name: declaration) a store written by an older seedpipe lacks.

    Two processes opening one old store at once may both try: the one that finds a column
    already added by the other carries on.
    """
    have = {r[1] for r in db.execute(f"PRAGMA table_info({table})").fetchall()}
    for name, decl in columns.items():
        if name in have:
            continue
        try:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {decl}")
        except sqlite3.OperationalError as exc:
            if "duplicate column name" not in str(exc):
                raise


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE … COMMIT: take the write lock up front so two writers never deadlock.

    Any exception rolls the transaction back and propagates.
    """
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    if db.in_transaction:  # the block may have ended it itself (a ROLLBACK on a stale write)
        db.execute("COMMIT")


class LockedStore:
    """One store's connection (WAL, rows as ``sqlite3.Row``) shared by a process's threads
    behind a lock: the ingest ledger and the job, revision, recipe and batch stores.
    ``table`` gains the ``added`` columns an older store lacks, and ``indexes`` (a script)
    runs after them."""

    def __init__(
        self,
        path: Path,
        schema: str,
        *,
        table: str = "",
        added: Mapping[str, str] | None = None,
        indexes: str = "",
    ) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db = open_store(self.path, schema)
        if added:
            add_columns(self._db, table, added)
        if indexes:
            self._db.executescript(indexes)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _exec(self, sql: str, args: tuple[object, ...] = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._db.execute(sql, args)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """``transaction`` on the store's connection, holding its lock throughout."""
        with self._lock, transaction(self._db) as db:
            yield db
