"""STAC datetime searches: the data time alone vs data_or_created (what STAC now asks for).

`bench/bench_stac_time.py [--records 200000] [--queries 200]`: builds a SQLite index of synthetic
records (a tenth without data time), then times the first page of 10 plus the count.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_index import synthetic
from indexer.backends import open_index
from seedpipe.query.model import Query
from seedpipe.settings import IndexSettings


async def bench(records: int, queries: int) -> None:
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        settings = IndexSettings(url=f"sqlite:///{tmp}/index.db")
        async with open_index(settings) as index:
            batch = []
            for i in range(records):
                r = synthetic(rng, i)
                if i % 10 == 0:
                    r = r.model_copy(update={"data_started": None, "data_ended": None})
                batch.append(r)
                if len(batch) == 5000:
                    await index.upsert(batch)
                    batch = []
            if batch:
                await index.upsert(batch)
            base = datetime(2015, 1, 1, tzinfo=UTC)
            for label, extra in (
                ("one month", {}),
                ("one month + bbox of Europe", {"bbox": (-10, 35, 30, 60)}),
            ):
                for field in ("data", "data_or_created"):
                    times = []
                    for _ in range(queries):
                        start = base + timedelta(days=rng.randrange(3000))
                        q = Query(
                            datetime={"start": start, "end": start + timedelta(days=30)},
                            time_field=field,
                            limit=10,
                            **extra,
                        )
                        t = time.perf_counter()
                        await index.search(q)
                        times.append((time.perf_counter() - t) * 1000)
                    print(
                        f"{label:28} {field:16} p50 {statistics.median(times):7.2f} ms  "
                        f"p95 {sorted(times)[int(0.95 * len(times))]:7.2f} ms"
                    )
    print(f"records {records}, cores {os.cpu_count()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(bench(args.records, args.queries))


if __name__ == "__main__":
    main()
