"""The SQLite index's layout: its schema, the version check and moving an older file aside."""

from __future__ import annotations

import functools
import logging
import operator
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from indexer.backends.sqlite import bulk, names
from indexer.backends.sqlite.docs import FIELDS
from indexer.backends.sqlite.query import DATA_TYPE
from seedpipe.sqlite import connect

log = logging.getLogger(__name__)

# PRAGMA user_version. In 1, R*Tree ids carried no data-type signature; in 2, documents had no
# mask of the null fields they leave out (3 has, so search_json can serve them as they are); in
# 3, the R*Tree's time axis counted weeks (4: units of 50 weeks, see rows.TIME_UNIT_US).
SCHEMA_VERSION = 4
SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
  rid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, version INTEGER NOT NULL, meta TEXT NOT NULL,
  file_name TEXT NOT NULL, name_lc TEXT NOT NULL, file_size INTEGER NOT NULL,
  media_type TEXT, file_type TEXT, workspace TEXT, job_type TEXT, job_output TEXT,
  job TEXT, recipe TEXT, recipe_node TEXT, batch TEXT,
  sensor_class TEXT, sensor TEXT, collection TEXT, task TEXT,
  superseded INTEGER NOT NULL, deleted INTEGER NOT NULL,
  created INTEGER NOT NULL, modified INTEGER NOT NULL,
  data_started INTEGER, data_ended INTEGER, source_started INTEGER, source_ended INTEGER,
  d0 INTEGER, d1 INTEGER, s0 INTEGER, s1 INTEGER,
  nparts INTEGER NOT NULL, isbox INTEGER NOT NULL, x0 REAL, y0 REAL, x1 REAL, y1 REAL,
  geom BLOB, tagkeys TEXT NOT NULL
);
DROP INDEX IF EXISTS files_d0;
-- files' other indexes: bulk.BULK_INDEXES (a bulk load builds them at its end)
CREATE TABLE IF NOT EXISTS tags (tag TEXT NOT NULL, rid INTEGER NOT NULL,
  PRIMARY KEY (tag, rid)) WITHOUT ROWID;
CREATE VIRTUAL TABLE IF NOT EXISTS rt USING rtree (id, x0, x1, y0, y1, t0, t1);
-- a bulk load's boxes until it packs them into rt (see bulk.py); empty otherwise
CREATE TABLE IF NOT EXISTS rt_pending (id INTEGER PRIMARY KEY, x0 REAL, x1 REAL, y0 REAL,
  y1 REAL, t0 REAL, t1 REAL);
-- every data type ever written (never shrunk): which types the R*Tree's signature alone tells
-- apart (see spatial.tree_decides)
CREATE TABLE IF NOT EXISTS data_types (type TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tombstones (id TEXT PRIMARY KEY, version INTEGER NOT NULL)
  WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS subscriptions (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- whole records apart from the filter columns: candidate rows stay small, many to a page
-- nulls: which top-level fields the document leaves out as null (see sqlite_docs)
CREATE TABLE IF NOT EXISTS docs (rid INTEGER PRIMARY KEY, doc TEXT NOT NULL,
  nulls INTEGER NOT NULL);
"""
COLUMNS = (
    "rid, id, version, meta, file_name, name_lc, file_size, media_type, file_type, workspace, "
    "job_type, job_output, job, recipe, recipe_node, batch, sensor_class, sensor, collection, "
    "task, superseded, deleted, created, "
    "modified, data_started, data_ended, source_started, source_ended, d0, d1, s0, s1, nparts, "
    "isbox, x0, y0, x1, y1, geom, tagkeys"
)
_NAMES = COLUMNS.split(", ")
INSERT = f"INSERT INTO files ({COLUMNS}) VALUES ({', '.join('?' * len(_NAMES))})"  # noqa: S608
# The files columns a row may hold None in (those SCHEMA leaves nullable, rid apart).
NULLABLE = tuple(
    _NAMES.index(name)
    for name in (
        "media_type", "file_type", "workspace", "job_type", "job_output", "job", "recipe",
        "recipe_node", "batch", "sensor_class", "sensor", "collection", "task", "data_started",
        "data_ended", "source_started", "source_ended", "d0", "d1", "s0", "s1", "x0", "y0",
        "x1", "y1", "geom",
    )
)  # fmt: skip


@functools.lru_cache(maxsize=256)
def insert_binding(kinds: tuple[type, ...]) -> tuple[str, Callable[[Sequence[Any]], Any]]:
    """The INSERT for files rows whose NULLABLE columns hold values of ``kinds`` (NoneType for
    None), leaving out the columns they hold None in (those default to NULL), and the getter
    of the values it binds from such a row."""
    nulls = {i for i, kind in zip(NULLABLE, kinds, strict=True) if kind is type(None)}
    keep = [i for i in range(len(_NAMES)) if i not in nulls]
    sql = (
        f"INSERT INTO files ({', '.join(_NAMES[i] for i in keep)}) "  # noqa: S608
        f"VALUES ({', '.join('?' * len(keep))})"
    )
    return sql, operator.itemgetter(*keep)


def layout_of(con: sqlite3.Connection) -> int | None:
    """The layout version of the file (None when it holds no index yet)."""
    has_files = con.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'files'"
    ).fetchone()
    return (con.execute("PRAGMA user_version").fetchone()[0] or 1) if has_files else None


def same_fields(con: sqlite3.Connection) -> bool:
    """Whether the file's documents were written for this record model (see sqlite_docs)."""
    row = con.execute("SELECT value FROM state WHERE key = 'doc_fields'").fetchone()
    return row is not None and row[0] == FIELDS


def create_schema(con: sqlite3.Connection, *, replay: bool) -> None:
    had_names = con.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'names'"
    ).fetchone()
    had_types = con.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'data_types'"
    ).fetchone()
    con.executescript(SCHEMA + names.SCHEMA)
    if not had_names:  # a file made before the name index: index the names it holds
        con.execute("INSERT INTO names (names) VALUES ('rebuild')")
    if not had_types:  # a file made before the list of types: the types its rows hold
        con.execute(
            "INSERT OR IGNORE INTO data_types SELECT substr(tag, ?) FROM tags "
            "WHERE tag >= ? AND tag < ?",
            (len(DATA_TYPE) + 1, DATA_TYPE, DATA_TYPE[:-1] + chr(ord(DATA_TYPE[-1]) + 1)),
        )
    if bulk.mode(con) != bulk.ALL:  # a whole bulk load builds them when it ends
        bulk.create_indexes(con)
    # Each write below only when it changes something: a file in this layout opens without
    # the write lock, so a process opening it while another holds that lock for long (a
    # bulk load's end, a cluster) does not wait for it.
    if con.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
        con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    if replay:
        con.execute("INSERT OR REPLACE INTO state VALUES ('replay', '1')")
    if con.execute("SELECT 1 FROM state WHERE key = 'doc_fields'").fetchone() is None:
        con.execute("INSERT INTO state VALUES ('doc_fields', ?)", (FIELDS,))
    if con.execute("SELECT 1 FROM state WHERE key = 'data_span'").fetchone() is None:
        # the longest data interval indexed so far, kept as records are written (never shrunk)
        span = con.execute("SELECT coalesce(max(d1 - d0), 0) FROM files").fetchone()[0]
        con.execute("INSERT INTO state VALUES ('data_span', ?)", (str(span),))


def carry_subscriptions(con: sqlite3.Connection, old: Path) -> int:
    """Saved searches are not in the event log: copy them from the index kept aside."""
    con.execute("ATTACH DATABASE ? AS old", (str(old),))
    try:
        has = con.execute(
            "SELECT 1 FROM old.sqlite_master WHERE type = 'table' AND name = 'subscriptions'"
        ).fetchone()
        if not has:
            return 0
        return con.execute(
            "INSERT OR IGNORE INTO subscriptions SELECT id, doc FROM old.subscriptions"
        ).rowcount
    finally:
        con.execute("DETACH DATABASE old")


@contextmanager
def layout_lock(path: Path) -> Iterator[None]:
    """An exclusive lock on ``<index>.lock`` while the layout is checked (and upgraded)."""
    import fcntl

    with open(f"{path}.lock", "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def move_aside(path: Path, version: int) -> Path:
    """Keep an index of another layout next to the new one (with its WAL), never delete it."""
    aside = path.with_name(f"{path.name}.layout{version}-{int(time.time())}")
    for suffix in ("", "-wal", "-shm"):
        old = Path(f"{path}{suffix}")
        if old.exists():
            old.rename(f"{aside}{suffix}")
    return aside


def open_file(path: Path) -> sqlite3.Connection:
    """The index file at ``path``, in this layout: one of another layout is moved aside first.

    Two processes opening an index of an older layout at once must not both move files, so
    the check (and upgrade) hold ``layout_lock``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with layout_lock(path):
        con = connect_index(path)
        version = layout_of(con)
        replay = version is not None and (version != SCHEMA_VERSION or not same_fields(con))
        if replay:
            # Derived data in an older layout: keep the file aside, start an empty index, and
            # let the indexer replay the event log into it (see the index's needs_replay).
            con.close()
            aside = move_aside(path, version or 1)
            log.warning(
                "index layout changed: rebuilding from the event log",
                extra={"index": str(path), "old": str(aside), "layout": SCHEMA_VERSION},
            )
            con = connect_index(path)
        try:
            create_schema(con, replay=replay)
            if replay:
                kept = carry_subscriptions(con, aside)
                log.info("saved searches carried over", extra={"subscriptions": kept})
            bulk.recover(con, path)  # a bulk load its loaders left unfinished
        except BaseException:
            con.close()
            raise
        return con


def connect_index(path: Path) -> sqlite3.Connection:
    """A connection to the index file at ``path`` with the index's settings (no layout check:
    ``open_file`` does that)."""
    con = connect(path)
    # fewer, larger checkpoints: hot index pages are copied back once, not once per 4 MiB
    con.execute("PRAGMA wal_autocheckpoint=8192")
    con.execute("PRAGMA cache_size=-262144")  # 256 MiB: index pages stay hot in bulk loads
    # Reads map the file instead of copying each page a search misses in the cache through a
    # read() call: a bbox + time + type search over 200,000 records 6.2 -> 4.1 ms (an index
    # over a million records is ~1.4 GB, far past the cache). SQLite caps it at its build's
    # limit (2 GiB here); writes still go through write(), so crash safety is unchanged. The
    # pages read show in RSS as mapped file pages (page cache, reclaimable), not as heap.
    con.execute("PRAGMA mmap_size=2147483648")
    return con
