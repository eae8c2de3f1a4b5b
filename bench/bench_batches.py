"""Bench planning and queueing a batch over N indexed files on the embedded defaults.

Usage: .venv/bin/python bench/bench_batches.py [--files 10000 100000 1000000] [--out bench/out]

The SQLite index of N synthetic records is built once under --out (reused by later runs); each
plan runs in a fresh process so its peak RSS is the planner's alone: the catalogue walked in
pages of 1,000 through the read-only CatalogueReader, one job row per file in jobs.db.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

EXAMPLE = ROOT / "examples" / "watermark"


async def build(db: Path, n: int) -> None:
    import random

    from bench_index import synthetic

    from indexer.backends.sqlite.index import SqliteIndex

    rng = random.Random(7)
    t0 = time.perf_counter()
    tmp = db.with_suffix(".building")
    async with SqliteIndex(f"sqlite:///{tmp}") as index:
        for start in range(0, n, 5000):
            await index.upsert([synthetic(rng, i) for i in range(start, min(n, start + 5000))])
    tmp.rename(db)
    print(f"  built {n:,} records in {time.perf_counter() - t0:.0f} s", flush=True)


def peak_rss_mib() -> float:
    """This process's peak RSS (VmHWM; ru_maxrss would carry the parent's over exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def plan_once(db: Path) -> dict[str, float]:
    from capture.batches import creation, planner, tracking
    from capture.batches.model import parse_request
    from capture.batches.store import BatchStore
    from capture.jobs import JobStore
    from capture.jobtypes import load_job_type
    from capture.revisions import register_all
    from indexer.backends.sqlite.index import SqliteIndex
    from seedpipe.settings import JobTypeSettings

    jt = load_job_type(
        JobTypeSettings(
            name="image-watermark",
            manifest=str(EXAMPLE / "seed.manifest.json"),
            entrypoint="python watermark.py",
            output_workspace="out",
        ),
        EXAMPLE,
    )
    work = Path(tempfile.mkdtemp(prefix="bench-batches-"))
    jobs, batches = JobStore(work / "jobs.db"), BatchStore(work / "batches.db")
    types = {jt.name: jt}
    rss0 = peak_rss_mib()
    async with SqliteIndex(f"sqlite:///{db}") as index:
        t0 = time.perf_counter()
        made = await creation.create(
            parse_request({"job_type": jt.name, "query": {"file_types": ["SOURCE"]}}),
            batches=batches,
            jobs=jobs,
            index=index,
            job_types=types,
            revisions=register_all(jobs.path, types),
        )
        t1 = time.perf_counter()
        created = await planner.plan(made["id"], batches, jobs, index, types)
        t2 = time.perf_counter()
    done = tracking.progress(batches.require(made["id"]), jobs)
    assert done["progress"]["queued"] == created == made["count"], (done, created)
    size = (work / "jobs.db").stat().st_size
    jobs.close()
    batches.close()
    return {
        "files": created,
        "create_s": t1 - t0,
        "plan_s": t2 - t1,
        "rss_start_mib": rss0,
        "rss_peak_mib": peak_rss_mib(),
        "jobs_db_mib": size / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--plan", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.plan:
        print(json.dumps(asyncio.run(plan_once(args.plan))))
        return
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"cores={os.cpu_count()} load={os.getloadavg()[0]:.1f}")
    for n in args.files:
        db = args.out / f"batches-index-{n}.db"
        if not db.exists():
            asyncio.run(build(db, n))
        out = subprocess.run(
            [sys.executable, __file__, "--plan", str(db)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        r = json.loads(out.strip().splitlines()[-1])
        print(
            f"{n:>9,} files: count + record {r['create_s'] * 1000:.0f} ms, plan and queue "
            f"{r['plan_s']:.1f} s = {r['files'] / r['plan_s']:,.0f} files/s, peak RSS "
            f"{r['rss_peak_mib']:.0f} MiB (at start {r['rss_start_mib']:.0f}), "
            f"jobs.db {r['jobs_db_mib']:.0f} MiB, load {os.getloadavg()[0]:.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
