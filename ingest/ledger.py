"""The persisted ledger of ingests (Scale's statuses) with an outbox for exactly-once events."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from enum import StrEnum
from pathlib import Path
from typing import Any

from seedpipe.sqlite import LockedStore


class Status(StrEnum):
    TRANSFERRING = "TRANSFERRING"
    TRANSFERRED = "TRANSFERRED"
    DEFERRED = "DEFERRED"
    QUEUED = "QUEUED"
    INGESTING = "INGESTING"
    INGESTED = "INGESTED"
    ERRORED = "ERRORED"
    DUPLICATE = "DUPLICATE"


FINAL = frozenset({Status.DEFERRED, Status.INGESTED, Status.ERRORED, Status.DUPLICATE})

SCHEMA = """
CREATE TABLE IF NOT EXISTS ingests (
    id INTEGER PRIMARY KEY,
    strike TEXT NOT NULL,
    source TEXT NOT NULL,
    source_size INTEGER NOT NULL DEFAULT 0,
    source_mtime_ns INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    workspace TEXT,
    file_path TEXT,
    file_id TEXT,
    checksum TEXT,
    media_type TEXT,
    bytes INTEGER NOT NULL DEFAULT 0,
    data_types TEXT NOT NULL DEFAULT '[]',
    version INTEGER NOT NULL DEFAULT 1,
    mode TEXT,
    reason TEXT,
    transfer_started REAL,
    transfer_ended REAL,
    queued REAL,
    ingest_started REAL,
    ingest_ended REAL,
    published REAL
);
CREATE INDEX IF NOT EXISTS ingests_status ON ingests (status);
CREATE INDEX IF NOT EXISTS ingests_target ON ingests (workspace, file_path, status);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY,
    ingest_id INTEGER NOT NULL,
    topic TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event BLOB NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending'
);
CREATE INDEX IF NOT EXISTS outbox_state ON outbox (state, id);
"""


@dataclass(slots=True)
class Ingest:
    """One ingest attempt of one dropped file; times are Unix seconds."""

    strike: str
    source: str
    status: Status = Status.QUEUED
    source_size: int = 0
    source_mtime_ns: int = 0
    workspace: str | None = None
    file_path: str | None = None
    file_id: str | None = None
    checksum: str | None = None
    media_type: str | None = None
    bytes: int = 0
    data_types: list[str] = field(default_factory=list)
    version: int = 1
    mode: str | None = None
    reason: str | None = None
    transfer_started: float | None = None
    transfer_ended: float | None = None
    queued: float | None = None
    ingest_started: float | None = None
    ingest_ended: float | None = None
    published: float | None = None
    id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


_COLUMNS = [f.name for f in fields(Ingest) if f.name != "id"]
# Built once from the dataclass's own field names, never from input.
_INSERT = f"INSERT INTO ingests ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"  # noqa: S608
_UPDATE = f"UPDATE ingests SET {', '.join(c + ' = ?' for c in _COLUMNS)} WHERE id = ?"  # noqa: S608
_ACTIVE = (
    "SELECT * FROM ingests WHERE status IN ('QUEUED', 'INGESTING', 'TRANSFERRING', 'TRANSFERRED')"
)


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    id: int
    ingest_id: int
    topic: str
    event_id: str
    event: bytes


def _row(row: sqlite3.Row) -> Ingest:
    data = dict(row)
    data["status"] = Status(data["status"])
    data["data_types"] = json.loads(data["data_types"])
    return Ingest(**data)


class Ledger(LockedStore):
    """SQLite in WAL mode: a commit survives kill -9 of the process (not a power cut)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, SCHEMA)

    def add(self, ingests: Sequence[Ingest]) -> None:
        """Insert new ingests in one transaction; sets their ids."""
        with self._transaction() as db:
            for ing in ingests:
                ing.id = db.execute(_INSERT, self._values(ing)).lastrowid

    def update(
        self, ingests: Sequence[Ingest], events: Iterable[tuple[int, str, str, bytes]] = ()
    ) -> None:
        """Save ingests and queue events ``(ingest_id, topic, event_id, bytes)`` atomically."""
        with self._transaction() as db:
            for ing in ingests:
                db.execute(_UPDATE, [*self._values(ing), ing.id])
            db.executemany(
                "INSERT INTO outbox (ingest_id, topic, event_id, event) VALUES (?, ?, ?, ?)",
                list(events),
            )

    def remove(self, ids: Sequence[int]) -> None:
        with self._transaction() as db:
            db.executemany("DELETE FROM ingests WHERE id = ?", [(i,) for i in ids])

    @staticmethod
    def _values(ing: Ingest) -> list[Any]:
        values = [getattr(ing, c) for c in _COLUMNS]
        values[_COLUMNS.index("data_types")] = json.dumps(ing.data_types)
        values[_COLUMNS.index("status")] = str(ing.status)
        return values

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return list(self._db.execute(sql, args))

    def active(self, strike: str | None = None) -> list[Ingest]:
        """Ingests not yet final (a crash left them half done)."""
        sql = _ACTIVE
        args: list[Any] = []
        if strike is not None:
            sql += " AND strike = ?"
            args.append(strike)
        return [_row(r) for r in self._query(sql + " ORDER BY id", args)]

    def ingested_at(self, workspace: str, file_path: str) -> Ingest | None:
        """The newest INGESTED ingest that placed a file at ``workspace``/``file_path``."""
        rows = self._query(
            "SELECT * FROM ingests WHERE workspace = ? AND file_path = ? AND status = ? "
            "ORDER BY id DESC LIMIT 1",
            (workspace, file_path, str(Status.INGESTED)),
        )
        return _row(rows[0]) if rows else None

    def get(self, ingest_id: int) -> Ingest | None:
        rows = self._query("SELECT * FROM ingests WHERE id = ?", (ingest_id,))
        return _row(rows[0]) if rows else None

    def find(
        self,
        *,
        status: str | None = None,
        strike: str | None = None,
        limit: int = 100,
        newest_first: bool = True,
    ) -> list[Ingest]:
        where, args = [], []
        if status:
            where.append("status = ?")
            args.append(status)
        if strike:
            where.append("strike = ?")
            args.append(strike)
        sql = "SELECT * FROM ingests"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY id {'DESC' if newest_first else 'ASC'} LIMIT ?"
        return [_row(r) for r in self._query(sql, [*args, limit])]

    def counts(self) -> dict[str, int]:
        rows = self._query("SELECT status, count(*) AS n FROM ingests GROUP BY status")
        return {r["status"]: r["n"] for r in rows}

    # The outbox: pending -> inflight (publish attempted) -> sent.
    def outbox(self, state: str = "pending", limit: int = 1000) -> list[OutboxEvent]:
        rows = self._query(
            "SELECT id, ingest_id, topic, event_id, event FROM outbox WHERE state = ? "
            "ORDER BY id LIMIT ?",
            (state, limit),
        )
        return [
            OutboxEvent(r["id"], r["ingest_id"], r["topic"], r["event_id"], bytes(r["event"]))
            for r in rows
        ]

    def mark_inflight(self, events: Sequence[OutboxEvent]) -> None:
        """Record that publishing is about to be tried: only these can be on the bus unsent."""
        with self._transaction() as db:
            db.executemany(
                "UPDATE outbox SET state = 'inflight' WHERE id = ?", [(e.id,) for e in events]
            )

    def mark_pending(self, events: Sequence[OutboxEvent]) -> None:
        """Publishing failed for sure (the bus said so): try these again."""
        with self._transaction() as db:
            db.executemany(
                "UPDATE outbox SET state = 'pending' WHERE id = ?", [(e.id,) for e in events]
            )

    def mark_sent(self, events: Sequence[OutboxEvent], published: float) -> None:
        """Drop sent events from the outbox and stamp their ingests' publish time."""
        with self._transaction() as db:
            db.executemany("DELETE FROM outbox WHERE id = ?", [(e.id,) for e in events])
            db.executemany(
                "UPDATE ingests SET published = ? WHERE id = ?",
                [(published, e.ingest_id) for e in events],
            )
