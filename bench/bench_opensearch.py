"""Bench the OpenSearch file index beside the SQLite one, in one run on the same records.

Bulk-indexes N synthetic records (bench_index.py's) into both through the backends, then times
the same bbox + datetime + type and point queries on each (p50/p99) and prints the ratios.
OpenSearch is the node ``make opensearch`` runs (started here unless --url / OPENSEARCH_URL).

Usage: .venv/bin/python bench/bench_opensearch.py [--records 1000000] [--queries 500]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_index import START, TYPES, pct, synthetic  # noqa: E402

from indexer.backends.base import FileIndex  # noqa: E402
from indexer.backends.elastic.opensearch import OpenSearchIndex  # noqa: E402
from indexer.backends.sqlite.index import SqliteIndex  # noqa: E402
from seedpipe.query.model import Query  # noqa: E402
from seedpipe.settings import ElasticsearchSettings, IndexSettings  # noqa: E402


@contextmanager
def opensearch(url: str | None) -> Iterator[str]:
    """The given node, or one started by deploy/opensearch/run for this run."""
    if url:
        yield url
        return
    proc = subprocess.Popen(
        [str(ROOT / "deploy" / "opensearch" / "run")],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    assert proc.stdout is not None
    try:
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            while proc.poll() is None:
                if sel.select(timeout=1):
                    line = proc.stdout.readline().decode().strip()
                    if line.startswith("OPENSEARCH_URL="):
                        yield line.partition("=")[2]
                        return
        raise SystemExit("OpenSearch did not start")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=60)


async def load(index: FileIndex, records: int, batch: int) -> tuple[float, float]:
    """Bulk-index the synthetic records (same seed for every backend): (wall s, CPU s)."""
    rng = random.Random(42)
    spent = cpu = 0.0
    done = 0
    while done < records:
        chunk = [synthetic(rng, done + k) for k in range(min(batch, records - done))]
        t0, c0 = time.perf_counter(), time.process_time()
        results = await index.upsert(chunk)
        spent += time.perf_counter() - t0
        cpu += time.process_time() - c0
        bad = [r for r in results if r.status != "written"]
        assert not bad, bad[:3]
        done += len(chunk)
    return spent, cpu


def workload(queries: int) -> list[tuple[str, Query]]:
    """bench_index.py's query mix: a 30° box over two years and one type, and a point."""
    rng = random.Random(7)
    out: list[tuple[str, Query]] = []
    for _ in range(queries):
        x, y = rng.uniform(-179, 149), rng.uniform(-60, 30)
        t = START + timedelta(days=rng.randrange(8 * 365))
        out.append(("area", Query(
            bbox=(x, y, x + 30, y + 30), datetime={"start": t, "end": t + timedelta(days=730)},
            data_types_any=[rng.choice(TYPES)], limit=1000,
        )))  # fmt: skip
        px, py = rng.uniform(-179, 178), rng.uniform(-80, 78)
        out.append(("point", Query(intersects={"type": "Point", "coordinates": [px, py]})))
    return out


async def timed(index: FileIndex, work: list[tuple[str, Query]]) -> dict[str, list[float]]:
    ms: dict[str, list[float]] = {"area": [], "point": [], "area_hits": []}
    for kind, q in work:
        t0 = time.perf_counter()
        page = await index.search(q)
        ms[kind].append((time.perf_counter() - t0) * 1000)
        if kind == "area":
            ms["area_hits"].append(len(page.records))
    return ms


async def heap(index: OpenSearchIndex) -> str:
    stats = await index._ok("GET", "/_nodes/stats/jvm,indices", params={"filter_path": "nodes"})
    node = next(iter(stats["nodes"].values()))
    mem = node["jvm"]["mem"]
    store = node["indices"]["store"]["size_in_bytes"]
    return (
        f"heap used {mem['heap_used_in_bytes'] / 2**20:.0f} of "
        f"{mem['heap_max_in_bytes'] / 2**20:.0f} MiB, store {store / 2**20:.0f} MiB"
    )


async def bench(url: str, records: int, queries: int, batch: int, db: Path) -> None:
    print(f"cores={os.cpu_count()} records={records:,} queries={queries} per kind, batch={batch}")
    index_url = "opensearch://" + url.split("://", 1)[1]
    settings = IndexSettings(
        url=index_url, opensearch=ElasticsearchSettings(index_prefix=f"bench-{os.getpid()}")
    )
    work = workload(queries)
    rows: dict[str, dict[str, float]] = {}
    async with SqliteIndex(f"sqlite:///{db}") as lite:
        wall, cpu = await load(lite, records, batch)
        print(f"sqlite bulk: {records / wall:,.0f} records/s ({wall:.0f} s, CPU {cpu:.0f} s)")
        ms = await timed(lite, work)
        rows["sqlite"] = {"bulk": records / wall, **summary(ms)}
    engine = OpenSearchIndex(index_url, settings)
    async with engine:
        try:
            wall, cpu = await load(engine, records, batch)
            await engine._ok("POST", f"/{engine.alias}/_refresh")
            print(
                f"opensearch bulk: {records / wall:,.0f} records/s ({wall:.0f} s, client CPU "
                f"{cpu:.0f} s); {await heap(engine)}"
            )
            await timed(engine, work[:40])  # warm the caches as SQLite's page cache is warm
            ms = await timed(engine, work)
            rows["opensearch"] = {"bulk": records / wall, **summary(ms)}
            print(f"after queries: {await heap(engine)}")
        finally:
            await engine.drop()
    print("| index | bulk records/s | bbox+datetime+type p50 / p99 ms | point p50 / p99 ms |")
    print("|---|---:|---:|---:|")
    for name, r in rows.items():
        print(
            f"| {name} | {r['bulk']:,.0f} | {r['area50']:.1f} / {r['area99']:.1f} "
            f"| {r['point50']:.2f} / {r['point99']:.2f} |"
        )
    s, o = rows["sqlite"], rows["opensearch"]
    print(
        f"opensearch / sqlite: bulk x{o['bulk'] / s['bulk']:.2f}, area p50 "
        f"x{o['area50'] / s['area50']:.2f}, point p50 x{o['point50'] / s['point50']:.2f} "
        f"(mean {s['hits']:.0f} records returned by an area query); "
        f"load average {os.getloadavg()[0]:.1f}"
    )


def summary(ms: dict[str, list[float]]) -> dict[str, float]:
    hits = ms["area_hits"]
    return {
        "area50": pct(ms["area"], 50), "area99": pct(ms["area"], 99),
        "point50": pct(ms["point"], 50), "point99": pct(ms["point"], 99),
        "hits": sum(hits) / max(1, len(hits)),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--url", default=os.environ.get("OPENSEARCH_URL"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, opensearch(args.url) as url:
        asyncio.run(bench(url, args.records, args.queries, args.batch, Path(tmp) / "index.db"))


if __name__ == "__main__":
    main()
