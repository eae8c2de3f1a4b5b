"""The one SQLite helper: stores gain the columns an older seedpipe did not write."""

from __future__ import annotations

import sqlite3
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
