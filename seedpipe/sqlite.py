"""Opening the embedded SQLite stores (ledger, job store) the same way: WAL, busy timeout."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def open_store(path: Path, schema: str, *, synchronous: str = "NORMAL") -> sqlite3.Connection:
    """A connection shared by the threads of one process, in autocommit mode, schema applied.

    WAL with ``synchronous=NORMAL`` keeps every commit across a kill -9 of the process (not
    across a power cut); callers serialise access with their own lock.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA synchronous={synchronous}")
    db.execute("PRAGMA busy_timeout=10000")
    db.executescript(schema)
    return db
