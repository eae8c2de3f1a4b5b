"""Bench seedpipe's SQLite index against PostGIS on the same records and queries (issue 16).

Usage: .venv/bin/python bench/bench_peers.py [--records 1000000] [--queries 600]
       [--dsn "dbname=seedpipe_bench"] [--batch 5000] [--cluster] [--no-bulk] [--logged]

Needs a PostGIS that answers at ``--dsn`` (or $SEEDPIPE_BENCH_DSN); without one it says so and
exits 0. Setup from Debian (see bench/README.md): ``apt-get install -y postgresql-15-postgis-3``,
``pg_ctlcluster 15 main start``, a database with ``CREATE EXTENSION postgis``, and psycopg
(``.venv/bin/pip install -e '.[bench]'``). The bench owns one table, ``bench_peers``, which it
drops and re-creates: UNLOGGED (no WAL, emptied by a crash) unless ``--logged``, which keeps it
crash-safe as seedpipe's index is.

Beside the rates it prints each side's CPU time a record: seedpipe's (this process while it
upserts, and its writer child's) and PostGIS's (this process while it COPYs, and every
``postgres`` process's, read from /proc): what the load costs on 2 cores whatever the overlap.

Records: 70% points, 30% footprints of 0.1-2 deg (boxes and skewed quads), ten years of
1 min-30 day data ranges, 1-3 of 5 data types. Queries, interleaved query by query (the side
that goes first alternates): a 50x50 deg bbox + a one-year data window + one data type, all
matches; and a point. The match counts must agree on every query.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_index import SPAN_S, START, TYPES, WS, pct

from indexer.backends.sqlite.index import SqliteIndex
from seedpipe.query.model import MAX_LIMIT, Query
from seedpipe.records import FileRecord

SCHEMA = """
DROP TABLE IF EXISTS bench_peers;
CREATE {logged}TABLE bench_peers (
    id text PRIMARY KEY, geom geometry(Geometry, 4326) NOT NULL,
    data_started timestamptz NOT NULL, data_ended timestamptz NOT NULL,
    types text[] NOT NULL, doc jsonb NOT NULL);
"""
# The primary key is built by COPY; these after it, and counted in the load time.
INDEXES = [
    "CREATE INDEX bench_peers_geom ON bench_peers USING gist (geom)",
    "CREATE INDEX bench_peers_time ON bench_peers (data_started, data_ended)",
    "CREATE INDEX bench_peers_types ON bench_peers USING gin (types)",
    "ANALYZE bench_peers",
]
AREA_SQL = """SELECT doc::text FROM bench_peers
WHERE geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)
  AND ST_Intersects(geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326))
  AND data_started <= %s AND data_ended >= %s AND types @> ARRAY[%s]"""
POINT_SQL = """SELECT doc::text FROM bench_peers
WHERE ST_Intersects(geom, ST_SetSRID(ST_MakePoint(%s, %s), 4326))"""


def peer_record(rng: random.Random, i: int) -> FileRecord:
    """The issue's mix: 70% points, 30% footprints of 0.1-2 deg (half of them skewed quads)."""
    x, y = rng.uniform(-179, 177), rng.uniform(-80, 77)
    kind = rng.random()
    if kind < 0.7:
        geometry: dict[str, Any] = {"type": "Point", "coordinates": [x, y]}
    else:
        w, h = rng.uniform(0.1, 2), rng.uniform(0.1, 2)
        skew = 0.0 if kind < 0.85 else rng.uniform(0.05, 0.5) * h
        ring = [[x, y], [x + w, y + skew], [x + w, y + h], [x, y + h], [x, y]]
        geometry = {"type": "Polygon", "coordinates": [ring]}
    started = START + timedelta(seconds=rng.randrange(SPAN_S))
    ended = started + timedelta(seconds=rng.randrange(60, 30 * 86400))
    return FileRecord(
        id=f"{i:012d}",
        file_name=f"scene_{i}.tif",
        workspace=WS,
        file_path=f"scenes/scene_{i}.tif",
        media_type="image/tiff",
        file_size=rng.randrange(1, 10**9),
        data_type_tags=rng.sample(TYPES, rng.randint(1, 3)),
        data_started=started,
        data_ended=ended,
        geometry=geometry,
        meta_data={"cloud": rng.randrange(100), "platform": rng.choice(["s1", "s2", "l8"])},
    )


def wkt(geometry: dict[str, Any]) -> str:
    if geometry["type"] == "Point":
        x, y = geometry["coordinates"]
        return f"SRID=4326;POINT({x!r} {y!r})"
    ring = ",".join(f"{x!r} {y!r}" for x, y in geometry["coordinates"][0])
    return f"SRID=4326;POLYGON(({ring}))"


def batches(records: int, batch: int) -> Iterator[list[FileRecord]]:
    rng = random.Random(16)
    done = 0
    while done < records:
        yield [peer_record(rng, done + k) for k in range(min(batch, records - done))]
        done += batch


def connect(dsn: str) -> Any:
    """A psycopg connection to a PostGIS, or None (with the reason printed) when there is none."""
    try:
        import psycopg
    except ImportError:
        print("skipped: psycopg is not installed (.venv/bin/pip install -e '.[bench]')")
        return None
    try:
        con = psycopg.connect(dsn, connect_timeout=5)
        version = con.execute("SELECT postgis_full_version()").fetchone()[0]
    except psycopg.Error as e:
        print(f"skipped: no PostGIS answers at {dsn!r}: {str(e).strip().splitlines()[0]}")
        print("set one up as bench/README.md says (postgresql-15-postgis-3), or pass --dsn")
        return None
    server = con.execute("SHOW server_version").fetchone()[0]
    print(f"PostgreSQL {server}, {version.split()[0]} {version.split()[1]}")
    return con


def postgres_cpu() -> float:
    """CPU seconds (user + system) of every process named ``postgres`` now alive (the server's
    backends and background writers; zero where /proc is not readable)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        close = stat.rindex(")")  # the name, in parentheses, may hold spaces
        if stat[stat.index("(") + 1 : close] == "postgres":
            fields = stat[close + 2 :].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def children_cpu() -> float:
    """CPU seconds of this process's children that have ended (the index's writer child)."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, (time.perf_counter() - t0) * 1000


async def atimed(coro: Any) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = await coro
    return out, (time.perf_counter() - t0) * 1000


def row(name: str, ours: list[float], theirs: list[float]) -> str:
    o50, o99, t50, t99 = pct(ours, 50), pct(ours, 99), pct(theirs, 50), pct(theirs, 99)
    return (
        f"| {name} | p50 {o50:.2f} ms, p99 {o99:.2f} ms | p50 {t50:.2f} ms, p99 {t99:.2f} ms "
        f"| {o50 / t50:.2f}x (p99 {o99 / t99:.2f}x) |"
    )


async def bench(args: argparse.Namespace, con: Any, db: Path) -> None:
    print(
        f"cores={os.cpu_count()} records={args.records:,} queries={args.queries} "
        f"batch={args.batch} load average {os.getloadavg()[0]:.1f}"
    )
    con.execute(SCHEMA.format(logged="" if args.logged else "UNLOGGED "))
    con.commit()
    sp_ms = pg_ms = 0.0
    sp_cpu = pg_cpu = 0.0  # this process's CPU seconds on each side
    pg_server = postgres_cpu()
    kids = children_cpu()
    async with SqliteIndex(f"sqlite:///{db}") as index:
        # a bulk load (what reindex and a replay use) unless --no-bulk: batch by batch upserts
        load = contextlib.nullcontext() if args.no_bulk else index.bulk()
        t0, c0 = time.perf_counter(), time.process_time()
        await load.__aenter__()
        sp_ms += (time.perf_counter() - t0) * 1000
        sp_cpu += time.process_time() - c0
        for chunk in batches(args.records, args.batch):
            c0 = time.process_time()
            results, ms = await atimed(index.upsert(chunk))
            sp_cpu += time.process_time() - c0
            assert all(r.status == "written" for r in results)
            sp_ms += ms
            t0, c0 = time.perf_counter(), time.process_time()
            with (
                con.cursor() as cur,
                cur.copy(
                    "COPY bench_peers (id, geom, data_started, data_ended, types, doc) FROM STDIN"
                ) as copy,
            ):
                for r in chunk:
                    copy.write_row(
                        (r.id, wkt(r.geometry or {}), r.data_started, r.data_ended,
                         r.data_type_tags, r.model_dump_json())
                    )  # fmt: skip
            con.commit()
            pg_ms += (time.perf_counter() - t0) * 1000
            pg_cpu += time.process_time() - c0
        t0, c0 = time.perf_counter(), time.process_time()
        await load.__aexit__(None, None, None)  # the bulk load's end: R*Tree, names, indexes
        end_ms = (time.perf_counter() - t0) * 1000
        sp_ms += end_ms
        sp_cpu += time.process_time() - c0
        t0, c0 = time.perf_counter(), time.process_time()
        con.execute("SET maintenance_work_mem = '256MB'")
        for sql in INDEXES:
            con.execute(sql)
        con.commit()
        build_ms = (time.perf_counter() - t0) * 1000
        pg_cpu += time.process_time() - c0
        pg_server = postgres_cpu() - pg_server
        kids = children_cpu() - kids
        pg_total = pg_ms + build_ms
        print(
            f"seedpipe {'upsert' if args.no_bulk else 'bulk load'}: "
            f"{args.records / sp_ms * 1000:,.0f} records/s ({sp_ms / 1000:.1f} s, of which "
            f"{end_ms / 1000:.1f} s at the end)"
        )
        print(
            f"PostGIS COPY + index build: {args.records / pg_total * 1000:,.0f} records/s "
            f"({pg_ms / 1000:.1f} s COPY + {build_ms / 1000:.1f} s indexes and ANALYZE, "
            f"{'logged' if args.logged else 'UNLOGGED'} table)"
        )
        us = 1e6 / args.records
        print(
            f"CPU a record: seedpipe {(sp_cpu + kids) * us:.1f} µs (this process "
            f"{sp_cpu * us:.1f}, writer child {kids * us:.1f}; "
            f"{(sp_cpu + kids) / (sp_ms / 1000):.2f} cores busy); PostGIS "
            f"{(pg_cpu + pg_server) * us:.1f} µs (client {pg_cpu * us:.1f}, server "
            f"{pg_server * us:.1f}; {(pg_cpu + pg_server) / (pg_total / 1000):.2f} cores busy)"
        )

        await queries(args, con, index, "unclustered" if args.cluster else "")
        if args.cluster:  # seedpipe cluster: rows renumbered by place (not in the load rate)
            t0 = time.perf_counter()
            report = await index.cluster()
            took = time.perf_counter() - t0
            print(
                f"seedpipe cluster: {took:.1f} s ({args.records / took:,.0f} records/s; "
                + ", ".join(f"{k} {v:.1f}" for k, v in report.items() if k.endswith("_s"))
                + ")"
            )
            await queries(args, con, index, "after `seedpipe cluster`")
    sp_rate, pg_rate = args.records / sp_ms * 1000, args.records / pg_total * 1000
    how = "`upsert`" if args.no_bulk else "`bulk()`"
    print(
        f"| bulk load | {sp_rate:,.0f} records/s ({how}, batches of {args.batch:,}) "
        f"| {pg_rate:,.0f} records/s (COPY + index build) | {sp_rate / pg_rate:.2f}x |"
    )


async def queries(args: argparse.Namespace, con: Any, index: SqliteIndex, label: str) -> None:
    """The interleaved queries (the same ones every call) and their table, headed ``label``."""
    rng = random.Random(1616)
    area_sp, area_pg, point_sp, point_pg, point_sp_dec = [], [], [], [], []
    area_hits, point_hits = [], []
    areas: list[Query] = []
    for i in range(args.queries):
        x, y = rng.uniform(-180, 130), rng.uniform(-80, 30)
        t = START + timedelta(days=rng.randrange(9 * 365))
        te = t + timedelta(days=365)
        dt = rng.choice(TYPES)
        q = Query(bbox=(x, y, x + 50, y + 50), datetime={"start": t, "end": te},
                  data_types_any=[dt], limit=MAX_LIMIT)  # fmt: skip
        env = (x, y, x + 50, y + 50)

        def pg_area(env: tuple[float, ...] = env, t: Any = t, te: Any = te, dt: str = dt) -> Any:
            return con.execute(AREA_SQL, (*env, *env, te, t, dt)).fetchall()

        px, py = rng.uniform(-179, 178), rng.uniform(-80, 78)
        p = Query(intersects={"type": "Point", "coordinates": [px, py]}, limit=MAX_LIMIT)

        def pg_point(px: float = px, py: float = py) -> Any:
            return con.execute(POINT_SQL, (px, py)).fetchall()

        # the decoded path on a point of its own: the same point again would find it hot
        px2, py2 = rng.uniform(-179, 178), rng.uniform(-80, 78)
        p2 = Query(intersects={"type": "Point", "coordinates": [px2, py2]}, limit=MAX_LIMIT)

        async def ours(q: Query = q, p: Query = p, p2: Query = p2) -> tuple[Any, ...]:
            a, a_ms = await atimed(index.search_json(q))
            b, b_ms = await atimed(index.search_json(p))
            c, c_ms = await atimed(index.search_views(p2))
            return a, a_ms, b, b_ms, c, c_ms

        if i % 2:  # alternate who goes first, so neither side always finds the caches warm
            (ga, ga_ms), (gb, gb_ms) = timed(pg_area), timed(pg_point)
            a, a_ms, b, b_ms, c, c_ms = await ours()
        else:
            a, a_ms, b, b_ms, c, c_ms = await ours()
            (ga, ga_ms), (gb, gb_ms) = timed(pg_area), timed(pg_point)
        assert a.total == len(a.docs) == len(ga), f"query {i}: {a.total} vs PostGIS {len(ga)}"
        assert b.total == len(gb), f"point {i}: {b.total} vs PostGIS {len(gb)}"
        assert c.total == len(pg_point(px2, py2)), f"point {i}: {c.total} differs"
        area_sp.append(a_ms)
        area_pg.append(ga_ms)
        point_sp.append(b_ms)
        point_sp_dec.append(c_ms)
        point_pg.append(gb_ms)
        area_hits.append(a.total)
        point_hits.append(b.total)
        areas.append(q)
    con.rollback()
    # The decoded paths against `search_json` on the same bbox queries, one after the other in
    # rotating order (no PostGIS between): `search_views` (read-only views: what STAC and the
    # CLI use) and `search` (pydantic records: what code that changes records uses).
    calls = {"json": index.search_json, "views": index.search_views, "records": index.search}
    times: dict[str, list[float]] = {name: [] for name in calls}
    names = list(calls)
    for i, q in enumerate(areas):
        totals = set()
        for name in names[i % 3 :] + names[: i % 3]:
            page, ms = await atimed(calls[name](q))
            times[name].append(ms)
            totals.add(page.total)
            # dropped, as a server drops a page once sent: alive through the next call, a
            # decoded page's objects would be walked by that call's collections, not its own
            del page
        assert len(totals) == 1, f"query {i}: totals differ {totals}"
    print(
        f"match counts equal on all {args.queries} queries of each shape; bbox matches: median "
        f"{pct(area_hits, 50):,}, point matches: mean {sum(point_hits) / len(point_hits):.2f}; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(f"| {label} | seedpipe SQLite | PostGIS (GiST + btree + GIN) | ratio |")
    print("|---|---|---|---|")
    print(row("bbox + datetime + type, all matches (`search_json`)", area_sp, area_pg))
    print(row("point query (`search_json`)", point_sp, point_pg))
    print(row("point query (`search_views`, decoded; other points)", point_sp_dec, point_pg))
    as_json = pct(times["json"], 50)
    for name, what in (("views", "read-only views"), ("records", "pydantic records")):
        print(
            f"| bbox + datetime + type, all matches, decoded (`{calls[name].__name__}`, {what}) "
            f"against `search_json` | p50 {pct(times[name], 50):.2f} ms against {as_json:.2f} ms "
            f"| — | {pct(times[name], 50) / as_json:.2f}x |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=600)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument(
        "--dsn", default=os.environ.get("SEEDPIPE_BENCH_DSN", "dbname=seedpipe_bench")
    )
    parser.add_argument("--db", type=Path, default=None, help="the SQLite index file")
    parser.add_argument(
        "--cluster", action="store_true", help="run `seedpipe cluster` after the load"
    )
    parser.add_argument(
        "--no-bulk", action="store_true", help="plain upserts, not one bulk load (`index.bulk()`)"
    )
    parser.add_argument(
        "--logged", action="store_true", help="PostGIS's table logged (crash-safe), not UNLOGGED"
    )
    args = parser.parse_args()
    con = connect(args.dsn)
    if con is None:
        return
    try:
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(bench(args, con, args.db or Path(tmp) / "index.db"))
    finally:
        con.execute("DROP TABLE IF EXISTS bench_peers")
        con.commit()
        con.close()


if __name__ == "__main__":
    main()
