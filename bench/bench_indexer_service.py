"""Bench the indexer service (SQLite bus -> hygiene, countries -> SQLite index) and API search.

Usage: .venv/bin/python bench/bench_indexer_service.py [--events 50000] [--queries 300]

Prints events/s through ``IndexerService`` (consumer group, batches, geometry hygiene, countries,
idempotent upserts, saved-search matching with one subscription) and p50/p99 latency of
``GET /files`` and ``POST /search`` (bbox + datetime + data type, 100 per page) through the
real FastAPI app in process.
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

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from composition.http import create_app
from indexer.backends import open_index
from indexer.backends.base import Subscription
from indexer.service import IndexerService
from seedpipe import events
from seedpipe.bus import open_bus
from seedpipe.bus.base import EventBus
from seedpipe.events import file_event
from seedpipe.query.model import Query
from seedpipe.records import FileRecord, WorkspaceRef
from seedpipe.settings import Settings

TYPES = ["landsat", "sentinel", "modis", "sar", "dem"]
START = datetime(2015, 1, 1, tzinfo=UTC)


def synthetic(i: int, rng: random.Random) -> FileRecord:
    x, y = rng.uniform(-179, 178), rng.uniform(-60, 70)
    if i % 2:
        geometry = {"type": "Point", "coordinates": [x, y]}
    else:
        w, h = rng.uniform(0.1, 1.0), rng.uniform(0.1, 1.0)
        ring = [[x, y], [x + w, y], [x + w, y + h], [x, y + h], [x, y]]
        geometry = {"type": "Polygon", "coordinates": [ring]}
    began = START + timedelta(seconds=rng.uniform(0, 10 * 365 * 86400))
    return FileRecord(
        id=f"r{i}",
        file_name=f"r{i}.tif",
        workspace=WorkspaceRef(name="raw"),
        file_path=f"r{i}.tif",
        data_type_tags=[rng.choice(TYPES)],
        data_started=began,
        data_ended=began + timedelta(hours=rng.uniform(0, 48)),
        geometry=geometry,
    )


def bench_settings(root: Path) -> Settings:
    """A SQLite bus and index under ``root`` (also bench_reindex.py's)."""
    return Settings.load(
        None,
        data_dir=str(root),
        bus={"url": "sqlite:///events.db", "sqlite": {"synchronous": "NORMAL"}},
        index={"url": "sqlite:///index.db"},
        workspaces={"raw": {"url": str(root / "raw")}},
    )


async def publish(bus: EventBus, settings: Settings, n_events: int, rng: random.Random) -> None:
    """``n_events`` file events of ``synthetic`` records, in batches of 5,000."""
    topic = settings.topic(events.FILES_TOPIC)
    for lo in range(0, n_events, 5000):
        batch = [
            file_event(events.FILE_INGESTED, synthetic(i, rng), "bench")
            for i in range(lo, min(n_events, lo + 5000))
        ]
        await bus.publish_many(topic, batch)


async def run(n_events: int, n_queries: int, root: Path) -> None:
    settings = bench_settings(root)
    rng = random.Random(7)
    async with open_bus(settings.bus) as bus, open_index(settings.index) as index:
        await index.add_subscription(
            Subscription(id="s", name="sar", query=Query(data_types_any=["sar"]))
        )
        await publish(bus, settings, n_events, rng)
        service = IndexerService(settings, bus, index)
        t0 = time.perf_counter()
        await service.run(asyncio.Event(), until_caught_up=True)
        took = time.perf_counter() - t0
        print(
            f"indexer service: {n_events} events in {took:.1f} s = {n_events / took:,.0f} events/s "
            f"(written {service.stats.written}, matched {service.stats.matched})"
        )
        app = create_app(settings, index=index)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for name, call in (("GET /files", _files), ("POST /search", _search)):
                lat = []
                for _ in range(n_queries):
                    t = time.perf_counter()
                    r = await call(client, rng)
                    lat.append((time.perf_counter() - t) * 1000)
                    assert r.status_code == 200, r.text
                lat.sort()
                p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
                print(
                    f"{name} ({PAGE[0]} a page): p50 {statistics.median(lat):.1f} ms, "
                    f"p99 {p99:.1f} ms"
                )


PAGE = [100]  # records a page; --page-size


def _window(rng: random.Random) -> tuple[list[float], str]:
    x, y = rng.uniform(-170, 120), rng.uniform(-50, 20)
    began = START + timedelta(days=rng.uniform(0, 9 * 365))
    end = began + timedelta(days=365)
    return [x, y, x + 50, y + 50], f"{began.isoformat()}/{end.isoformat()}"


async def _files(client: httpx.AsyncClient, rng: random.Random) -> httpx.Response:
    bbox, interval = _window(rng)
    return await client.get(
        "/files",
        params={
            "bbox": ",".join(map(str, bbox)),
            "datetime": interval,
            "data_type": rng.choice(TYPES),
            "page_size": PAGE[0],
        },
    )


async def _search(client: httpx.AsyncClient, rng: random.Random) -> httpx.Response:
    bbox, interval = _window(rng)
    body = {"bbox": bbox, "datetime": interval, "limit": PAGE[0]}
    return await client.post("/search", json=body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--page-size", type=int, default=100, help="records a page (both APIs)")
    args = parser.parse_args()
    PAGE[0] = args.page_size
    print(f"cores: {os.cpu_count()}")
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(args.events, args.queries, Path(tmp)))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {rss:.0f} MiB")


if __name__ == "__main__":
    main()
