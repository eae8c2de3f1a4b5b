"""SQLite file index: WAL, an R*Tree over (lon, lat, data time), shapely refine, JSON1 meta."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import shapely
from pydantic_core import to_json

from indexer.backends.base import FileIndex, SearchPage, Subscription, UpsertResult
from indexer.backends.sqlite_query import (
    COUNTRY,
    DATA_TYPE,
    Where,
    after,
    compile_filters,
    order_by,
)
from indexer.geometry import CleanGeometry, clean_many, clean_point
from indexer.query import Query, to_micros
from seedpipe.errors import CatalogError, InvalidInput
from seedpipe.records import FileRecord
from seedpipe.settings import sqlite_path

if TYPE_CHECKING:
    from seedpipe.settings import IndexSettings

log = logging.getLogger(__name__)
# S608 below: SQL text is joined only from constant fragments; every value is a bound parameter.
T = TypeVar("T")
PARTS = 8  # R*Tree rows per record: rtree id = rid * PARTS + part
# The R*Tree's third axis counts weeks: ten years span ~520 units, like 360° of longitude, so
# its splits weigh space and time alike (in seconds, time would dominate every split).
WEEK_US = 7 * 86400 * 1e6
ALWAYS = 1e9  # weeks: the time extent of records without data time
TAG_SEP = "\x1e"
MAX_PROBES = 16  # R*Tree probes (and exact box tests) per query, so SQL stays small
_PLACE = {"geometry", "center_point"}

SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
  rid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, version INTEGER NOT NULL, meta TEXT NOT NULL,
  file_name TEXT NOT NULL, name_lc TEXT NOT NULL, file_size INTEGER NOT NULL,
  media_type TEXT, file_type TEXT, workspace TEXT, job_type TEXT, job_output TEXT,
  sensor_class TEXT, sensor TEXT, collection TEXT, task TEXT,
  superseded INTEGER NOT NULL, deleted INTEGER NOT NULL,
  created INTEGER NOT NULL, modified INTEGER NOT NULL,
  data_started INTEGER, data_ended INTEGER, source_started INTEGER, source_ended INTEGER,
  d0 INTEGER, d1 INTEGER, s0 INTEGER, s1 INTEGER,
  nparts INTEGER NOT NULL, isbox INTEGER NOT NULL, x0 REAL, y0 REAL, x1 REAL, y1 REAL,
  geom BLOB, tagkeys TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS files_created ON files (created);
CREATE INDEX IF NOT EXISTS files_d0 ON files (d0);
CREATE TABLE IF NOT EXISTS tags (tag TEXT NOT NULL, rid INTEGER NOT NULL,
  PRIMARY KEY (tag, rid)) WITHOUT ROWID;
CREATE VIRTUAL TABLE IF NOT EXISTS rt USING rtree (id, x0, x1, y0, y1, t0, t1);
CREATE TABLE IF NOT EXISTS tombstones (id TEXT PRIMARY KEY, version INTEGER NOT NULL)
  WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS subscriptions (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
-- whole records apart from the filter columns: candidate rows stay small, many to a page
CREATE TABLE IF NOT EXISTS docs (rid INTEGER PRIMARY KEY, doc TEXT NOT NULL);
"""
COLUMNS = (
    "rid, id, version, meta, file_name, name_lc, file_size, media_type, file_type, workspace, "
    "job_type, job_output, sensor_class, sensor, collection, task, superseded, deleted, created, "
    "modified, data_started, data_ended, source_started, source_ended, d0, d1, s0, s1, nparts, "
    "isbox, x0, y0, x1, y1, geom, tagkeys"
)
INSERT = f"INSERT INTO files ({COLUMNS}) VALUES ({', '.join('?' * len(COLUMNS.split(', ')))})"  # noqa: S608


def _us(value: Any) -> int | None:
    return None if value is None else to_micros(value)


class SqliteIndex(FileIndex):
    """One SQLite file; one connection used from a worker thread, one operation at a time."""

    def __init__(self, url: str, settings: IndexSettings | None = None) -> None:
        super().__init__(url)
        self.path = sqlite_path(url)
        self._con: sqlite3.Connection | None = None
        self._lock = asyncio.Lock()
        self._subs: list[Subscription] | None = None

    async def open(self) -> None:
        if self._con is None:
            await asyncio.to_thread(self._connect)

    def _connect(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        con.execute("PRAGMA busy_timeout=10000")
        # fewer, larger checkpoints: hot index pages are copied back once, not once per 4 MiB
        con.execute("PRAGMA wal_autocheckpoint=8192")
        con.execute("PRAGMA cache_size=-262144")  # 256 MiB: index pages stay hot in bulk loads
        con.executescript(SCHEMA)
        self._con = con

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        await self.open()
        async with self._lock:
            try:
                return await asyncio.to_thread(fn, *args)
            except sqlite3.Error as exc:
                raise CatalogError(f"sqlite index {self.path}: {exc}") from exc

    @property
    def con(self) -> sqlite3.Connection:
        assert self._con is not None, "index is not open"
        return self._con

    async def close(self) -> None:
        if self._con is not None:
            async with self._lock:
                con, self._con = self._con, None
                await asyncio.to_thread(con.close)

    # ----- writes -----

    async def upsert(self, records: list[FileRecord]) -> list[UpsertResult]:
        return await self._run(self._upsert, records) if records else []

    def _upsert(self, records: list[FileRecord]) -> list[UpsertResult]:
        results: list[UpsertResult | None] = [None] * len(records)
        newest: dict[str, int] = {}
        for i, r in enumerate(records):
            j = newest.get(r.id)
            if j is None or r.version > records[j].version:
                newest[r.id] = i
        for i, r in enumerate(records):
            if newest[r.id] != i:
                results[i] = UpsertResult(
                    id=r.id, version=r.version, status="stale", reason="newer in the same batch"
                )
        con = self.con
        con.execute("BEGIN IMMEDIATE")
        try:
            ids = json.dumps(list(newest))
            known = {
                row[0]: row[1:]
                for row in con.execute(
                    "SELECT id, version, rid, nparts, tagkeys FROM files "
                    "WHERE id IN (SELECT value FROM json_each(?))",
                    (ids,),
                )
            }
            tombs = dict(
                con.execute(
                    "SELECT id, version FROM tombstones "
                    "WHERE id IN (SELECT value FROM json_each(?))",
                    (ids,),
                ).fetchall()
            )
            todo: list[int] = []
            for file_id, i in newest.items():
                r = records[i]
                floor = max(known.get(file_id, (0,))[0], tombs.get(file_id, 0))
                if r.version <= floor:
                    results[i] = UpsertResult(
                        id=r.id, version=r.version, status="stale",
                        reason=f"version {floor} is already indexed",
                    )  # fmt: skip
                else:
                    todo.append(i)
            old = [known[records[i].id] for i in todo if records[i].id in known]
            self._remove(con, [(o[1], o[2], o[3]) for o in old])
            self._insert(con, [records[i] for i in todo], [(i, results) for i in todo])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return [r for r in results if r is not None]

    @staticmethod
    def _remove(con: sqlite3.Connection, old: list[tuple[int, int, str]]) -> None:
        if not old:
            return
        con.executemany("DELETE FROM files WHERE rid = ?", [(o[0],) for o in old])
        con.executemany("DELETE FROM docs WHERE rid = ?", [(o[0],) for o in old])
        con.executemany(
            "DELETE FROM rt WHERE id = ?", [(o[0] * PARTS + p,) for o in old for p in range(o[1])]
        )
        con.executemany(
            "DELETE FROM tags WHERE tag = ? AND rid = ?",
            [(tag, o[0]) for o in old if o[2] for tag in o[2].split(TAG_SEP)],
        )

    def _insert(
        self,
        con: sqlite3.Connection,
        records: list[FileRecord],
        slots: list[tuple[int, list[UpsertResult | None]]],
    ) -> None:
        if not records:
            return
        rid = (con.execute("SELECT max(rid) FROM files").fetchone()[0] or 0) + 1
        rows, doc_rows, rt_rows, tag_rows, done = _prepare(records, rid)
        con.executemany(INSERT, rows)
        con.executemany("INSERT INTO docs VALUES (?, ?)", doc_rows)
        con.executemany("INSERT INTO rt VALUES (?, ?, ?, ?, ?, ?, ?)", _z_ordered(rt_rows))
        con.executemany("INSERT OR IGNORE INTO tags VALUES (?, ?)", tag_rows)
        for (index, results), result in zip(slots, done, strict=True):
            results[index] = result

    async def delete(self, file_id: str, version: int) -> UpsertResult:
        return await self._run(self._delete, file_id, version)

    def _delete(self, file_id: str, version: int) -> UpsertResult:
        con = self.con
        con.execute("BEGIN IMMEDIATE")
        try:
            row = con.execute(
                "SELECT version, rid, nparts, tagkeys FROM files WHERE id = ?", (file_id,)
            ).fetchone()
            tomb = con.execute("SELECT version FROM tombstones WHERE id = ?", (file_id,)).fetchone()
            floor = max(row[0] if row else 0, tomb[0] if tomb else 0)
            if version < floor or (tomb and version <= tomb[0]):
                con.execute("ROLLBACK")
                return UpsertResult(
                    id=file_id, version=version, status="stale",
                    reason=f"version {floor} is newer",
                )  # fmt: skip
            if row:
                self._remove(con, [(row[1], row[2], row[3])])
            con.execute("INSERT OR REPLACE INTO tombstones VALUES (?, ?)", (file_id, version))
            con.execute("COMMIT")
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise
        return UpsertResult(id=file_id, version=version, status="written")

    # ----- reads -----

    async def get(self, file_id: str) -> FileRecord | None:
        row = await self._run(
            lambda: self.con.execute(
                "SELECT d.doc FROM files f JOIN docs d ON d.rid = f.rid WHERE f.id = ?", (file_id,)
            ).fetchone()
        )
        return FileRecord.model_validate_json(row[0]) if row else None

    async def search(self, query: Query) -> SearchPage:
        return await self._run(self._search, query)

    async def count(self, query: Query) -> int:
        return await self._run(self._count, query)

    def _count(self, q: Query) -> int:
        if q.geometry() is not None:
            return len(self._spatial_rids(q))
        where = compile_filters(q, spatial_drives=False)
        sql = f"SELECT count(*) FROM files f WHERE {where.sql()}"  # noqa: S608
        return int(self.con.execute(sql, where.params).fetchone()[0])

    def _search(self, q: Query) -> SearchPage:
        keys = q.sort_keys
        page = Where()
        if q.geometry() is not None:
            rids = self._spatial_rids(q)
            total = len(rids)
            page.add("f.rid IN (SELECT value FROM json_each(?))", json.dumps(rids))
        else:
            page = compile_filters(q, spatial_drives=False)
            total = -1
        token = q.decode_token()
        if token is not None:
            page.clauses.extend((w := after(keys, *token)).clauses)
            page.params.extend(w.params)
        sql = (f"SELECT (SELECT doc FROM docs WHERE rid = f.rid) FROM files f WHERE {page.sql()} "  # noqa: S608
               f"ORDER BY {order_by(keys)} LIMIT ?")  # fmt: skip
        docs = self.con.execute(sql, [*page.params, q.limit + 1]).fetchall()
        records = [FileRecord.model_validate_json(d[0]) for d in docs[: q.limit]]
        if total < 0:
            total = self._count(q)
        next_token = None
        if len(docs) > q.limit:
            last = records[-1]
            next_token = q.make_token(q.sort_values(last), last.id)
        return SearchPage(records=records, total=total, next_token=next_token)

    def _spatial_rids(self, q: Query) -> list[int]:
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
            exact = " OR ".join(
                "(f.x0 <= ? AND f.x1 >= ? AND f.y0 <= ? AND f.y1 >= ?)" for _ in boxes
            )
            box_params = [v for b in boxes for v in (b[2], b[0], b[3], b[1])]
            select = "f.rid, CASE WHEN f.isbox THEN NULL ELSE f.geom END"
            where.add(f"(f.isbox = 0 OR ({exact}))", *box_params)
        else:
            select = "f.rid, f.geom"
        sql = (f"SELECT {select} FROM files f WHERE f.rid IN ({' UNION '.join(probes)}) "  # noqa: S608
               f"AND {where.sql()}")  # fmt: skip
        rows = self.con.execute(sql, [*params, *where.params]).fetchall()
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

    # ----- subscriptions: the same Query evaluated per record -----

    async def add_subscription(self, subscription: Subscription) -> None:
        doc = subscription.model_dump_json()
        await self._run(self._exec, "INSERT OR REPLACE INTO subscriptions VALUES (?, ?)",
                        (subscription.id, doc))  # fmt: skip
        self._subs = None

    async def remove_subscription(self, subscription_id: str) -> bool:
        n = await self._run(
            self._exec, "DELETE FROM subscriptions WHERE id = ?", (subscription_id,)
        )
        self._subs = None
        return n > 0

    def _exec(self, sql: str, params: tuple[Any, ...]) -> int:
        return self.con.execute(sql, params).rowcount

    async def list_subscriptions(self) -> list[Subscription]:
        if self._subs is None:
            rows = await self._run(
                lambda: self.con.execute("SELECT doc FROM subscriptions ORDER BY id").fetchall()
            )
            self._subs = [Subscription.model_validate_json(r[0]) for r in rows]
        return list(self._subs)

    async def match_subscriptions(self, record: FileRecord) -> list[Subscription]:
        return [s for s in await self.list_subscriptions() if s.query.matches(record)]


def _boxes(c: CleanGeometry | None, center: dict[str, Any] | None) -> list[Any]:
    if c is not None:
        return c.boxes
    if center is not None:
        x, y = center["coordinates"][:2]
        return [(x, y, x, y)]
    return []


def _span(a: int | None, b: int | None) -> tuple[int | None, int | None]:
    """A closed interval from optional ends (one end alone is an instant), as in the Query."""
    if a is None:
        return b, b
    if b is None:
        return a, a
    return (a, b) if a <= b else (b, a)


def _prepare(
    records: list[FileRecord], rid: int
) -> tuple[list[Any], list[Any], list[Any], list[Any], list[UpsertResult]]:
    """Rows for files, docs, rt and tags (clean geometry, serialise), numbered from rid."""
    with_geom = [k for k, r in enumerate(records) if r.geometry is not None]
    cleaned: dict[int, CleanGeometry | InvalidInput] = dict(
        zip(with_geom, clean_many([records[k].geometry for k in with_geom]), strict=True)
    )
    rows: list[list[Any]] = []
    rt_rows: list[tuple[Any, ...]] = []
    tag_rows: list[tuple[str, int]] = []
    doc_rows: list[tuple[int, str]] = []
    shapes: list[Any] = []
    done: list[UpsertResult] = []
    for k, r in enumerate(records):
        c = cleaned.get(k)
        geo_error = None
        if isinstance(c, InvalidInput):
            geo_error, c = str(c), None
        center = r.center_point
        if center is not None:
            try:
                center = clean_point(center)
            except InvalidInput as exc:
                geo_error, center = str(exc), None
        if c is not None:
            center = center or c.center
        geometry = c.geojson if c is not None else None
        doc = r.model_dump_json(exclude=_PLACE, exclude_none=True)
        doc = f'{doc[:-1]},"geometry":{_js(geometry)},"center_point":{_js(center)}}}'
        boxes = _boxes(c, center)
        ds, de, ss, se = (_us(r.data_started), _us(r.data_ended), _us(r.source_started),
                          _us(r.source_ended))  # fmt: skip
        d0, d1 = _span(ds, de)
        s0, s1 = _span(ss, se)
        t0, t1 = (
            (d0 / WEEK_US, d1 / WEEK_US) if d0 is not None and d1 is not None else (-ALWAYS, ALWAYS)
        )
        for p, b in enumerate(boxes[:PARTS]):
            rt_rows.append((rid * PARTS + p, b[0], b[2], b[1], b[3], t0, t1))
        keys = [DATA_TYPE + t for t in r.data_type_tags]
        if r.countries:
            keys += [COUNTRY + code for code in dict.fromkeys(r.countries)]
        tag_rows += [(key, rid) for key in keys]
        isbox = c.is_box if c is not None else bool(boxes)
        box = boxes[0] if isbox else (None, None, None, None)
        shapes.append(c.shape if c is not None else _point(center))
        doc_rows.append((rid, doc))
        rows.append([
            rid, r.id, r.version, to_json(r.meta_data, inf_nan_mode="null").decode(), r.file_name,
            r.file_name.casefold(), r.file_size, r.media_type, r.file_type, r.workspace.name,
            r.job_type.name if r.job_type else None, r.job_output, r.source_sensor_class,
            r.source_sensor, r.source_collection, r.source_task, int(r.is_superseded),
            int(r.is_deleted), to_micros(r.created), to_micros(r.last_modified),
            ds, de, ss, se, d0, d1, s0, s1, min(len(boxes), PARTS),
            int(isbox), *box, None, TAG_SEP.join(keys),
        ])  # fmt: skip
        done.append(UpsertResult(r.id, r.version, "written", None, geo_error))
        rid += 1
    geo_idx = [k for k, g in enumerate(shapes) if g is not None]
    if geo_idx:
        blobs = shapely.to_wkb(np.array([shapes[k] for k in geo_idx], dtype=object))
        for k, blob in zip(geo_idx, blobs, strict=True):
            rows[k][34] = blob
    return rows, doc_rows, rt_rows, tag_rows, done


def _spread(v: np.ndarray) -> np.ndarray:
    """Put a zero bit between each of the low 16 bits (for interleaving)."""
    v = (v | (v << 8)) & 0x00FF00FF
    v = (v | (v << 4)) & 0x0F0F0F0F
    v = (v | (v << 2)) & 0x33333333
    return (v | (v << 1)) & 0x55555555


def _z_ordered(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """R*Tree rows in Z-order of their centres: neighbours are inserted together, so a batch
    touches few tree nodes (random order touches a new node for nearly every row)."""
    if len(rows) < 64:
        return rows
    a = np.array([(r[1], r[2], r[3], r[4]) for r in rows], dtype=float)
    x = ((a[:, 0] + a[:, 1]) / 2 + 180) * (65535 / 360)
    y = ((a[:, 2] + a[:, 3]) / 2 + 90) * (65535 / 180)
    key = _spread(np.clip(x, 0, 65535).astype(np.int64)) | (
        _spread(np.clip(y, 0, 65535).astype(np.int64)) << 1
    )
    return [rows[i] for i in np.argsort(key, kind="stable")]


def _js(value: Any) -> str:
    return "null" if value is None else to_json(value).decode()


def _point(center: dict[str, Any] | None) -> Any:
    return None if center is None else shapely.Point(center["coordinates"][:2])
