"""The SQLite batch store (``data_dir/batches.db``); a batch's jobs live in the job store."""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import asdict
from pathlib import Path

from capture.batches.model import Batch
from seedpipe.errors import JobError
from seedpipe.sqlite import LockedStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    id TEXT PRIMARY KEY,
    job_type TEXT NOT NULL,
    revision INTEGER NOT NULL,
    query TEXT,
    previous TEXT,
    saved_search TEXT,
    supersede INTEGER NOT NULL,
    priority INTEGER NOT NULL,
    status TEXT NOT NULL,
    cursor TEXT,
    created REAL NOT NULL,
    planned_at REAL,
    canceled_by TEXT,
    recipe_type TEXT
);
CREATE INDEX IF NOT EXISTS batches_status ON batches (status);
"""
# Columns added after the first release: a store written before them gains them on open.
ADDED_COLUMNS = {"recipe_type": "TEXT"}
COLUMNS = list(Batch.__dataclass_fields__)


def _row(row: sqlite3.Row) -> Batch:
    data = dict(row)
    # A recipe type's batch has neither (stored as "" and 0: the columns are NOT NULL).
    data["job_type"] = data["job_type"] or None
    data["revision"] = data["revision"] or None
    data["query"] = json.loads(data["query"]) if data["query"] else None
    data["supersede"] = bool(data["supersede"])
    return Batch(**data)


class BatchStore(LockedStore):
    """Batch records; safe to share between threads of one process."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, SCHEMA, table="batches", added=ADDED_COLUMNS)

    def create(self, batch: Batch) -> None:
        values = asdict(batch)
        values["query"] = json.dumps(batch.query) if batch.query is not None else None
        values["job_type"] = batch.job_type or ""
        values["revision"] = batch.revision or 0
        sql = (
            f"INSERT INTO batches ({', '.join(COLUMNS)}) "  # noqa: S608
            f"VALUES ({', '.join('?' for _ in COLUMNS)})"
        )
        self._exec(sql, tuple(values[c] for c in COLUMNS))

    def get(self, batch_id: str) -> Batch | None:
        row = self._exec("SELECT * FROM batches WHERE id = ?", (batch_id,)).fetchone()
        return _row(row) if row else None

    def require(self, batch_id: str) -> Batch:
        batch = self.get(batch_id)
        if batch is None:
            raise JobError(f"no batch with id {batch_id!r}")
        return batch

    def recent(self, limit: int = 100, offset: int = 0) -> list[Batch]:
        rows = self._exec(
            "SELECT * FROM batches ORDER BY created DESC, id LIMIT ? OFFSET ?", (limit, offset)
        ).fetchall()
        return [_row(r) for r in rows]

    def planning(self) -> list[str]:
        rows = self._exec("SELECT id FROM batches WHERE status = 'planning' ORDER BY created")
        return [r[0] for r in rows.fetchall()]

    def advance(self, batch_id: str, cursor: str | None) -> bool:
        """Record planning's position; False once the batch is no longer planning."""
        cur = self._exec(
            "UPDATE batches SET cursor = ? WHERE id = ? AND status = 'planning'",
            (cursor, batch_id),
        )
        return cur.rowcount == 1

    def planned(self, batch_id: str) -> None:
        self._exec(
            "UPDATE batches SET status = 'planned', planned_at = ? "
            "WHERE id = ? AND status = 'planning'",
            (time.time(), batch_id),
        )

    def cancel(self, batch_id: str, by: str) -> Batch:
        batch = self.require(batch_id)
        if batch.status == "canceled":
            raise JobError(f"batch {batch_id}: status is canceled already")
        self._exec(
            "UPDATE batches SET status = 'canceled', canceled_by = ? WHERE id = ?",
            (by, batch_id),
        )
        return self.require(batch_id)
