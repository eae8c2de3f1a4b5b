"""The embedded event bus: a durable, partitioned append-only log in one SQLite file (WAL)."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
import zlib
from collections.abc import Sequence

from seedpipe.bus.base import EventBus, Source
from seedpipe.bus.sqlite.group import GroupMember
from seedpipe.bus.sqlite.store import (
    Connection,
    ensure_topic,
    notify,
    open_connection,
    prune,
)
from seedpipe.errors import BusError
from seedpipe.settings import BusSettings, sqlite_path
from seedpipe.sqlite import transaction

log = logging.getLogger(__name__)


class SqliteBus(EventBus):
    """``sqlite:///path/events.db``: topics split in partitions by key hash, offsets per group.

    Concurrent publishes are group-committed: one transaction (one fsync) for all that are
    waiting, so many small publishers cost about as much as one batch.
    """

    def __init__(self, url: str, settings: BusSettings) -> None:
        super().__init__(url, settings)
        self.path = str(sqlite_path(url))
        self._db: Connection | None = None
        self._partitions: dict[str, tuple[int, int]] = {}
        self._queue: list[tuple[str, Sequence[tuple[bytes | None, bytes]], asyncio.Future[None]]]
        self._queue = []
        self._flusher: asyncio.Task[None] | None = None
        self._next_prune = 0.0

    async def start(self) -> None:
        if self._db is None:
            self._db = await open_connection(self.path, self.settings.sqlite)

    async def close(self) -> None:
        if self._flusher is not None:
            await asyncio.gather(self._flusher, return_exceptions=True)
            self._flusher = None
        if self._db is not None:
            db, self._db = self._db, None
            await db.close()

    def _conn(self) -> Connection:
        if self._db is None:
            raise BusError("the bus is not started: use 'async with open_bus(...)'")
        return self._db

    async def _publish_raw(
        self, topic: str, records: Sequence[tuple[bytes | None, bytes]], content_type: str
    ) -> None:
        # content_type is implied by the topic here: CloudEvents, or DeadLetter in *.dlq.
        db = self._conn()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((topic, records, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(db))
        await future

    async def _flush(self, db: Connection) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            try:
                await db.run(self._append, batch)
            except Exception as exc:
                error = exc if isinstance(exc, BusError) else BusError(f"publish failed: {exc}")
                for _, _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            notify(self.path)
            for _, _, future in batch:
                if not future.done():
                    future.set_result(None)
        await self._retain(db)

    async def _retain(self, db: Connection) -> None:
        """Apply ``retention_hours`` at most every tenth of it (and at most once a minute)."""
        hours = self.settings.sqlite.retention_hours
        now = time.time()
        if hours is None or now < self._next_prune:
            return
        self._next_prune = now + min(60.0, hours * 360.0)
        try:
            deleted = await db.run(prune, now - hours * 3600.0)
        except BusError as exc:  # retention is housekeeping: publishing goes on
            log.warning("event log retention failed", extra={"error": str(exc)})
            return
        if deleted:
            log.info("event log retention", extra={"deleted": deleted, "hours": hours})

    async def prune(self, older_than_s: float) -> int:
        """Delete events older than ``older_than_s`` seconds now; how many were deleted."""
        return await self._conn().run(prune, time.time() - older_than_s)

    def _append(
        self,
        conn: sqlite3.Connection,
        batch: list[tuple[str, Sequence[tuple[bytes | None, bytes]], asyncio.Future[None]]],
    ) -> None:
        now = time.time()
        rows: list[tuple[int, int, bytes | None, bytes, float]] = []
        with transaction(conn):
            for topic, records, _ in batch:
                topic_id, partitions = self._topic(conn, topic)
                rows.extend(
                    (topic_id, zlib.crc32(key or b"") % partitions, key, value, now)
                    for key, value in records
                )
            conn.executemany(
                "INSERT INTO events(topic_id, partition, key, value, ts) VALUES (?, ?, ?, ?, ?)",
                rows,
            )

    def _topic(self, conn: sqlite3.Connection, topic: str) -> tuple[int, int]:
        found = self._partitions.get(topic)
        if found is None:
            found = ensure_topic(conn, topic, self.settings.sqlite.partitions)
            self._partitions[topic] = found
        return found

    async def _open_source(
        self, topics: Sequence[str], group: str, *, from_beginning: bool
    ) -> Source:
        self._conn()
        member = GroupMember(self.path, self.settings.sqlite, topics, group, from_beginning)
        await member.join()
        return member
