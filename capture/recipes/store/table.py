"""The recipe tables: their schema, the columns a store written by an older seedpipe gains on
open, and rows read back as recipes and nodes."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from capture.recipes.store.model import Recipe, RecipeNode
from seedpipe.sqlite import LockedStore

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


class RecipeTable(LockedStore):
    """The opened recipe store: one SQLite connection (WAL) behind a lock."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, SCHEMA, table="recipes", added=ADDED_COLUMNS, indexes=INDEXES)
