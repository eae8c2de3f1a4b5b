"""A bulk load written in process against one written by the writer process (sqlite/writer.py).

Usage: .venv/bin/python bench/bench_writer.py [--records 600000] [--batch 5000] [--runs 2]

Builds N records of ``bench_peers.py``'s mix once, then loads them into fresh SQLite files in
one ``bulk()`` each, batch by batch, alternating the two ways run after run: in process (the
writer's threshold above any batch) and through the writer process. Times the upserts alone
(the load's end is the same code either way and is printed apart) and prints records a second,
the ratio of each pair, and for the writer, where the index's thread spent its time a record:
preparing rows, sending them, and waiting for the child's answers to a batch's begin and commit.
Never part of ``make test``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_peers import batches

from indexer.backends.sqlite import writer as writer_module
from indexer.backends.sqlite.index import SqliteIndex
from seedpipe.records import FileRecord

SPENT: dict[str, float] = {}


def _timed(name: str, fn: Any) -> Any:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            SPENT[name] = SPENT.get(name, 0.0) + time.perf_counter() - t0

    return wrapper


def instrument() -> None:
    """Count the index thread's time in the writer's steps (the functions it calls)."""
    writer_module.prepare = _timed("prepare", writer_module.prepare)
    writer_module.Writer._send = _timed("send", writer_module.Writer._send)  # type: ignore[method-assign]
    writer_module.Writer._reply = _timed("answers", writer_module.Writer._reply)  # type: ignore[method-assign]


async def load(loads: list[list[FileRecord]], beside: bool) -> tuple[float, float]:
    """Records a second of the upserts, and the seconds of the load's end."""
    with tempfile.TemporaryDirectory() as tmp:
        async with SqliteIndex(f"sqlite:///{Path(tmp) / 'index.db'}") as index:
            index.writer_min = writer_module.WRITER_MIN if beside else 1 << 62
            async with index.bulk():
                t0 = time.perf_counter()
                for batch in loads:
                    await index.upsert(batch)
                took = time.perf_counter() - t0
                t1 = time.perf_counter()
            end = time.perf_counter() - t1
    return sum(map(len, loads)) / took, end


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=600_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    print(
        f"cores={os.cpu_count()} records={args.records:,} batch={args.batch:,} "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    loads = list(batches(args.records, args.batch))
    instrument()
    print("| run | in process | writer process | ratio | index thread, µs a record |")
    print("|---|---|---|---|---|")
    for run in range(args.runs):
        inside, inside_end = asyncio.run(load(loads, beside=False))
        SPENT.clear()
        beside, beside_end = asyncio.run(load(loads, beside=True))
        spent = ", ".join(f"{k} {v / args.records * 1e6:.1f}" for k, v in SPENT.items())
        print(
            f"| {run + 1} | {inside:,.0f} records/s (end {inside_end:.1f} s) "
            f"| {beside:,.0f} records/s (end {beside_end:.1f} s) | {beside / inside:.2f}x "
            f"| {spent} |"
        )


if __name__ == "__main__":
    main()
