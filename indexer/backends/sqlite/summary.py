"""A collection's summary from the SQLite index: one pass over its rows, bounded distincts."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from indexer.backends.base import CollectionSummary
from indexer.backends.sqlite.bulk import PENDING
from indexer.backends.sqlite.query import DATA_TYPE
from indexer.backends.sqlite.rows import ID_SHIFT
from seedpipe.query.values import EPOCH, MICROSECOND

MAX_VALUES = 100  # distinct values listed per summary field


def _time(us: int | None) -> datetime | None:
    return None if us is None else EPOCH + us * MICROSECOND


def sqlite_summary(con: sqlite3.Connection, workspace: str) -> CollectionSummary:
    """One pass over the workspace's rows, then the distinct values (each bounded)."""
    live = "f.workspace = ? AND f.deleted = 0 AND f.superseded = 0"
    row = con.execute(
        "SELECT count(*), min(coalesce(d0, created)), max(coalesce(d1, created)) "  # noqa: S608
        f"FROM files f WHERE {live}",
        (workspace,),
    ).fetchone()
    count = int(row[0])
    # every part of every place has its box in the R*Tree; its id holds the record's rid
    box = con.execute(
        "SELECT min(x0), min(y0), max(x1), max(y1) FROM (SELECT id, x0, y0, x1, y1 FROM rt "  # noqa: S608
        f"UNION ALL SELECT id, x0, y0, x1, y1 FROM {PENDING}) "
        f"WHERE (id >> {ID_SHIFT}) IN (SELECT f.rid FROM files f WHERE {live})",
        (workspace,),
    ).fetchone()
    bbox = None if box[0] is None else (float(box[0]), float(box[1]), float(box[2]), float(box[3]))

    def distinct(column: str) -> list[str]:
        sql = (
            f"SELECT DISTINCT f.{column} FROM files f WHERE {live} "  # noqa: S608
            f"AND f.{column} IS NOT NULL ORDER BY 1 LIMIT {MAX_VALUES}"
        )
        return [str(r[0]) for r in con.execute(sql, (workspace,))]

    tags = con.execute(
        "SELECT DISTINCT t.tag FROM tags t JOIN files f ON f.rid = t.rid "  # noqa: S608
        f"WHERE t.tag >= ? AND t.tag < ? AND {live} ORDER BY 1 LIMIT {MAX_VALUES}",
        (DATA_TYPE, DATA_TYPE[:-1] + chr(ord(DATA_TYPE[-1]) + 1), workspace),
    ).fetchall()
    return CollectionSummary(
        count=count,
        bbox=bbox,
        start=_time(row[1]),
        end=_time(row[2]),
        media_types=distinct("media_type"),
        file_types=distinct("file_type"),
        data_types=[str(t[0])[len(DATA_TYPE) :] for t in tags],
    )
