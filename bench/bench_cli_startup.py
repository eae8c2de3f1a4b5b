"""Bench ``seedpipe --help`` wall time (the target is under 0.3 s); heavy clients load lazily.

Usage: .venv/bin/python bench/bench_cli_startup.py [--runs 20]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 0.3
HEAVY = (
    "boto3",
    "aiokafka",
    "elasticsearch",
    "opensearchpy",
    "fastapi",
    "uvicorn",
    "shapely",
    "PIL",
)


def command() -> list[str]:
    script = shutil.which("seedpipe", path=str(Path(sys.executable).parent))
    if script:
        return [script]
    return [sys.executable, "-c", "import sys; from seedpipe.cli import main; sys.exit(main())"]


def wall(argv: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(argv, cwd=ROOT, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    base = command()
    print(f"cpus={os.cpu_count()} runs={args.runs} command={' '.join(base[:1])}")
    bare = statistics.median(wall([sys.executable, "-c", "pass"], args.runs))
    print(f"{'python -c pass':<28} median {bare * 1000:6.1f} ms (interpreter floor)")
    failed = False
    for extra in (["--help"], ["job", "--help"], ["manifest", "--help"]):
        times = wall([*base, *extra], args.runs)
        med = statistics.median(times)
        worst = max(times)
        ok = med < TARGET_S
        failed |= not ok
        label = "seedpipe " + " ".join(extra)
        print(
            f"{label:<28} median {med * 1000:6.1f} ms, max {worst * 1000:6.1f} ms "
            f"[{'ok' if ok else 'OVER'} < {TARGET_S * 1000:.0f} ms]"
        )
    probe = (
        "import contextlib, io, sys\nfrom seedpipe.cli import main\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['job', '--help'])\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    loaded = (
        subprocess.run(
            [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=False
        )
        .stdout.strip()
        .splitlines()
    )
    print(f"heavy modules imported by 'job --help': {loaded[-1] if loaded else '?'}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
