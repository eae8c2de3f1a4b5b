"""Bulk loads into the SQLite index: rows now, the derived structures once at the end.

A reindex, a replay after a layout change or a scan of an archive writes many batches in a row.
During a bulk load each batch still commits its ``files``, ``docs`` and ``tags`` rows, but
 - the R*Tree boxes go to ``rt_pending``, a plain table (~2 µs a box, not ~12 µs into the tree),
   and at the end the whole tree is packed once from its boxes and the pending ones
   (``packed.pack_rtree``), or, when they are few beside the tree's, inserted into it;
 - in a whole load (ALL: a reindex, a replay), the trigram name index is rebuilt once at the
   end, not kept row by row, and the secondary indexes on ``files`` (BULK_INDEXES) are dropped
   and built again at the end. Both cost time in proportion to the whole index, so a live
   indexer catching up on a backlog defers only the boxes (BOXES).

A batch of many records is written by a child process beside the thread preparing its rows
(writer.py), in one transaction as any other.

Searches stay exact meanwhile, only slower: spatial probes also scan ``rt_pending``, a file-name
search scans names instead of using the trigram index, and sorts walk no secondary index.

The state row ``bulk`` marks a file in a bulk load, so every process that writes or searches it
behaves as above. Loaders hold a shared lock on ``<index>.bulk``; the last one to leave
finishes the load (one transaction: a crash inside it leaves the load as it was). An index
left in a bulk load by a loader that died is finished by the next process that opens it and
can take the lock exclusively (``recover``). Every batch committed before a crash is kept.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
from pathlib import Path

import numpy as np

from indexer.backends.sqlite import packed
from seedpipe.laps import Laps
from seedpipe.sqlite import transaction

log = logging.getLogger(__name__)

STATE = "bulk"
PENDING = "rt_pending"
# Indexes on files a bulk load builds once at the end rather than keeps row by row (id's
# UNIQUE stays: each batch looks its ids up).
BULK_INDEXES = {
    "files_created": "files (created)",
    "files_data_or_created": "files (coalesce(data_started, created))",
    # data time: (d0, d1) answers interval tests from the index alone; see state 'data_span'
    "files_d0_d1": "files (d0, d1)",
}
# Pending boxes in far fewer than this share of the tree's go into it one by one at the end.
REPACK_SHARE = 0.05


ALL = "all"  # boxes, names and secondary indexes deferred (a reindex, a replay)
BOXES = "boxes"  # only the boxes (a live indexer catching up on a backlog)


def mode(con: sqlite3.Connection) -> str | None:
    """What the file's bulk load defers (ALL or BOXES), or None outside one (read inside the
    caller's snapshot)."""
    row = con.execute("SELECT value FROM state WHERE key = ?", (STATE,)).fetchone()
    return None if row is None else BOXES if row[0] == BOXES else ALL


def active(con: sqlite3.Connection) -> bool:
    return mode(con) is not None


def lock_path(index: Path) -> str:
    return f"{index}.bulk"


class Loader:
    """One process's part in a bulk load of the index at ``path`` (see the module)."""

    def __init__(self, path: Path, *, whole: bool = True) -> None:
        self.path = path
        self.whole = whole  # defer names and indexes too (ALL), not only the boxes (BOXES)
        self._fd: int | None = None

    def begin(self, con: sqlite3.Connection) -> None:
        fd = os.open(lock_path(self.path), os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(fd, fcntl.LOCK_SH)  # waits while another process finishes a load
        self._fd = fd
        with transaction(con):
            if self.whole:  # ALL is the wider mode: it replaces BOXES, never the reverse
                con.execute("INSERT OR REPLACE INTO state VALUES (?, ?)", (STATE, ALL))
                for name in BULK_INDEXES:
                    con.execute(f"DROP INDEX IF EXISTS {name}")
            else:
                con.execute("INSERT OR IGNORE INTO state VALUES (?, ?)", (STATE, BOXES))
        log.info(
            "index bulk load begun",
            extra={"index": str(self.path), "defers": ALL if self.whole else BOXES},
        )

    def end(self, con: sqlite3.Connection) -> bool:
        """Leave the load; the last loader out finishes it (True when this one did)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False  # another loader is still writing: it finishes
            finish(con, self.path)
            return True
        finally:
            os.close(fd)


def recover(con: sqlite3.Connection, path: Path) -> bool:
    """Finish a bulk load whose loaders are all gone (True when there was one)."""
    if not active(con):
        return False
    fd = os.open(lock_path(path), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # a loader is alive
        log.warning("finishing a bulk load its loaders left", extra={"index": str(path)})
        finish(con, path)
        return True
    finally:
        os.close(fd)


def create_indexes(con: sqlite3.Connection) -> None:
    for name, on in BULK_INDEXES.items():
        con.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {on}")


def _pending(con: sqlite3.Connection) -> tuple[np.ndarray, np.ndarray]:
    """The pending boxes: ids and float32 bounds rounded outwards, read a chunk at a time (a
    million rows as Python tuples would hold ~250 MB at once)."""
    cur = con.execute(f"SELECT id, x0, x1, y0, y1, t0, t1 FROM {PENDING}")  # noqa: S608
    ids: list[np.ndarray] = []
    coords: list[np.ndarray] = []
    while chunk := cur.fetchmany(50_000):
        ids.append(np.fromiter((r[0] for r in chunk), dtype=np.int64, count=len(chunk)))
        bounds = np.array([r[1:] for r in chunk], dtype=np.float64)
        coords.append(packed.outward(bounds))
    if not ids:
        return np.empty(0, np.int64), np.empty((0, 6), np.float32)
    return np.concatenate(ids), np.concatenate(coords)


def finish(con: sqlite3.Connection, path: Path) -> None:
    """Build what the load deferred, in one transaction, and leave bulk mode.

    The end scans the whole index (the boxes, every row for the indexes and the names) through
    the page cache, not the memory map searches use: through the map, every page scanned would
    stay in the process's RSS (1.2 GB at 1M records once a writer process had loaded them, the
    cache cold), where the cache holds at most its 256 MiB."""
    mapped = con.execute("PRAGMA mmap_size").fetchone()[0]
    con.execute("PRAGMA mmap_size=0")
    try:
        _finish(con, path)
    finally:
        con.execute(f"PRAGMA mmap_size={int(mapped)}")


def _finish(con: sqlite3.Connection, path: Path) -> None:
    laps = Laps()
    with transaction(con):
        defers = mode(con)
        if defers is None:
            return
        pending = con.execute(f"SELECT count(*) FROM {PENDING}").fetchone()[0]  # noqa: S608
        stored = con.execute("SELECT count(*) FROM rt_rowid").fetchone()[0]
        if pending and pending < REPACK_SHARE * stored:
            laps.begin("rtree")
            con.execute(f"INSERT INTO rt SELECT * FROM {PENDING} ORDER BY id")  # noqa: S608
        elif pending:
            laps.begin("read")
            ids, coords = packed.read_boxes(con, "rt")
            new_ids, new = _pending(con)
            laps.begin("rtree")
            packed.pack_rtree(
                con, "rt", np.concatenate([ids, new_ids]), np.concatenate([coords, new])
            )
        con.execute(f"DELETE FROM {PENDING}")  # noqa: S608
        if defers == ALL:
            laps.begin("indexes")
            create_indexes(con)
            laps.begin("names")
            con.execute("INSERT INTO names (names) VALUES ('rebuild')")
        con.execute("DELETE FROM state WHERE key = ?", (STATE,))
        laps.begin("commit")
    log.info(
        "index bulk load finished",
        extra={"index": str(path), "defers": defers, "boxes": pending, "stored": stored,
               **laps.end()},
    )  # fmt: skip
