"""Bench the SQLite file index: bulk-index synthetic records, then time bbox/time/type queries.

Usage: .venv/bin/python bench/bench_index.py [--records 1000000] [--queries 1000] [--db PATH]

Wall-clock figures suffer when other processes share the cores, so CPU time is printed too.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from indexer.backends.sqlite.index import SqliteIndex
from seedpipe.query.model import Query
from seedpipe.records import FileRecord, WorkspaceRef

TYPES = ["optical", "sar", "elevation", "weather", "ais"]
START = datetime(2015, 1, 1, tzinfo=UTC)
SPAN_S = 10 * 365 * 86400
WS = WorkspaceRef(name="raw")


def synthetic(rng: random.Random, i: int) -> FileRecord:
    """A point (half) or a small polygon (a box, or a skewed quad) somewhere on Earth."""
    x, y = rng.uniform(-179, 178), rng.uniform(-80, 78)
    kind = rng.random()
    if kind < 0.5:
        geometry = {"type": "Point", "coordinates": [x, y]}
    else:
        w, h = rng.uniform(0.05, 1.5), rng.uniform(0.05, 1.5)
        skew = 0.0 if kind < 0.75 else rng.uniform(0.05, 0.5) * h  # a valid skewed quad
        ring = [[x, y], [x + w, y + skew], [x + w, y + h], [x, y + h], [x, y]]
        geometry = {"type": "Polygon", "coordinates": [ring]}
    started = START + timedelta(seconds=rng.randrange(SPAN_S))
    ended = started + timedelta(seconds=rng.randrange(30 * 86400))
    return FileRecord(
        id=f"{i:012d}",
        file_name=f"scene_{i}.tif",
        workspace=WS,
        file_path=f"scenes/scene_{i}.tif",
        media_type="image/tiff",
        file_size=rng.randrange(1, 10**9),
        data_type_tags=rng.sample(TYPES, rng.choice((1, 1, 2))),
        data_started=started,
        data_ended=ended,
        geometry=geometry,
        meta_data={"cloud": rng.randrange(100), "platform": rng.choice(["s1", "s2", "l8"])},
    )


# Queries a user starts with: few filters, many matches, the first page of 10 and the count.
BROAD = [
    ("bbox of Europe", Query(bbox=(-10, 35, 30, 60), limit=10)),
    ("bbox of the world", Query(bbox=(-180, -90, 180, 90), limit=10)),
    ("one data type", Query(data_types_any=["sar"], limit=10)),
    (
        "one month of data time",
        Query(
            datetime={
                "start": datetime(2020, 1, 1, tzinfo=UTC),
                "end": datetime(2020, 2, 1, tzinfo=UTC),
            },
            limit=10,
        ),
    ),
    ("no filter", Query(limit=10)),
    ("file name contains", Query(file_name_contains="scene_12345", limit=10)),
    ("file name contains, common", Query(file_name_contains="scene_1", limit=10)),
]


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


async def bench(records: int, queries: int, db: Path, batch: int) -> None:
    rng = random.Random(42)
    print(f"cores={os.cpu_count()} records={records} queries={queries} db={db}")
    async with SqliteIndex(f"sqlite:///{db}") as index:
        spent = cpu = 0.0
        generated = 0
        while generated < records:
            chunk = [synthetic(rng, generated + k) for k in range(min(batch, records - generated))]
            t0, c0 = time.perf_counter(), time.process_time()
            results = await index.upsert(chunk)
            spent += time.perf_counter() - t0
            cpu += time.process_time() - c0
            assert all(r.status == "written" for r in results)
            generated += len(chunk)
        print(
            f"index: {records / spent:,.0f} records/s wall ({spent:.1f} s), "
            f"{records / cpu:,.0f} records per CPU-second, peak RSS {rss_mib():.0f} MiB, "
            f"load average {os.getloadavg()[0]:.1f}"
        )

        area_ms, area_hits, point_ms, point_hits = [], [], [], []
        area_cpu, point_cpu, json_ms, json_hits = [], [], [], []

        def area() -> Query:
            x, y = rng.uniform(-179, 149), rng.uniform(-60, 30)
            t = START + timedelta(days=rng.randrange(8 * 365))
            return Query(
                bbox=(x, y, x + 30, y + 30),
                datetime={"start": t, "end": t + timedelta(days=730)},
                data_types_any=[rng.choice(TYPES)],
                limit=1000,
            )

        for _ in range(queries):
            q = area()
            t0, c0 = time.perf_counter(), time.process_time()
            page = await index.search(q)
            area_ms.append((time.perf_counter() - t0) * 1000)
            area_cpu.append((time.process_time() - c0) * 1000)
            area_hits.append(len(page.records))
            # the same kind of query (not the same one: its pages would be hot) as JSON text,
            # the way GET /files serves it
            q = area()
            t0 = time.perf_counter()
            raw = await index.search_json(q)
            json_ms.append((time.perf_counter() - t0) * 1000)
            json_hits.append(len(raw.docs))
            px, py = rng.uniform(-179, 178), rng.uniform(-80, 78)
            q = Query(intersects={"type": "Point", "coordinates": [px, py]}, limit=1000)
            t0, c0 = time.perf_counter(), time.process_time()
            page = await index.search(q)
            point_ms.append((time.perf_counter() - t0) * 1000)
            point_cpu.append((time.process_time() - c0) * 1000)
            point_hits.append(page.total)
        print(
            f"bbox+datetime+type: p50 {pct(area_ms, 50):.1f} ms, p99 {pct(area_ms, 99):.1f} ms "
            f"(CPU p50 {pct(area_cpu, 50):.1f} ms), "
            f"mean {statistics.mean(area_hits):.0f} records returned"
        )
        print(
            f"bbox+datetime+type as JSON (search_json, GET /files): p50 {pct(json_ms, 50):.1f} ms, "
            f"p99 {pct(json_ms, 99):.1f} ms, mean {statistics.mean(json_hits):.0f} records returned"
        )
        print(
            f"point: p50 {pct(point_ms, 50):.1f} ms, p99 {pct(point_ms, 99):.1f} ms "
            f"(CPU p50 {pct(point_cpu, 50):.1f} ms), "
            f"mean {statistics.mean(point_hits):.1f} matches"
        )
        for name, q in BROAD:
            ms = []
            for _ in range(3):
                t0 = time.perf_counter()
                page = await index.search(q)
                ms.append((time.perf_counter() - t0) * 1000)
            print(f"broad, first 10 and the total: {name}: {min(ms):.0f} ms, total {page.total:,}")
        print(
            f"peak RSS {rss_mib():.0f} MiB, index file {db.stat().st_size / 2**20:.0f} MiB, "
            f"load average {os.getloadavg()[0]:.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--db", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / "index.db"
        asyncio.run(bench(args.records, args.queries, db, args.batch))


if __name__ == "__main__":
    main()
