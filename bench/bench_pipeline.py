"""Bench the whole pipeline on the embedded defaults with the watermark job.

Drop-to-searchable latency p50/p99 one file at a time, then throughput for N files dropped at
once, against running the same entrypoint N times bare (same concurrency), as a ratio.

Usage: .venv/bin/python bench/bench_pipeline.py [--files 1000] [--latency-files 50] [--cpus 2]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from indexer.backends import open_index  # noqa: E402
from seedpipe.query.model import Query  # noqa: E402
from seedpipe.settings import Settings  # noqa: E402
from tests.functional.pipeline.conftest import (  # noqa: E402
    EXAMPLE,
    config_text,
    running_pipeline,
    write_png,
)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def wait_products(index, n: int, timeout: float = 3600) -> None:
    deadline = time.monotonic() + timeout
    while await index.count(Query(file_types=["PRODUCT"])) < n:
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {n} products")
        await asyncio.sleep(0.005)


def settings_for(root: Path, cpus: float) -> Settings:
    (root / "drop").mkdir(parents=True)
    text = config_text(root).replace("cpus = 2", f"cpus = {cpus}")
    text = text.replace("max_concurrent = 2", f"max_concurrent = {max(1, int(cpus))}")
    (root / "seedpipe.toml").write_text(text)
    return Settings.load(root / "seedpipe.toml")


async def latency(n: int, cpus: float) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        settings = settings_for(root, cpus)
        src = root / "src"
        for i in range(n):
            write_png(src / f"img_{i:04d}.png", i)
        out = []
        async with running_pipeline(settings), open_index(settings.index) as index:
            for i in range(n):
                t0 = time.monotonic()
                os.rename(src / f"img_{i:04d}.png", root / "drop" / f"img_{i:04d}.png")
                await wait_products(index, i + 1)
                out.append(time.monotonic() - t0)
        return out


async def throughput(n: int, cpus: float) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        settings = settings_for(root, cpus)
        src = root / "src"
        for i in range(n):
            write_png(src / f"img_{i:04d}.png", i)
        async with running_pipeline(settings), open_index(settings.index) as index:
            t0 = time.monotonic()
            for i in range(n):
                os.rename(src / f"img_{i:04d}.png", root / "drop" / f"img_{i:04d}.png")
            await wait_products(index, n)
            return time.monotonic() - t0


async def bare(n: int, concurrency: int) -> float:
    """The entrypoint alone, ``n`` times, ``concurrency`` at once: the floor for the pipeline."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for i in range(n):
            write_png(root / "in" / f"img_{i:04d}.png", i)
        sem = asyncio.Semaphore(concurrency)

        async def one(i: int) -> None:
            out = root / "out" / str(i)
            out.mkdir(parents=True)
            async with sem:
                proc = await asyncio.create_subprocess_exec(
                    sys.executable,
                    str(EXAMPLE / "watermark.py"),
                    str(root / "in" / f"img_{i:04d}.png"),
                    str(out),
                    env={**os.environ, "OUTPUT_DIR": str(out)},
                )
                if await proc.wait() != 0:
                    raise SystemExit(f"bare run {i} failed")

        t0 = time.monotonic()
        await asyncio.gather(*(one(i) for i in range(n)))
        return time.monotonic() - t0


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--latency-files", type=int, default=50)
    parser.add_argument("--cpus", type=float, default=float(os.cpu_count() or 1))
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    conc = max(1, int(args.cpus))
    print(f"cpu_count={os.cpu_count()} capture.cpus={args.cpus} (jobs at once: {conc})")
    lat = await latency(args.latency_files, args.cpus)
    print(
        f"drop-to-searchable latency, one file at a time (n={len(lat)}, settle_s=0.2): "
        f"p50 {statistics.median(lat) * 1000:.0f} ms, p99 {pct(lat, 0.99) * 1000:.0f} ms"
    )
    piped = await throughput(args.files, args.cpus)
    floor = await bare(args.files, conc)
    print(
        f"throughput, {args.files} files dropped at once: {piped:.1f} s "
        f"({args.files / piped:.1f} files/s)"
    )
    print(
        f"bare entrypoint {args.files} times, {conc} at once: {floor:.1f} s "
        f"({args.files / floor:.1f} runs/s); pipeline/bare time ratio {piped / floor:.2f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
