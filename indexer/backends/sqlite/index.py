"""SQLite file index: WAL, an R*Tree over (lon, lat, data time), shapely refine, JSON1 meta."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import shapely

from indexer.backends.base import (
    CollectionSummary,
    FileIndex,
    JsonPage,
    SearchPage,
    Subscription,
    UpsertResult,
)
from indexer.backends.sqlite import writes
from indexer.backends.sqlite.bulk import Loader
from indexer.backends.sqlite.cluster import cluster as cluster_rows
from indexer.backends.sqlite.docs import decode_records, decode_views, whole
from indexer.backends.sqlite.layout import open_file
from indexer.backends.sqlite.names import name_candidates
from indexer.backends.sqlite.query import (
    Known,
    Where,
    after,
    before,
    compile_filters,
    order_by,
    order_rows,
    sort_columns,
)
from indexer.backends.sqlite.spatial import spatial_rows, tree_decides
from indexer.backends.sqlite.summary import sqlite_summary
from indexer.backends.sqlite.writer import WRITER_MIN, Writer, WriterGone
from seedpipe.errors import CatalogError
from seedpipe.gcpause import gc_paused
from seedpipe.query.geometry import RecordPlace, clean_records
from seedpipe.query.match import matches
from seedpipe.query.model import Query
from seedpipe.records import FileRecord
from seedpipe.settings import sqlite_path
from seedpipe.views import ViewPage

if TYPE_CHECKING:
    from seedpipe.settings import IndexSettings

log = logging.getLogger(__name__)
WORLD = shapely.box(-180, -90, 180, 90)
WALKABLE = frozenset({"created", "id"})  # sort keys with an index (files_created, id's UNIQUE)
WALK_SHARE = 0.02  # matches at least this share of the rows: walk the sort index
# A point query ("what covers this place") reads a few rows: it runs on the event loop, not in
# the worker thread, whose hop (~100 µs with its cache misses) cost more than the query itself.
# A point under very many footprints is interrupted at INLINE_S and runs in the thread instead.
INLINE_S = 0.002
INLINE_STEPS = 1000  # SQLite VM steps between two looks at the clock
INLINE_DECODE = 16  # an inline page longer than this is decoded in the worker thread
# S608 below: SQL text is joined only from constant fragments; every value is a bound parameter.
T = TypeVar("T")
R = TypeVar("R")  # a decoded record: FileRecord or FileView
_OVER = object()  # an inline read that ran over its budget
GET_SQL = "SELECT d.doc FROM files f JOIN docs d ON d.rid = f.rid WHERE f.id = ?"


class SqliteIndex(FileIndex):
    """One SQLite file; one connection used from a worker thread, one operation at a time."""

    def __init__(self, url: str, settings: IndexSettings | None = None) -> None:
        super().__init__(url)
        self.path = sqlite_path(url)
        self._con: sqlite3.Connection | None = None
        self._lock = asyncio.Lock()
        self._subs: list[Subscription] | None = None
        self._loads = 0  # bulk() contexts open on this index
        self._writer: Writer | None = None  # a bulk load's writer process (see writer.py)
        self.writer_min = WRITER_MIN  # records in one upsert for the writer process to write
        self._writer_failed = False  # this load's writer could not start or ended

    async def open(self) -> None:
        if self._con is None:
            await asyncio.to_thread(self._connect)

    def _connect(self) -> None:
        self._con = open_file(self.path)

    async def needs_replay(self) -> bool:
        row = await self._run(
            lambda: self.con.execute("SELECT value FROM state WHERE key = 'replay'").fetchone()
        )
        return row is not None

    async def replay_done(self) -> None:
        await self._run(self._exec, "DELETE FROM state WHERE key = ?", ("replay",))

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        await self.open()
        async with self._lock:
            try:
                return await asyncio.to_thread(fn, *args)
            except sqlite3.Error as exc:
                raise CatalogError(f"sqlite index {self.path}: {exc}") from exc

    async def _read(
        self, q: Query, fn: Callable[[Query], T], quick: Callable[[Query], T] | None = None
    ) -> T:
        """``fn`` in one read snapshot: a point query inline (see INLINE_S; ``quick`` instead
        of ``fn`` there, when given), others in the worker thread."""
        if not _inline(q):
            return await self._run(self._snapshot, q, fn)
        await self.open()
        async with self._lock:
            try:
                out = self._budgeted(q, quick or fn)
                return await asyncio.to_thread(self._snapshot, q, fn) if out is _OVER else out
            except sqlite3.Error as exc:
                raise CatalogError(f"sqlite index {self.path}: {exc}") from exc

    def _budgeted(self, q: Query, fn: Callable[[Query], T]) -> Any:
        """``_snapshot(q, fn)`` interrupted after INLINE_S of SQL (then ``_OVER``): the rows
        SQL yields in that time bound what Python does with them."""
        return self._budgeted_call(self._in_snapshot, fn, q)

    def _in_snapshot(self, fn: Callable[[Query], T], q: Query) -> T:
        con = self.con
        con.execute("BEGIN")
        try:
            return fn(q)
        finally:
            con.set_progress_handler(None, 0)  # before COMMIT, which must not be cut short
            con.execute("COMMIT")

    def _budgeted_call(self, fn: Callable[..., T], *args: Any) -> Any:
        """``fn(*args)`` interrupted after INLINE_S of SQL (then ``_OVER``)."""
        con = self.con
        deadline = time.perf_counter() + INLINE_S
        con.set_progress_handler(lambda: time.perf_counter() > deadline, INLINE_STEPS)
        try:
            return fn(*args)
        except sqlite3.OperationalError as exc:
            if "interrupted" in str(exc):
                return _OVER
            raise
        finally:
            con.set_progress_handler(None, 0)

    @property
    def con(self) -> sqlite3.Connection:
        assert self._con is not None, "index is not open"
        return self._con

    async def close(self) -> None:
        if self._con is not None:
            async with self._lock:
                await asyncio.to_thread(self._stop_writer)
                con, self._con = self._con, None
                await asyncio.to_thread(con.close)

    # ----- writes -----

    async def upsert(
        self, records: list[FileRecord], places: list[RecordPlace] | None = None
    ) -> list[UpsertResult]:
        return await self._run(self._upsert, records, places) if records else []

    def _upsert(
        self, records: list[FileRecord], places: list[RecordPlace] | None
    ) -> list[UpsertResult]:
        # A batch allocates ~40 acyclic containers per record: cyclic GC passes over them are
        # pure cost (~15% of a bulk load), so collection waits until the batch is written.
        with gc_paused():
            places = places or clean_records(records)
            if self._loads and len(records) >= self.writer_min:
                return self._write_beside(records, places)
            return writes.upsert_batch(self.con, records, places)

    def _write_beside(
        self, records: list[FileRecord], places: list[RecordPlace]
    ) -> list[UpsertResult]:
        """A bulk load's big batch, its SQL in the writer process (started on first use). A
        writer that cannot start or that ends writes nothing more: its batch (rolled back) and
        the rest of the load are written in process."""
        if self._writer_failed:
            return writes.upsert_batch(self.con, records, places)
        writer = self._writer
        try:
            if writer is None:
                writer = self._writer = Writer(self.path)
            return writer.upsert(records, places)
        except (OSError, WriterGone) as exc:
            self._writer_failed = True
            self._stop_writer()
            log.warning(
                "index bulk writer gone: the load goes on in process",
                extra={"index": str(self.path), "error": str(exc)},
            )
            return writes.upsert_batch(self.con, records, places)

    def _stop_writer(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()

    @asynccontextmanager
    async def bulk(self, *, whole: bool = True) -> AsyncIterator[None]:
        """Boxes (and, ``whole``, names and secondary indexes) built once at the end (see
        bulk.py); the last loader out of the file finishes, and a load left by a dead process
        is finished when the index is next opened."""
        loader = Loader(self.path, whole=whole)
        await self._run(lambda: loader.begin(self.con))
        self._loads += 1
        try:
            yield
        finally:
            self._loads -= 1
            if not self._loads:
                await self._run(self._stop_writer)
                self._writer_failed = False
            await self._run(lambda: loader.end(self.con))

    async def cluster(self, on_step: Callable[[str], None] | None = None) -> dict[str, float]:
        """Rows renumbered in the packed R*Tree's leaf order, so an area search's matches are
        neighbours (see cluster.py); returns the record count and each step's seconds.
        ``on_step`` (called from the worker thread) is told each step as it begins."""
        return await self._run(cluster_rows, self.con, self.path, on_step)

    async def delete(self, file_id: str, version: int) -> UpsertResult:
        return await self._run(self._delete, file_id, version)

    def _delete(self, file_id: str, version: int) -> UpsertResult:
        return writes.delete(self.con, file_id, version)

    # ----- reads -----

    async def get(self, file_id: str) -> FileRecord | None:
        # One row by a unique key: inline on the event loop, budgeted as a point query is.
        await self.open()
        async with self._lock:
            try:
                row = self._budgeted_call(self._get_doc, file_id)
                if row is _OVER:
                    row = await asyncio.to_thread(self._get_doc, file_id)
            except sqlite3.Error as exc:
                raise CatalogError(f"sqlite index {self.path}: {exc}") from exc
        return FileRecord.model_validate_json(row[0]) if row else None

    def _get_doc(self, file_id: str) -> Any:
        return self.con.execute(GET_SQL, (file_id,)).fetchone()

    async def search(self, query: Query) -> SearchPage:
        records, total, nxt, prv = await self._decoded(query, decode_records)
        return SearchPage(records=records, total=total, next_token=nxt, prev_token=prv)

    async def search_views(self, query: Query) -> ViewPage:
        views, total, nxt, prv = await self._decoded(query, decode_views)
        return ViewPage(views, total, next_token=nxt, prev_token=prv)

    async def _decoded(
        self, query: Query, decode: Callable[[list[str]], list[R]]
    ) -> tuple[list[R], int, str | None, str | None]:
        """A page's documents decoded by ``decode``: in the worker thread, in the same hop as
        the read, unless the query runs inline; then a long page goes to the thread alone."""
        if not _inline(query):
            return await self._run(self._snapshot, query, functools.partial(self._dpage, decode))
        docs, total, nxt, prv = await self._read(query, self._page, self._page_quick)
        raw = [d[0] for d in docs]
        if len(raw) > INLINE_DECODE:
            return await asyncio.to_thread(decode, raw), total, nxt, prv
        return decode(raw), total, nxt, prv

    def _dpage(
        self, decode: Callable[[list[str]], list[R]], q: Query
    ) -> tuple[list[R], int, str | None, str | None]:
        docs, total, nxt, prv = self._page(q)
        return decode([d[0] for d in docs]), total, nxt, prv

    async def count(self, query: Query) -> int:
        return await self._read(query, self._count)

    async def summarize(self, workspace: str) -> CollectionSummary:
        return await self._run(self._summary, workspace)

    def _summary(self, workspace: str) -> CollectionSummary:
        con = self.con
        con.execute("BEGIN")  # one snapshot for the count, the extents and the kinds
        try:
            return sqlite_summary(con, workspace)
        finally:
            con.execute("COMMIT")

    def _known(self, q: Query) -> Known:
        """Read once per search, inside its snapshot: another process may have indexed a longer
        interval or a new data type since (a stale, shorter span would hide records; a stale
        list of types could skip a tag test a new type makes necessary), and names change."""
        span = None
        if _data_time(q):  # only a data-time filter uses it (a point query has none)
            row = self.con.execute("SELECT value FROM state WHERE key = 'data_span'").fetchone()
            span = int(row[0])
        any_by_tree = all_by_tree = False
        if (q.data_types_any or q.data_types_all) and _spatial(q):  # the R*Tree drives
            types = [r[0] for r in self.con.execute("SELECT type FROM data_types")]
            any_by_tree, all_by_tree = tree_decides(q, types)
        return Known(
            data_span_us=span,
            name_rids=name_candidates(self.con, q.file_name_contains),
            any_by_tree=any_by_tree,
            all_by_tree=all_by_tree,
        )

    def _filters(self, q: Query, known: Known, *, probe_tags: bool = False) -> Where:
        where = compile_filters(q, probe_tags=probe_tags, known=known)
        if q.geometry() is not None:  # only for a query shape that covers the whole world
            where.add("f.nparts > 0")  # every record with a place meets it
        return where

    def _count(self, q: Query, known: Known | None = None) -> int:
        known = known or self._known(q)
        if _spatial(q):
            return len(spatial_rows(self.con, q, known=known))
        where = self._filters(q, known)
        sql = f"SELECT count(*) FROM files f WHERE {where.sql()}"  # noqa: S608
        return int(self.con.execute(sql, where.params).fetchone()[0])

    async def search_json(self, query: Query) -> JsonPage:
        docs, total, nxt, prv = await self._read(query, self._page, self._page_quick)
        return JsonPage([whole(*d) for d in docs], total, next_token=nxt, prev_token=prv)

    def _snapshot(self, q: Query, fn: Callable[[Query], T]) -> T:
        # One read transaction: the page, its documents and the total see the same snapshot
        # while the indexer (maybe another process) writes.
        con = self.con
        con.execute("BEGIN")
        try:
            return fn(q)
        finally:
            con.execute("COMMIT")

    def _page_quick(self, q: Query) -> tuple[list[tuple[str, int]], int, str | None, str | None]:
        """``_page`` reading the documents in the matches' statement (for an inline point
        query: a few matches, all on the page; the budget bounds a point under many)."""
        return self._page(q, with_docs=True)

    def _page(
        self, q: Query, *, with_docs: bool = False
    ) -> tuple[list[tuple[str, int]], int, str | None, str | None]:
        """The page's documents (JSON and null mask), the total, the next and previous tokens.

        A ``before`` token reads backwards from its row (the reverse order, in SQL or here) and
        turns the rows round, so a previous page is the same rows the forward walk showed.
        ``with_docs``: a spatial page reads every match's document in the same statement."""
        keys = q.sort_keys
        token = q.decode_token()
        back = token is not None and q.token_before
        known = self._known(q)
        spatial = _spatial(q)
        if spatial:
            # the matches come with their sort values: ordered here, not read again in SQL
            found = spatial_rows(self.con, q, sort_columns(keys), known, docs=with_docs)
            total = len(found)
            ordered = order_rows(found, keys, token, before=back)
            rows = ordered[::-1][: q.limit + 1] if back else ordered[: q.limit + 1]
        else:
            total = self._count(q, known)
            page = self._filters(q, known, probe_tags=self._walk(q, total))
            if token is not None:
                w = before(keys, *token) if back else after(keys, *token)
                page.clauses.extend(w.clauses)
                page.params.extend(w.params)
            # The page's rows first, documents after: a document read inside the ORDER BY
            # would be read for every match, not just for the page (seconds for many).
            sql = (f"SELECT f.rid, {sort_columns(keys)} FROM files f WHERE {page.sql()} "  # noqa: S608
                   f"ORDER BY {order_by(keys, reverse=back)} LIMIT ?")  # fmt: skip
            rows = self.con.execute(sql, [*page.params, q.limit + 1]).fetchall()
        more = len(rows) > q.limit
        shown = rows[: q.limit][::-1] if back else rows[: q.limit]
        if with_docs and spatial:  # each row ends with its document and null mask
            docs = [(row[-2], row[-1]) for row in shown]
            shown = [row[:-2] for row in shown]
        else:
            docs = self._docs([row[0] for row in shown])
        next_token = prev_token = None
        if shown:  # tokens carry a row's sort values, as stored
            first, last = shown[0], shown[-1]
            if more or back:  # a previous page always has its anchor row after it
                next_token = q.make_token(list(last[1:-1]), last[-1])
            if (more and back) or (token is not None and not back):
                prev_token = q.make_token(list(first[1:-1]), first[-1], before=True)
        return docs, total, next_token, prev_token

    def _walk(self, q: Query, total: int) -> bool:
        """Whether the page should walk the sort key's index, testing tags per row, rather than
        gather every row of the tags first: when the matches are common (the walk stops after
        about limit / share rows; 0.3 ms instead of 1.2 s for a type a quarter of 1 M records
        carry), and only for sort keys with an index."""
        if not (q.data_types_any or q.data_types_all or q.countries or q.derived_from):
            return False
        if q.sort_keys[0].field not in WALKABLE:
            return False
        rows = self.con.execute("SELECT max(rid) - min(rid) + 1 FROM files").fetchone()[0]
        return bool(rows) and total >= WALK_SHARE * rows

    def _docs(self, rids: list[int]) -> list[tuple[str, int]]:
        """The documents of ``rids`` with their null masks, in that order (the list drives the
        join: no set of the rids to build, no reordering here)."""
        if not rids:
            return []
        return self.con.execute(
            "SELECT d.doc, d.nulls FROM json_each(?) j CROSS JOIN docs d ON d.rid = j.value "
            "ORDER BY j.key",
            (json.dumps(rids),),
        ).fetchall()

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
        return [s for s in await self.list_subscriptions() if matches(s.query, record)]


def _data_time(q: Query) -> bool:
    """Whether the query (or one of its alternatives) filters on data time."""
    alts = [q, *(alt for group in q.any_of for alt in group)]
    return any(a.datetime is not None and a.time_field in ("data", "data_or_created") for a in alts)


def _inline(q: Query) -> bool:
    """Whether a read is cheap enough to try on the event loop: a point query (the trigram
    probe for a file-name needle keeps its own progress handler, so not with one of those)."""
    if q.intersects is None or q.intersects.get("type") != "Point":
        return False
    return q.file_name_contains is None


def _spatial(q: Query) -> bool:
    """Whether the R*Tree should drive: a query shape that covers the whole world (the usual
    "has a footprint" bbox) meets every record with a place, so plain filters answer it
    without reading a million candidates."""
    if q.bbox is None and q.intersects is not None and q.intersects.get("type") == "Point":
        return True  # a point never covers the world (checked where it is probed)
    geom = q.geometry()
    return geom is not None and not geom.covers(WORLD)
