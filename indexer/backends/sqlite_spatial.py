"""Spatial search over the SQLite index: R*Tree probes, tag prefilter, shapely refine."""

from __future__ import annotations

import sqlite3

import shapely

from indexer.backends.sqlite_query import compile_filters, tag_prefilter
from indexer.backends.sqlite_rows import ALWAYS, PARTS, WEEK_US
from indexer.query import Query

# S608 below: SQL text is joined only from constant fragments; every value is a bound parameter.
MAX_PROBES = 16  # R*Tree probes (and exact box tests) per query, so SQL stays small


def spatial_rids(con: sqlite3.Connection, q: Query) -> list[int]:
    """Records whose shape meets the query's: R*Tree prefilter, then exact tests."""
    geom = q.geometry()
    assert geom is not None
    where = compile_filters(q, spatial_drives=True)
    probes, params = [], []
    t = ""
    if q.datetime is not None and q.time_field == "data":
        lo, hi = q.datetime.start_us, q.datetime.end_us
        t = " AND t0 <= ? AND t1 >= ?"
        span = (ALWAYS if hi is None else hi / WEEK_US, -ALWAYS if lo is None else lo / WEEK_US)
    parts = list(getattr(geom, "geoms", [geom]))
    if len(parts) > MAX_PROBES:  # a many-part query probes its overall box instead
        parts = [geom]
    for part in parts:
        minx, miny, maxx, maxy = part.bounds
        probes.append(f"SELECT id / {PARTS} FROM rt WHERE x0 <= ? AND x1 >= ? AND y0 <= ? "  # noqa: S608
                      f"AND y1 >= ?{t}")  # fmt: skip
        params.extend([maxx, minx, maxy, miny, *(span if t else ())])
    boxes = q.boxes()
    if boxes is not None and len(boxes) <= MAX_PROBES:
        exact = " OR ".join("(f.x0 <= ? AND f.x1 >= ? AND f.y0 <= ? AND f.y1 >= ?)" for _ in boxes)
        box_params = [v for b in boxes for v in (b[2], b[0], b[3], b[1])]
        select = "f.rid, CASE WHEN f.isbox THEN NULL ELSE f.geom END"
        where.add(f"(f.isbox = 0 OR ({exact}))", *box_params)
    else:
        select = "f.rid, f.geom"
    candidates = " UNION ".join(probes)
    keys = tag_prefilter(q)
    if keys is not None:
        candidates = (f"SELECT rid FROM tags WHERE tag IN (SELECT value FROM json_each(?)) "  # noqa: S608
                      f"AND rid IN ({candidates})")  # fmt: skip
        params.insert(0, keys)
    sql = f"SELECT {select} FROM files f WHERE f.rid IN ({candidates}) AND {where.sql()}"  # noqa: S608
    rows = con.execute(sql, [*params, *where.params]).fetchall()
    if not rows:
        return []
    if boxes is not None and len(boxes) <= MAX_PROBES:
        keep = [row[0] for row in rows if row[1] is None]
        refine = [row for row in rows if row[1] is not None]
        shapes = shapely.from_wkb([row[1] for row in refine])
    else:
        keep = []
        refine = rows
        shapes = shapely.from_wkb([row[1] for row in rows])
    if refine:
        shapely.prepare(geom)
        hits = shapely.intersects(geom, shapes)
        keep.extend(row[0] for row, hit in zip(refine, hits, strict=True) if hit)
    return keep
