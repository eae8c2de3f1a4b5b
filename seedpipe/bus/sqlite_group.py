"""A consumer-group member on the SQLite log: partition leases, positions, commits, wake-ups."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
import uuid
from collections.abc import Mapping, Sequence

from seedpipe.bus.base import RawRecord, Source, TopicPartition
from seedpipe.bus.sqlite_store import (
    Connection,
    ensure_topic,
    listen,
    open_connection,
    transaction,
    unlisten,
)
from seedpipe.settings import SqliteBusSettings

log = logging.getLogger(__name__)

SETTLED_SYNC_S = 1.0  # how often a member looks for joiners/leavers once it has its share


class GroupMember(Source):
    """Holds leases on its share of the partitions (partition p of a topic goes to member
    p mod n among the live members subscribed to it, sorted by id) and reads them.

    Leases are renewed by a heartbeat; a member silent for ``session_timeout_s`` loses them.
    Commits are fenced: a member that lost a lease cannot move that partition's offset.
    """

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
                await db.run(self._leave)
            finally:
                await db.close()

    def _leave(self, conn: sqlite3.Connection) -> None:
        with transaction(conn):
            conn.execute(
                "DELETE FROM members WHERE grp = ? AND member = ?", (self.group, self.member)
            )
            conn.execute(
                "DELETE FROM leases WHERE grp = ? AND owner = ?", (self.group, self.member)
            )

    async def _beat(self) -> None:
        interval = min(1.0, self.settings.session_timeout_s / 4)
        while True:
            await asyncio.sleep(interval)
            try:
                await self._conn().run(self._renew, time.time())
            except (
                Exception
            ) as exc:  # a busy disk must not kill the consumer; the next beat retries
                log.warning("bus: heartbeat of %s failed: %s", self.group, exc)

    def _renew(self, conn: sqlite3.Connection, now: float) -> None:
        with transaction(conn):
            conn.execute(
                "UPDATE members SET heartbeat = ? WHERE grp = ? AND member = ?",
                (now, self.group, self.member),
            )
            conn.execute(
                "UPDATE leases SET expires = ? WHERE grp = ? AND owner = ?",
                (now + self.settings.session_timeout_s, self.group, self.member),
            )

    # -- rebalancing --------------------------------------------------------------------------

    def _conn(self) -> Connection:
        if self.db is None:
            raise RuntimeError("group member is closed")
        return self.db

    async def _sync(self) -> None:
        """Release what is no longer ours and claim our share (only between batches)."""
        desired, kept, claimed = await self._conn().run(
            self._sync_sql, time.time(), set(self.owned)
        )
        before = set(self.owned)
        self.owned = {tp: pos for tp, pos in self.owned.items() if tp in kept}
        self.owned.update(claimed)
        if set(self.owned) != before:
            log.debug("bus: %s member %s now reads %s", self.group, self.member[:8], self.owned)
        settled = set(self.owned) == desired
        wait = SETTLED_SYNC_S if settled else max(self.settings.poll_interval_s, 0.1)
        self.next_sync = time.monotonic() + wait

    def _sync_sql(
        self, conn: sqlite3.Connection, now: float, owned: set[TopicPartition]
    ) -> tuple[set[TopicPartition], set[TopicPartition], dict[TopicPartition, int]]:
        timeout = self.settings.session_timeout_s
        g, me = self.group, self.member
        with transaction(conn):
            conn.execute(
                "INSERT INTO members(grp, member, topics, heartbeat) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(grp, member) DO UPDATE SET heartbeat = excluded.heartbeat",
                (g, me, "\n".join(self.topics), now),
            )
            dead = [
                r[0]
                for r in conn.execute(
                    "SELECT member FROM members WHERE grp = ? AND heartbeat < ?", (g, now - timeout)
                )
            ]
            for member in dead:
                conn.execute("DELETE FROM members WHERE grp = ? AND member = ?", (g, member))
                conn.execute("DELETE FROM leases WHERE grp = ? AND owner = ?", (g, member))
            members = conn.execute(
                "SELECT member, topics FROM members WHERE grp = ? ORDER BY member", (g,)
            ).fetchall()
            desired: set[TopicPartition] = set()
            for topic in self.topics:
                subs = [m for m, topics in members if topic in topics.split("\n")]
                mine = subs.index(me)
                partitions = self.ids[topic][1]
                desired |= {(topic, p) for p in range(partitions) if p % len(subs) == mine}
            for topic, p in owned - desired:
                conn.execute(
                    "DELETE FROM leases WHERE grp = ? AND topic_id = ? AND partition = ?"
                    " AND owner = ?",
                    (g, self.ids[topic][0], p, me),
                )
            conn.execute(
                "UPDATE leases SET expires = ? WHERE grp = ? AND owner = ?", (now + timeout, g, me)
            )
            claimed: dict[TopicPartition, int] = {}
            for topic, p in desired - owned:
                tid = self.ids[topic][0]
                row = conn.execute(
                    "SELECT owner, expires FROM leases WHERE grp = ? AND topic_id = ?"
                    " AND partition = ?",
                    (g, tid, p),
                ).fetchone()
                if row is not None and row[0] != me and row[1] >= now:
                    continue  # still someone else's: they release it on their next sync
                conn.execute(
                    "INSERT OR REPLACE INTO leases(grp, topic_id, partition, owner, expires)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (g, tid, p, me, now + timeout),
                )
                claimed[(topic, p)] = self._start_position(conn, tid, p)
            kept = {
                (topic, p)
                for topic, p in owned & desired
                if conn.execute(
                    "SELECT 1 FROM leases WHERE grp = ? AND topic_id = ? AND partition = ?"
                    " AND owner = ?",
                    (g, self.ids[topic][0], p, me),
                ).fetchone()
            }
        return desired, kept, claimed

    def _start_position(self, conn: sqlite3.Connection, tid: int, p: int) -> int:
        row = conn.execute(
            "SELECT committed FROM offsets WHERE grp = ? AND topic_id = ? AND partition = ?",
            (self.group, tid, p),
        ).fetchone()
        if row is not None:
            return int(row[0])
        if self.from_beginning:
            return 0
        # A new group that starts at the end remembers where, so a restart does not skip ahead.
        end = _last_seq(conn, tid, p)
        conn.execute(
            "INSERT INTO offsets(grp, topic_id, partition, committed) VALUES (?, ?, ?, ?)",
            (self.group, tid, p, end),
        )
        return end

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
            version = await self._conn().run(_data_version)
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
        records, lasts = await self._conn().run(_read_sql, wanted, max_records)
        for tp, last in lasts.items():
            if tp in self.owned:
                self.owned[tp] = last
        return records

    def owns(self, tp: TopicPartition) -> bool:
        return tp in self.owned

    # -- progress -----------------------------------------------------------------------------

    async def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        lost = await self._conn().run(self._commit_sql, dict(offsets))
        for tp in lost:
            log.warning("bus: %s lost %s[%d] to another member; not committing", self.group, *tp)
            self.owned.pop(tp, None)

    def _commit_sql(
        self, conn: sqlite3.Connection, offsets: dict[TopicPartition, int]
    ) -> list[TopicPartition]:
        lost = []
        with transaction(conn):
            for (topic, p), seq in offsets.items():
                tid = self.ids[topic][0]
                owner = conn.execute(
                    "SELECT owner FROM leases WHERE grp = ? AND topic_id = ? AND partition = ?",
                    (self.group, tid, p),
                ).fetchone()
                if owner is None or owner[0] != self.member:
                    lost.append((topic, p))
                    continue
                conn.execute(
                    "INSERT INTO offsets(grp, topic_id, partition, committed) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT(grp, topic_id, partition)"
                    " DO UPDATE SET committed = excluded.committed",
                    (self.group, tid, p, seq),
                )
        return lost

    async def end_offsets(self) -> dict[TopicPartition, int]:
        return await self._conn().run(self._ends_sql)

    def _ends_sql(self, conn: sqlite3.Connection) -> dict[TopicPartition, int]:
        return {
            (topic, p): _last_seq(conn, tid, p, empty=-1)
            for topic, (tid, n) in self.ids.items()
            for p in range(n)
        }

    async def caught_up(self, target: Mapping[TopicPartition, int]) -> bool:
        return await self._conn().run(self._caught_up_sql, dict(target))

    def _caught_up_sql(self, conn: sqlite3.Connection, target: dict[TopicPartition, int]) -> bool:
        for (topic, p), last in target.items():
            if last < 0:
                continue
            row = conn.execute(
                "SELECT committed FROM offsets WHERE grp = ? AND topic_id = ? AND partition = ?",
                (self.group, self.ids[topic][0], p),
            ).fetchone()
            if row is None:
                if self.from_beginning:
                    return False
            elif row[0] < last:
                return False
        return True


def _last_seq(conn: sqlite3.Connection, tid: int, p: int, empty: int = 0) -> int:
    row = conn.execute(
        "SELECT max(seq) FROM events WHERE topic_id = ? AND partition = ?", (tid, p)
    ).fetchone()
    return int(row[0]) if row[0] is not None else empty


def _data_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA data_version").fetchone()[0])


def _read_sql(
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


async def _first(a: asyncio.Event, b: asyncio.Event, wait_s: float) -> None:
    waits = [asyncio.ensure_future(a.wait()), asyncio.ensure_future(b.wait())]
    try:
        await asyncio.wait(waits, timeout=wait_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()
