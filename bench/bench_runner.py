"""Bench runner overhead: a trivial job with 10 outputs + sidecars, run_job vs launching it bare.

Usage: .venv/bin/python bench/bench_runner.py [--runs 30] [--outputs 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from capture.contract.runner import JobSpec, StagedInput, run_job
from capture.seed import load_manifest

JOB = """
import json, os, sys
out, n = os.environ["OUTPUT_DIR"], int(sys.argv[2])
for i in range(n):
    path = os.path.join(out, f"out{i}.dat")
    open(path, "wb").write(os.urandom(4096))
    json.dump({"type": "Feature", "geometry": {"type": "Point", "coordinates": [i, i]},
               "properties": {"dataStarted": "2020-01-01T00:00:00Z"}},
              open(path + ".metadata.json", "w"))
"""


def manifest(outputs: int) -> dict:
    return {
        "seedVersion": "1.0.0",
        "job": {
            "name": "bench",
            "jobVersion": "1.0.0",
            "packageVersion": "1.0.0",
            "title": "Bench",
            "description": "Writes N outputs with sidecars",
            "maintainer": {"name": "Bench", "email": "bench@example.com"},
            "timeout": 60,
            "interface": {
                "command": f"${{IN}} {outputs}",
                "inputs": {"files": [{"name": "IN"}]},
                "outputs": {"files": [{"name": "OUT", "pattern": "out*.dat", "multiple": True}]},
            },
            "resources": {"scalar": [{"name": "cpus", "value": 1}, {"name": "mem", "value": 256}]},
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--outputs", type=int, default=10)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-runner-"))
    script = work / "job.py"
    script.write_text(JOB)
    source = work / "input.dat"
    source.write_bytes(os.urandom(64 * 1024))
    m = load_manifest(manifest(args.outputs))
    entry = [sys.executable, str(script)]

    async def runner_once(i: int) -> float:
        t0 = time.perf_counter()
        result = await run_job(
            JobSpec(
                manifest=m,
                job_dir=work / f"job{i}",
                inputs={"IN": [StagedInput(source)]},
                entrypoint=shlex.join(entry),
            )
        )
        elapsed = time.perf_counter() - t0
        assert result.ok and len(result.outputs["OUT"]) == args.outputs, result.error
        return elapsed

    def bare_once(i: int) -> float:
        out = work / f"bare{i}"
        out.mkdir()
        t0 = time.perf_counter()
        subprocess.run(
            [*entry, str(source), str(args.outputs)],
            env={**os.environ, "OUTPUT_DIR": str(out)},
            check=True,
        )
        return time.perf_counter() - t0

    async def runner_all() -> list[float]:
        await runner_once(-1)  # warm imports (pydantic, shapely) once, as a service would
        return [await runner_once(i) for i in range(args.runs)]

    try:
        bare_once(-1)
        bare = [bare_once(i) for i in range(args.runs)]
        ran = asyncio.run(runner_all())
    finally:
        shutil.rmtree(work, ignore_errors=True)
    b, r = statistics.median(bare), statistics.median(ran)
    print(f"cpus={os.cpu_count()} runs={args.runs} outputs={args.outputs} (+ sidecars each)")
    print(f"bare entrypoint : median {b * 1000:7.1f} ms")
    print(f"run_job         : median {r * 1000:7.1f} ms")
    print(f"overhead        : {(r - b) * 1000:7.1f} ms per job, ratio {r / b:.2f}x")


if __name__ == "__main__":
    main()
