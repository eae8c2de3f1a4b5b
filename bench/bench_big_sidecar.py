"""Peak memory and time of `seedpipe job run` on a product sidecar of N vertices.

A sidecar may be up to 16 MiB, an event 1 MiB: the geometry is thinned to the vertex budget
and the full sidecar kept beside the product. Prints the sidecar size, the child's peak RSS
(ru_maxrss), wall time and the vertices kept.

    .venv/bin/python bench/bench_big_sidecar.py [--vertices 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
JOB = ROOT / "tests" / "functional" / "pipeline" / "fault_job"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--vertices", type=int, default=1_000_000)
    args = ap.parse_args()
    n = args.vertices
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "hugeline_1.bin"  # the fault job copies it to its product's sidecar
        coords = ",".join(f"[{-170 + 340 * i / n:.3f},{i % 3}]" for i in range(n))
        source.write_text(
            '{"type": "Feature", "properties": {}, "geometry": '
            f'{{"type": "LineString", "coordinates": [{coords}]}}}}'
        )
        del coords
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-c", "import sys; from seedpipe.cli import main; sys.exit(main())",
             "job", "run", str(JOB / "seed.manifest.json"), "-o", str(Path(tmp) / "out"),
             "-i", f"INPUT_FILE={source}", "--entrypoint", f"{sys.executable} {JOB / 'fault.py'}"],
            capture_output=True, text=True, check=False, cwd=ROOT,
        )  # fmt: skip
        wall = time.monotonic() - started
        peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        doc = json.loads(done.stdout)
        (product,) = doc["outputs"]["OUTPUT_FILE"]
        print(f"cpus={os.cpu_count()} vertices={n} sidecar={source.stat().st_size / 2**20:.1f} MiB")
        print(f"status={doc['status']} peak RSS={peak_mib:.0f} MiB wall={wall:.2f}s")
        print(
            f"kept vertices={len(product['geometry']['coordinates'])} result={len(done.stdout)} B"
        )


if __name__ == "__main__":
    main()
