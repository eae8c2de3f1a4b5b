"""Ingest benchmark: a burst of small files into a local strike, and peak RSS on a large tree.

    .venv/bin/python bench/bench_ingest.py [--files 10000] [--tree 100000] [--settle 0.2]

Runs the real ``seedpipe ingest`` process (SQLite bus, file workspace) and reads the ledger:
files/s from the first drop to the last ``file.ingested`` published, p50/p99 from "complete"
(size and mtime settled) to published, and the process's peak RSS (VmHWM).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ingest.ledger import Ledger  # noqa: E402


def start(cfg: Path) -> subprocess.Popen[bytes]:
    code = "import sys; from seedpipe.cli import main; sys.exit(main())"
    return subprocess.Popen(
        [sys.executable, "-c", code, "--log-level", "WARNING", "ingest", "--config", str(cfg)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
    )


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_published(ledger: Ledger, n: int, proc: subprocess.Popen[bytes]) -> None:
    while True:
        rows = ledger._query("SELECT count(*) AS n FROM ingests WHERE published IS NOT NULL")
        if rows[0]["n"] >= n:
            return
        if proc.poll() is not None:
            raise SystemExit(f"seedpipe ingest exited with {proc.returncode}")
        time.sleep(0.05)


def run_phase(
    tmp: Path, name: str, files: int, per_dir: int, settle: float, before: bool, rate: float = 0
) -> None:
    base = tmp / name
    drop, stage = base / "drop", base / "stage"
    drop.mkdir(parents=True)
    stage.mkdir()
    cfg = base / "seedpipe.toml"
    cfg.write_text(
        f'data_dir = "data"\n[bus]\nurl = "sqlite:///events.db"\n'
        f'[workspaces.ws]\nurl = "{base / "ws"}"\n'
        f'[[strikes]]\nname = "bench"\ndrop = "{drop}"\nworkspace = "ws"\n'
        f"settle_s = {settle}\n"
    )
    payload = os.urandom(1024)
    names = [f"d{i // per_dir:04d}/f{i:06d}.dat" for i in range(files)]
    for d in {n.split("/")[0] for n in names}:
        (stage / d).mkdir()
        if not before:
            (drop / d).mkdir()
    for n in names:
        (stage / n).write_bytes(payload)
    if before:  # the tree is in place before the process starts: the start-up rescan finds it
        for d in {n.split("/")[0] for n in names}:
            os.rename(stage / d, drop / d)
        t0 = time.time()
        proc = start(cfg)
    else:
        proc = start(cfg)
        time.sleep(1.5)  # let it start watching
        t0 = time.time()
        for i, n in enumerate(names):  # one rename each, as a transfer tool finishes a file
            os.rename(stage / n, drop / n)
            if rate:  # a steady stream instead of a burst
                time.sleep(max(0.0, t0 + (i + 1) / rate - time.time()))
    ledger = Ledger(base / "data" / "ingest.db")
    wait_published(ledger, files, proc)
    rss = peak_rss_mib(proc.pid)
    cpu = cpu_seconds(proc.pid)
    rows = ledger._query("SELECT transfer_ended, published FROM ingests WHERE status = 'INGESTED'")
    last = max(r["published"] for r in rows)
    lat = sorted(r["published"] - r["transfer_ended"] for r in rows)
    p50 = statistics.median(lat)
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    ledger.close()
    print(
        f"{name}: {len(rows)} files of 1 KiB, {files / (last - t0):,.0f} files/s "
        f"({cpu / files * 1000:.2f} ms CPU a file) "
        f"(first drop to last published {last - t0:.2f} s), complete->published "
        f"p50 {p50 * 1000:.0f} ms p99 {p99 * 1000:.0f} ms (settle_s {settle}), "
        f"peak RSS {rss:.0f} MiB, cpus {os.cpu_count()}, load {os.getloadavg()[0]:.1f}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=10_000, help="burst size (0 to skip)")
    ap.add_argument("--tree", type=int, default=100_000, help="tree size for RSS (0 to skip)")
    ap.add_argument("--steady", type=int, default=3000, help="files for the steady phase")
    ap.add_argument("--rate", type=float, default=300, help="arrival rate of the steady phase")
    ap.add_argument("--settle", type=float, default=0.2, help="the strike's settle_s")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        if args.files:
            run_phase(Path(tmp), "burst", args.files, 1000, args.settle, before=False)
        if args.steady:
            run_phase(Path(tmp), "steady", args.steady, 1000, args.settle, False, args.rate)
        if args.tree:
            run_phase(Path(tmp), "tree", args.tree, 100, args.settle, before=True)


if __name__ == "__main__":
    main()
