"""The SQLite event log's schema, its connections (one thread each) and in-process wake-ups."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

from seedpipe.bus.source import RawRecord, TopicPartition
from seedpipe.errors import BusError
from seedpipe.settings import SqliteBusSettings
from seedpipe.sqlite import connect, transaction

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS topics(
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    partitions INTEGER NOT NULL,
    created REAL NOT NULL
);
-- seq is the offset: increasing per partition, not dense, never reused (AUTOINCREMENT).
CREATE TABLE IF NOT EXISTS events(
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    topic_id INTEGER NOT NULL,
    partition INTEGER NOT NULL,
    key BLOB,
    value BLOB NOT NULL,
    ts REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_partition ON events(topic_id, partition, seq);
-- committed: the last seq the group handled in that partition.
CREATE TABLE IF NOT EXISTS offsets(
    grp TEXT NOT NULL,
    topic_id INTEGER NOT NULL,
    partition INTEGER NOT NULL,
    committed INTEGER NOT NULL,
    PRIMARY KEY (grp, topic_id, partition)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS members(
    grp TEXT NOT NULL,
    member TEXT NOT NULL,
    topics TEXT NOT NULL,
    heartbeat REAL NOT NULL,
    PRIMARY KEY (grp, member)
) WITHOUT ROWID;
-- Which member may read a partition for a group: at most one, so order per key holds.
CREATE TABLE IF NOT EXISTS leases(
    grp TEXT NOT NULL,
    topic_id INTEGER NOT NULL,
    partition INTEGER NOT NULL,
    owner TEXT NOT NULL,
    expires REAL NOT NULL,
    PRIMARY KEY (grp, topic_id, partition)
) WITHOUT ROWID;
"""

_lock = threading.Lock()
_waiters: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}


def listen(path: str, loop: asyncio.AbstractEventLoop, event: asyncio.Event) -> None:
    with _lock:
        _waiters.setdefault(path, set()).add((loop, event))


def unlisten(path: str, loop: asyncio.AbstractEventLoop, event: asyncio.Event) -> None:
    with _lock:
        _waiters.get(path, set()).discard((loop, event))


def notify(path: str) -> None:
    """Wake this process's consumers of the log at ``path`` (other processes poll)."""
    with _lock:
        waiters = list(_waiters.get(path, ()))
    try:
        running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    for loop, event in waiters:
        if loop is running:
            event.set()
        elif not loop.is_closed():
            loop.call_soon_threadsafe(event.set)


class Connection:
    """One sqlite3 connection used from one worker thread, so calls never block the event loop."""

    def __init__(self, conn: sqlite3.Connection, executor: ThreadPoolExecutor) -> None:
        self.conn = conn
        self.executor = executor

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self.executor, fn, self.conn, *args)
        except sqlite3.Error as exc:
            raise BusError(f"event log: {exc}") from exc

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self.executor, self.conn.close)
        self.executor.shutdown(wait=True)


async def open_connection(path: str, settings: SqliteBusSettings) -> Connection:
    """Open (creating the file and schema when missing) a connection to the log at ``path``."""
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="seedpipe-bus")
    loop = asyncio.get_running_loop()
    try:
        conn = await loop.run_in_executor(
            executor, partial(connect, path, synchronous=settings.synchronous)
        )
        await loop.run_in_executor(executor, _create_schema, conn)
    except (sqlite3.Error, OSError) as exc:
        executor.shutdown(wait=False)
        raise BusError(f"cannot open the event log {path}: {exc}") from exc
    return Connection(conn, executor)


def _create_schema(conn: sqlite3.Connection) -> None:
    with transaction(conn):
        for statement in SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)


def ensure_topic(conn: sqlite3.Connection, topic: str, partitions: int) -> tuple[int, int]:
    """The id and partition count of ``topic``, creating it with ``partitions`` when new."""
    conn.execute(
        "INSERT OR IGNORE INTO topics(name, partitions, created) VALUES (?, ?, ?)",
        (topic, partitions, time.time()),
    )
    row = conn.execute("SELECT id, partitions FROM topics WHERE name = ?", (topic,)).fetchone()
    return int(row[0]), int(row[1])


def last_seq(conn: sqlite3.Connection, tid: int, p: int, empty: int = 0) -> int:
    row = conn.execute(
        "SELECT max(seq) FROM events WHERE topic_id = ? AND partition = ?", (tid, p)
    ).fetchone()
    return int(row[0]) if row[0] is not None else empty


def data_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA data_version").fetchone()[0])


def read_partitions(
    conn: sqlite3.Connection, wanted: list[tuple[str, int, int, int]], max_records: int
) -> tuple[list[RawRecord], dict[TopicPartition, int]]:
    records: list[RawRecord] = []
    lasts: dict[TopicPartition, int] = {}
    for topic, tid, p, after in wanted:
        left = max_records - len(records)
        if left <= 0:
            break
        rows = conn.execute(
            "SELECT seq, key, value, ts FROM events WHERE topic_id = ? AND partition = ?"
            " AND seq > ? ORDER BY seq LIMIT ?",
            (tid, p, after, left),
        ).fetchall()
        if rows:
            records.extend(RawRecord(topic, p, seq, key, value, ts) for seq, key, value, ts in rows)
            lasts[(topic, p)] = rows[-1][0]
    return records, lasts


PRUNE_BATCH = 5000


def prune(conn: sqlite3.Connection, cutoff: float) -> int:
    """Delete events appended before ``cutoff`` (epoch seconds), oldest first, in short
    transactions so publishers wait at most one batch. Offsets need no change: consumers read
    ``seq > committed``, and a group starting from the beginning starts at the oldest kept."""
    deleted = 0
    while True:
        oldest = conn.execute("SELECT ts FROM events ORDER BY seq LIMIT 1").fetchone()
        if oldest is None or oldest[0] >= cutoff:
            return deleted
        with transaction(conn):
            n = conn.execute(
                "DELETE FROM events WHERE seq IN (SELECT seq FROM events ORDER BY seq LIMIT ?)"
                " AND ts < ?",
                (PRUNE_BATCH, cutoff),
            ).rowcount
        deleted += n
        if n < PRUNE_BATCH:  # the rest is newer (or out of order by a clock step): done
            return deleted
