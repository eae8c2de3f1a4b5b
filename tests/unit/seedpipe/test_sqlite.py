"""The one SQLite helper: stores gain the columns an older seedpipe did not write."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

from seedpipe.sqlite import add_columns, open_store

SCHEMA = "CREATE TABLE IF NOT EXISTS things (id TEXT PRIMARY KEY);"


def test_an_old_store_gains_its_missing_columns_once(tmp_path: Path) -> None:
    db = open_store(tmp_path / "s.db", SCHEMA)
    db.execute("INSERT INTO things VALUES ('a')")
    added = {"priority": "INTEGER NOT NULL DEFAULT 0", "batch": "TEXT"}
    add_columns(db, "things", added)
    add_columns(db, "things", added)  # opened again: nothing to add
    assert tuple(db.execute("SELECT id, priority, batch FROM things").fetchone()) == ("a", 0, None)


def test_a_column_another_process_added_meanwhile_is_not_an_error(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    open_store(path, SCHEMA).close()
    other = sqlite3.connect(path, isolation_level=None)

    class Racing(sqlite3.Connection):
        """Another process adds the column between this one's look and its ALTER."""

        def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
            cursor = super().execute(sql, *args)
            if sql.startswith("PRAGMA table_info"):
                other.execute("ALTER TABLE things ADD COLUMN batch TEXT")
            return cursor

    db = sqlite3.connect(path, isolation_level=None, factory=Racing)
    add_columns(db, "things", {"batch": "TEXT", "priority": "INTEGER"})
    names = [r[1] for r in other.execute("PRAGMA table_info(things)")]
    assert names == ["id", "batch", "priority"]


def test_stores_opened_at_once_on_a_new_file_all_open(tmp_path: Path) -> None:
    """Two services starting on a fresh data directory open the same new store together: SQLite
    can refuse one's switch to WAL at once ("database is locked", no busy wait). 200 rounds of
    three openers failed 11-14 times before the switch was retried (the CI failure of 21ee4a7,
    test_batch_cancel: the capture service's recipes.db beside the batches CLI's)."""
    schema = SCHEMA + "CREATE INDEX IF NOT EXISTS things_id ON things (id);"
    errors: list[BaseException] = []
    for n in range(200):
        path = tmp_path / f"s{n}.db"
        start = threading.Barrier(3)

        def opener(path: Path = path, start: threading.Barrier = start) -> None:
            start.wait()
            try:
                open_store(path, schema).close()
            except sqlite3.Error as exc:
                errors.append(exc)

        threads = [threading.Thread(target=opener) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    mode = open_store(tmp_path / "s0.db", SCHEMA).execute("PRAGMA journal_mode").fetchone()
    assert tuple(mode) == ("wal",)
