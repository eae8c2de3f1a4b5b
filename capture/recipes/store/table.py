"""The recipe tables: their schema, the columns a store written by an older seedpipe gains on
open, and rows read back as recipes and nodes."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from capture.recipes.store.model import Recipe, RecipeNode
from seedpipe.sqlite import add_columns, open_store

SCHEMA = """
CREATE TABLE IF NOT EXISTS recipes (
    id TEXT PRIMARY KEY,
    recipe_type TEXT NOT NULL,
    definition TEXT NOT NULL,
    inputs TEXT NOT NULL,
    files TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL,
    trigger TEXT,
    event_id TEXT,
    parent TEXT,
    parent_node TEXT,
    created REAL NOT NULL,
    ended REAL,
    error TEXT,
    batch TEXT,
    batch_file TEXT,
    supersede INTEGER NOT NULL DEFAULT 1,
    priority INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS recipes_status ON recipes (status, created);
CREATE INDEX IF NOT EXISTS recipes_type ON recipes (recipe_type, created);
CREATE TABLE IF NOT EXISTS recipe_nodes (
    recipe_id TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    job_id TEXT,
    sub_recipe TEXT,
    accepted INTEGER,
    outputs TEXT,
    reason TEXT,
    started REAL,
    ended REAL,
    PRIMARY KEY (recipe_id, name)
);
"""
# Columns added after the first release: a store written before them gains them on open.
ADDED_COLUMNS = {
    "batch": "TEXT",
    "batch_file": "TEXT",
    "supersede": "INTEGER NOT NULL DEFAULT 1",
    "priority": "INTEGER NOT NULL DEFAULT 0",
}
INDEXES = """
CREATE INDEX IF NOT EXISTS recipes_batch ON recipes (batch, status) WHERE batch IS NOT NULL;
"""


def recipe_row(row: sqlite3.Row) -> Recipe:
    d = dict(row)
    for key in ("definition", "inputs", "files"):
        d[key] = json.loads(d[key])
    d["error"] = json.loads(d["error"]) if d["error"] else None
    d["supersede"] = bool(d["supersede"])
    return Recipe(**d)


def node_row(row: sqlite3.Row) -> RecipeNode:
    d = dict(row)
    d["accepted"] = None if d["accepted"] is None else bool(d["accepted"])
    d["outputs"] = json.loads(d["outputs"]) if d["outputs"] else None
    return RecipeNode(**d)


class RecipeTable:
    """The opened recipe store: one SQLite connection (WAL) behind a lock."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db = open_store(self.path, SCHEMA)
        add_columns(self._db, "recipes", ADDED_COLUMNS)
        self._db.executescript(INDEXES)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _exec(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._db.execute(sql, args)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
