"""Spatial search over the SQLite index: R*Tree probes, tag prefilter, exact refine (shapely; a
point query's few shapes in plain Python, see pointin.py)."""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Iterable
from typing import Any

import shapely

from indexer.backends.sqlite.bulk import PENDING
from indexer.backends.sqlite.pointin import point_meets
from indexer.backends.sqlite.query import Known, compile_filters, tag_prefilter
from indexer.backends.sqlite.rows import ALWAYS, ID_SHIFT, TIME_UNIT_US, signature, type_bits
from seedpipe.query.geometry import query_point
from seedpipe.query.model import Query

# S608 below: SQL text is joined only from constant fragments; every value is a bound parameter.
MAX_PROBES = 16  # R*Tree probes (and exact box tests) per query, so SQL stays small
# A query setting only these fields (every other one at its default) with a point for
# ``intersects`` runs one fixed statement (see _plain_point_sql).
PLAIN = frozenset({"intersects", "limit"})
# A point query with at most this many shapes to test tests them in plain Python (pointin.py).
FEW_REFINE = 32
POINT_PARAMS = (1.0, 1.0, 2.0, 2.0)


def _rtree_filters(q: Query) -> tuple[str, list[Any]]:
    """Conditions the R*Tree scan itself applies: data time, and the data-type signature."""
    sql, params = "", []
    # a record without data time spans all time in the R*Tree, so data_or_created prunes alike
    if q.datetime is not None and q.time_field in ("data", "data_or_created"):
        lo, hi = q.datetime.start_us, q.datetime.end_us
        sql += " AND t0 <= ? AND t1 >= ?"
        params += [
            ALWAYS if hi is None else hi / TIME_UNIT_US,
            -ALWAYS if lo is None else lo / TIME_UNIT_US,
        ]
    if q.data_types_any and len(q.data_types_any) <= MAX_PROBES:
        # the signature has both bits of at least one of them
        sql += " AND (" + " OR ".join("((id >> 3) & ?) = ?" for _ in q.data_types_any) + ")"
        params += [m for t in q.data_types_any for m in (type_bits(t),) * 2]
    elif q.data_types_any:  # many: a bit of any of them
        sql += " AND ((id >> 3) & ?) != 0"
        params.append(signature(q.data_types_any))
    if q.data_types_all:  # ... and the bits of all of these
        mask = signature(q.data_types_all)
        sql += " AND ((id >> 3) & ?) = ?"
        params += [mask, mask]
    return sql, params


def tree_decides(q: Query, known_types: list[str]) -> tuple[bool, bool]:
    """Whether ``_rtree_filters``'s signature test alone finds exactly the records of the
    query's ``data_types_any`` and of its ``data_types_all``, given every type any record
    holds: so when each queried type has a bit no other known type sets (only a record of that
    type can have both its bits). Beyond MAX_PROBES, ``data_types_any`` is tested as "a bit of
    any": never exact."""
    any_types, all_types = q.data_types_any, q.data_types_all
    exact_any = bool(any_types) and len(any_types) <= MAX_PROBES and _exact(any_types, known_types)
    exact_all = bool(all_types) and _exact(all_types, known_types)
    return exact_any, exact_all


def _exact(types: list[str], known_types: list[str]) -> bool:
    for t in types:
        others = 0
        for k in known_types:
            if k != t:
                others |= type_bits(k)
        if not type_bits(t) & ~others:
            return False
    return True


def query_xy(q: Query) -> tuple[float, float] | None:
    """The query's (x, y) when its shape is a single point (checked), else None."""
    if q.bbox is None and q.intersects is not None and q.intersects.get("type") == "Point":
        return query_point(q.intersects, field="intersects")
    return None


def spatial_rows(
    con: sqlite3.Connection,
    q: Query,
    columns: str = "",
    known: Known | None = None,
    *,
    docs: bool = False,
) -> list[tuple[Any, ...]]:
    """Records whose shape meets the query's: R*Tree prefilter, then exact tests.

    Each row is ``(rid, *columns)``: ``columns`` (SQL over ``files f``) are read in the same
    pass, so a page can be ordered without reading the matches' rows again. With ``docs``
    each row also ends with the record's document and null mask (``docs d`` joined in the same
    statement: for a point query, whose few matches are all on its page).
    """
    point = query_xy(q)
    geom = None
    if point is not None:  # no shapely object: bounds and boxes are the point's own
        x, y = point
        bounds = [(x, y, x, y)]
        boxes: list[tuple[float, float, float, float]] | None = bounds
    else:
        geom = q.geometry()
        assert geom is not None
        parts = list(getattr(geom, "geoms", [geom]))
        if len(parts) > MAX_PROBES:  # a many-part query probes its overall box instead
            parts = [geom]
        bounds = [part.bounds for part in parts]
        boxes = q.boxes()
    if point is not None and q.model_fields_set <= PLAIN:
        # only the point set: the statement is always the same text (compiled once, then
        # taken from the connection's statement cache), its values the point's own
        sql = _plain_point_sql(columns, docs)
        x, y = point
        params: list[Any] = [x, x, y, y, x, x, y, y, x, x, y, y]
    else:
        sql, params = _statement(q, bounds, boxes, columns, known, docs)
    rows = con.execute(sql, params).fetchall()
    if not rows:
        return []
    if boxes is not None and len(boxes) <= MAX_PROBES:
        keep = [row for row in rows if row[1] is None]
        refine = [row for row in rows if row[1] is not None]
    else:
        keep = []
        refine = rows
    if refine:
        keep.extend(row for row, hit in zip(refine, _hits(refine, point, geom), strict=True) if hit)
    return [(row[0], *row[2:]) for row in keep]


def _hits(
    refine: list[tuple[Any, ...]], point: tuple[float, float] | None, geom: Any
) -> Iterable[Any]:
    """Whether each candidate's shape (WKB, the row's second value) meets the query's: a point
    query's few polygons in plain Python (``pointin``: no shapely set-up), the rest in shapely."""
    if point is not None and len(refine) <= FEW_REFINE:
        hits = [point_meets(row[1], *point) for row in refine]
        if None not in hits:
            return hits
    shapes = shapely.from_wkb([row[1] for row in refine])
    if point is not None:
        return shapely.intersects_xy(shapes, *point)
    shapely.prepare(geom)
    return shapely.intersects(geom, shapes)


def _statement(
    q: Query,
    bounds: list[tuple[float, float, float, float]],
    boxes: list[tuple[float, float, float, float]] | None,
    columns: str,
    known: Known | None,
    docs: bool,
) -> tuple[str, list[Any]]:
    """The SQL of ``spatial_rows`` and its values: R*Tree probes, filters, exact box tests."""
    where = compile_filters(q, probe_tags=True, known=known)
    probes: list[str] = []
    params: list[Any] = []
    extra, extra_params = _rtree_filters(q)
    # rt_pending holds a bulk load's boxes until its end packs them into rt (see bulk.py): a
    # plain scan, empty (so free) at any other time
    for table in ("rt", PENDING):
        for minx, miny, maxx, maxy in bounds:
            probes.append(f"SELECT id >> {ID_SHIFT} FROM {table} WHERE x0 <= ? AND x1 >= ? "  # noqa: S608
                          f"AND y0 <= ? AND y1 >= ?{extra}")  # fmt: skip
            params.extend([maxx, minx, maxy, miny, *extra_params])
    if boxes is not None and len(boxes) <= MAX_PROBES:
        exact = " OR ".join("(f.x0 <= ? AND f.x1 >= ? AND f.y0 <= ? AND f.y1 >= ?)" for _ in boxes)
        box_params = [v for b in boxes for v in (b[2], b[0], b[3], b[1])]
        select = "f.rid, CASE WHEN f.isbox THEN NULL ELSE f.geom END"
        where.add(f"(f.isbox = 0 OR ({exact}))", *box_params)
    else:
        select = "f.rid, f.geom"
    if columns:
        select += f", {columns}"
    source = "files f"
    if docs:
        select += ", d.doc, d.nulls"
        source = "files f JOIN docs d ON d.rid = f.rid"
    candidates = " UNION ".join(probes)
    keys = tag_prefilter(q)
    if keys is not None:
        candidates = (f"SELECT rid FROM tags WHERE tag IN (SELECT value FROM json_each(?)) "  # noqa: S608
                      f"AND rid IN ({candidates})")  # fmt: skip
        params.insert(0, keys)
    sql = f"SELECT {select} FROM {source} WHERE f.rid IN ({candidates}) AND {where.sql()}"  # noqa: S608
    return sql, [*params, *where.params]


@functools.lru_cache(maxsize=16)
def _plain_point_sql(columns: str, docs: bool) -> str:
    """``_statement``'s text for a query that sets only a point (and a limit): its values are
    then (x, x, y, y) for each of the two probes and the exact box test, checked here."""
    q = Query(intersects={"type": "Point", "coordinates": [1.0, 2.0]})
    box = (1.0, 2.0, 1.0, 2.0)
    sql, params = _statement(q, [box], [box], columns, None, docs)
    assert params == [*POINT_PARAMS * 3], params
    return sql
