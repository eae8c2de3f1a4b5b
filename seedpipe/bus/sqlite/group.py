"""A consumer-group member on the SQLite log: partition leases, positions, commits, wake-ups."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
import uuid
from collections.abc import Mapping, Sequence

from seedpipe.bus.source import RawRecord, Source, TopicPartition
from seedpipe.bus.sqlite.leases import Membership
from seedpipe.bus.sqlite.store import (
    Connection,
    data_version,
    ensure_topic,
    last_seq,
    listen,
    open_connection,
    read_partitions,
    unlisten,
)
from seedpipe.settings import SqliteBusSettings
from seedpipe.sqlite import transaction

log = logging.getLogger(__name__)

SETTLED_SYNC_S = 1.0  # how often a member looks for joiners/leavers once it has its share


class GroupMember(Source):
    """Reads its share of the partitions (see ``Membership``), keeping its leases alive with a
    heartbeat and waking on in-process publishes or, across processes, on a cheap poll."""

    def __init__(
        self,
        path: str,
        settings: SqliteBusSettings,
        topics: Sequence[str],
        group: str,
        from_beginning: bool,
    ) -> None:
        super().__init__()
        self.path = path
        self.settings = settings
        self.topics = list(dict.fromkeys(topics))
        self.group = group
        self.from_beginning = from_beginning
        self.member = uuid.uuid4().hex
        self.db: Connection | None = None
        self.ids: dict[str, tuple[int, int]] = {}
        self.owned: dict[TopicPartition, int] = {}  # partition -> last seq fetched
        self.next_sync = 0.0
        self.wake = asyncio.Event()
        self.data_version = -1
        self.rotation = 0
        self._heartbeat: asyncio.Task[None] | None = None
        self._ahead: asyncio.Future[list[RawRecord]] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- joining and leaving ------------------------------------------------------------------

    async def join(self) -> None:
        self.db = await open_connection(self.path, self.settings)
        self.ids = await self.db.run(self._ensure_topics)
        self.book = Membership(
            self.group,
            self.member,
            self.topics,
            self.ids,
            self.settings.session_timeout_s,
            self.from_beginning,
        )
        self._loop = asyncio.get_running_loop()
        listen(self.path, self._loop, self.wake)
        await self._sync()
        self._heartbeat = asyncio.create_task(self._beat())

    def _ensure_topics(self, conn: sqlite3.Connection) -> dict[str, tuple[int, int]]:
        with transaction(conn):
            return {t: ensure_topic(conn, t, self.settings.partitions) for t in self.topics}

    async def close(self) -> None:
        if self._ahead is not None:
            await asyncio.gather(self._ahead, return_exceptions=True)
            self._ahead = None
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
        if self._loop is not None:
            unlisten(self.path, self._loop, self.wake)
        if self.db is not None:
            db, self.db = self.db, None
            try:
                await db.run(self.book.leave)
            finally:
                await db.close()

    async def _beat(self) -> None:
        interval = min(1.0, self.settings.session_timeout_s / 4)
        while True:
            await asyncio.sleep(interval)
            try:
                await self._conn().run(self.book.renew, time.time())
            except Exception as exc:  # a busy disk must not stop the consumer: beat again
                log.warning("bus: heartbeat of %s failed: %s", self.group, exc)

    # -- rebalancing --------------------------------------------------------------------------

    def _conn(self) -> Connection:
        if self.db is None:
            raise RuntimeError("group member is closed")
        return self.db

    async def _sync(self) -> None:
        """Release what is no longer ours and claim our share (only between batches)."""
        desired, kept, claimed = await self._conn().run(
            self.book.rebalance, time.time(), set(self.owned)
        )
        before = set(self.owned)
        self.owned = {tp: pos for tp, pos in self.owned.items() if tp in kept}
        self.owned.update(claimed)
        if set(self.owned) != before:
            log.debug("bus: %s member %s now reads %s", self.group, self.member[:8], self.owned)
        settled = set(self.owned) == desired
        wait = SETTLED_SYNC_S if settled else max(self.settings.poll_interval_s, 0.1)
        self.next_sync = time.monotonic() + wait

    # -- reading ------------------------------------------------------------------------------

    async def fetch(self, max_records: int, stop: asyncio.Event) -> list[RawRecord]:
        if self._ahead is not None:
            ahead, self._ahead = self._ahead, None
            records = await ahead
            if records:
                self._read_ahead(records, max_records)
                return records
        if time.monotonic() >= self.next_sync:
            await self._sync()
        self.wake.clear()
        records = await self._read(max_records)
        if records or stop.is_set():
            self._read_ahead(records, max_records)
            return records
        await _first(self.wake, stop, self.settings.poll_interval_s)
        if stop.is_set():
            return []
        if not self.wake.is_set():
            version = await self._conn().run(data_version)
            if version == self.data_version:
                return []
            self.data_version = version
        return await self._read(max_records)

    def _read_ahead(self, records: list[RawRecord], max_records: int) -> None:
        """After a full batch, read the next one while this one is handled (not across a sync)."""
        if len(records) >= max_records and time.monotonic() < self.next_sync:
            self._ahead = asyncio.ensure_future(self._read(max_records))

    async def _read(self, max_records: int) -> list[RawRecord]:
        if not self.owned:
            return []
        order = sorted(self.owned)
        # Start at a different partition each time so a busy one does not starve the others.
        self.rotation = (self.rotation + 1) % len(order)
        order = order[self.rotation :] + order[: self.rotation]
        wanted = [(t, self.ids[t][0], p, self.owned[(t, p)]) for t, p in order]
        records, lasts = await self._conn().run(read_partitions, wanted, max_records)
        for tp, last in lasts.items():
            if tp in self.owned:
                self.owned[tp] = last
        return records

    def owns(self, tp: TopicPartition) -> bool:
        return tp in self.owned

    # -- progress -----------------------------------------------------------------------------

    async def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        lost = await self._conn().run(self.book.commit, dict(offsets))
        for tp in lost:
            log.warning("bus: %s lost %s[%d] to another member; not committing", self.group, *tp)
            self.owned.pop(tp, None)

    async def end_offsets(self) -> dict[TopicPartition, int]:
        return await self._conn().run(self._ends_sql)

    async def known_ends(self) -> dict[TopicPartition, int] | None:
        return await self.end_offsets()  # one query of the local log

    def _ends_sql(self, conn: sqlite3.Connection) -> dict[TopicPartition, int]:
        return {
            (topic, p): last_seq(conn, tid, p, empty=-1)
            for topic, (tid, n) in self.ids.items()
            for p in range(n)
        }

    async def caught_up(self, target: Mapping[TopicPartition, int]) -> bool:
        return await self._conn().run(self.book.caught_up, dict(target))


async def _first(a: asyncio.Event, b: asyncio.Event, wait_s: float) -> None:
    waits = [asyncio.ensure_future(a.wait()), asyncio.ensure_future(b.wait())]
    try:
        await asyncio.wait(waits, timeout=wait_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()
