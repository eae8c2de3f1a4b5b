"""Rows ordered by place: the SQLite index's CLUSTER (``seedpipe cluster``).

Rows get their ``rid`` in the order records arrive, so the matches of an area search sit on
pages all over ``files`` and ``docs``: each costs a random row of each (~5 µs of a bbox
search's ~9 µs a match at a million records). Clustering gives every record a new ``rid`` in
the packed R*Tree's leaf order (``packed.leaf_order``: tiles on place, each tile's leaves by
time), so a search's matches are neighbours and its row reads mostly sequential. Records
without a place come after, in their old order.

It rewrites ``files``, ``docs`` and ``tags`` under their new rids, packs the tree with the new
ids, rebuilds the trigram names and the indexes on ``files``, all in one transaction: a crash
leaves the index as it was, and searches (in WAL snapshots) never see it half done. Like
PostgreSQL's CLUSTER it is a one-time order: records written afterwards append at the end, and
running it again restores the order. Then the file is compacted (``VACUUM``), so it is no
bigger than before.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

import numpy as np

from indexer.backends.sqlite import bulk, packed
from indexer.backends.sqlite.rows import ID_SHIFT
from seedpipe.errors import CatalogError
from seedpipe.laps import Laps
from seedpipe.sqlite import transaction

log = logging.getLogger(__name__)

# The tables keyed by rid (the R*Tree and the trigram names are rebuilt from them).
TABLES = ("files", "docs", "tags")
STEPS = ("order", "files", "docs", "tags", "rtree", "indexes", "names", "commit", "compact")
_LOW = (1 << ID_SHIFT) - 1  # an R*Tree id's signature and part bits


def new_order(ids: np.ndarray, coords: np.ndarray, placeless: np.ndarray) -> np.ndarray:
    """The old rids in their new order: each record where its first box falls in the packed
    tree's leaf order (``ids`` are R*Tree ids, several for a many-part record), then the
    records with no box (``placeless``) as they were."""
    if len(ids) == 0:
        return placeless.astype(np.int64)
    rids = ids[packed.leaf_order(coords, packed.FILL)] >> ID_SHIFT
    _, first = np.unique(rids, return_index=True)
    return np.concatenate([rids[np.sort(first)], placeless]).astype(np.int64)


def cluster(
    con: sqlite3.Connection, path: Path, on_step: Callable[[str], None] | None = None
) -> dict[str, float]:
    """Renumber the index's rows in leaf order (see the module); returns the record count
    and each step's seconds. ``on_step`` is told each step's name (see STEPS) as it begins."""
    laps = Laps(on_step)
    laps.begin("order")
    with transaction(con):
        if bulk.active(con):
            raise CatalogError(
                f"sqlite index {path}: a bulk load is under way; cluster after it ends"
            )
        ids, coords = packed.read_boxes(con, "rt")
        placeless = np.fromiter(
            (r[0] for r in con.execute("SELECT rid FROM files WHERE nparts = 0 ORDER BY rid")),
            dtype=np.int64,
        )
        order = new_order(ids, coords, placeless)
        count = con.execute("SELECT count(*) FROM files").fetchone()[0]
        if len(order) != count:  # every row must get a new rid, or the copy would drop some
            raise CatalogError(
                f"sqlite index {path}: {len(order)} records in the R*Tree and without a place, "
                f"{count} rows: not clustered (`seedpipe reindex` rebuilds it)"
            )
        schema = dict(
            con.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name IN (?, ?, ?)",
                TABLES,
            ).fetchall()
        )
        indexes = [
            r[0]
            for r in con.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'files' "
                "AND sql IS NOT NULL"
            )
        ]
        con.execute("CREATE TEMP TABLE remap (new INTEGER PRIMARY KEY, old INTEGER NOT NULL)")
        try:
            con.executemany(
                "INSERT INTO temp.remap VALUES (?, ?)",
                zip(range(1, len(order) + 1), order.tolist(), strict=True),
            )
            laps.begin("files")
            _copy(con, "files", schema["files"], _columns(con, "files"))
            laps.begin("docs")
            _copy(con, "docs", schema["docs"], _columns(con, "docs"))
            laps.begin("tags")
            con.execute("CREATE INDEX temp.remap_old ON remap (old, new)")
            _create_as(con, "tags", schema["tags"])
            con.execute(
                "INSERT INTO tags_new SELECT t.tag, m.new FROM tags t "
                "JOIN temp.remap m ON m.old = t.rid ORDER BY 1, 2"
            )
            _replace(con, "tags")
        finally:
            con.execute("DROP TABLE IF EXISTS temp.remap")
        laps.begin("rtree")
        if len(ids):
            new_rid = np.zeros(int(order.max()) + 1, dtype=np.int64)
            new_rid[order] = np.arange(1, len(order) + 1, dtype=np.int64)
            new_ids = (new_rid[ids >> ID_SHIFT] << ID_SHIFT) | (ids & _LOW)
            packed.pack_rtree(con, "rt", new_ids, coords)
        laps.begin("indexes")
        for sql in indexes:  # dropped with the old table: the same statements again
            con.execute(sql)
        laps.begin("names")
        con.execute("INSERT INTO names (names) VALUES ('rebuild')")
        laps.begin("commit")
    # The old rows' pages are free now, the new ones past them: the file has grown by about
    # its largest table, and SQLite maps only its first 2 GiB (see layout.connect_index), so a
    # search reading past that goes through read() (a point query at a million records took
    # 0.21 ms there against 0.09 ms in a compact file). VACUUM writes it compact (its own
    # transaction: a crash inside leaves the clustered file as it was), and the checkpoint
    # returns the write-ahead log's space when no reader holds it.
    laps.begin("compact")
    con.execute("VACUUM")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    took = laps.end()
    log.info("index clustered", extra={"index": str(path), "records": len(order), **took})
    return {"records": float(len(order)), **took}


def _columns(con: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in con.execute(f"PRAGMA table_info({table})")]


def _create_as(con: sqlite3.Connection, table: str, sql: str) -> None:
    """``table``'s own CREATE statement for ``<table>_new`` (same columns, keys, UNIQUE). A
    renamed table's statement names it in quotes (what ALTER TABLE writes)."""
    head = re.match(rf'CREATE TABLE (?:{table}|"{table}")\s*\(', sql)
    if head is None:
        raise CatalogError(f"sqlite index: unexpected schema for {table}: {sql[:60]!r}")
    con.execute(f"CREATE TABLE {table}_new ({sql[head.end() :]}")


def _copy(con: sqlite3.Connection, table: str, sql: str, columns: list[str]) -> None:
    """``table`` (keyed by ``rid``, its first column) again, in the new rids' order."""
    assert columns[0] == "rid", columns
    _create_as(con, table, sql)
    rest = ", ".join(f"t.{c}" for c in columns[1:])
    con.execute(
        f"INSERT INTO {table}_new SELECT m.new, {rest} FROM temp.remap m "  # noqa: S608
        f"JOIN {table} t ON t.rid = m.old ORDER BY m.new"
    )
    _replace(con, table)


def _replace(con: sqlite3.Connection, table: str) -> None:
    # dropped before the next table is copied, so its pages are free for that copy
    con.execute(f"DROP TABLE {table}")
    con.execute(f"ALTER TABLE {table}_new RENAME TO {table}")
