"""The SQLite log's group bookkeeping, run in a connection's thread: members, leases, offsets."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from seedpipe.bus.source import TopicPartition
from seedpipe.bus.sqlite.store import last_seq
from seedpipe.sqlite import transaction


@dataclass
class Membership:
    """One member of ``group``: what it may read (leases) and how far the group got (offsets).

    Partition p of a topic goes to member p mod n among the live members subscribed to it,
    sorted by id. A member silent for ``timeout`` seconds is dropped and its leases freed.
    Commits are fenced: a member that lost a lease cannot move that partition's offset.
    """

    group: str
    member: str
    topics: list[str]
    ids: dict[str, tuple[int, int]]  # topic -> (id, partitions)
    timeout: float
    from_beginning: bool

    def leave(self, conn: sqlite3.Connection) -> None:
        with transaction(conn):
            conn.execute(
                "DELETE FROM members WHERE grp = ? AND member = ?", (self.group, self.member)
            )
            conn.execute(
                "DELETE FROM leases WHERE grp = ? AND owner = ?", (self.group, self.member)
            )

    def renew(self, conn: sqlite3.Connection, now: float) -> None:
        with transaction(conn):
            conn.execute(
                "UPDATE members SET heartbeat = ? WHERE grp = ? AND member = ?",
                (now, self.group, self.member),
            )
            conn.execute(
                "UPDATE leases SET expires = ? WHERE grp = ? AND owner = ?",
                (now + self.timeout, self.group, self.member),
            )

    def rebalance(
        self, conn: sqlite3.Connection, now: float, owned: set[TopicPartition]
    ) -> tuple[set[TopicPartition], set[TopicPartition], dict[TopicPartition, int]]:
        """Heartbeat, drop dead members, release what is no longer ours, claim our free share.

        Returns (our share, the owned partitions we keep, newly claimed ones -> start position).
        """
        timeout = self.timeout
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
                claimed[(topic, p)] = self.start_position(conn, tid, p)
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

    def start_position(self, conn: sqlite3.Connection, tid: int, p: int) -> int:
        row = conn.execute(
            "SELECT committed FROM offsets WHERE grp = ? AND topic_id = ? AND partition = ?",
            (self.group, tid, p),
        ).fetchone()
        if row is not None:
            return int(row[0])
        if self.from_beginning:
            return 0
        # A new group that starts at the end remembers where, so a restart does not skip ahead.
        end = last_seq(conn, tid, p)
        conn.execute(
            "INSERT INTO offsets(grp, topic_id, partition, committed) VALUES (?, ?, ?, ?)",
            (self.group, tid, p, end),
        )
        return end

    def commit(
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

    def caught_up(self, conn: sqlite3.Connection, target: dict[TopicPartition, int]) -> bool:
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
