"""Bench ``seedpipe reindex``: the indexer service reading N file events from the SQLite bus
into a fresh SQLite index (one bulk load), what a rebuild of the index waits on.

Usage: .venv/bin/python bench/bench_reindex.py [--events 50000]

The events (``bench_indexer_service.py``'s records: half points, half small footprints) are
published first and not timed; then ``reindex`` runs and its events/s and peak RSS are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_indexer_service import bench_settings, publish

from indexer.service import reindex
from seedpipe.bus import open_bus


async def run(n: int, root: Path) -> None:
    settings = bench_settings(root)
    async with open_bus(settings.bus) as bus:
        await publish(bus, settings, n, random.Random(7))
    t0 = time.perf_counter()
    stats = await reindex(settings, index_url=f"sqlite:///{root / 'rebuilt.db'}")
    took = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"cores={os.cpu_count()} reindex: {stats.written:,} of {n:,} events written in "
        f"{took:.1f} s = {n / took:,.0f} events/s, peak RSS {rss:.0f} MiB, "
        f"load average {os.getloadavg()[0]:.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=50_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(args.events, Path(tmp)))


if __name__ == "__main__":
    main()
