"""Workspace put/stage throughput: N small files on file:// and on S3 (a local moto server)."""

# Run: .venv/bin/python bench/bench_workspaces.py [--files 1000] [--size-kib 10] [--endpoint URL]

from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from seedpipe.settings import WorkspaceSettings
from seedpipe.workspaces import open_workspace
from seedpipe.workspaces.base import Workspace


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rate(label: str, n: int, fn: Callable[[int], object]) -> None:
    start = time.perf_counter()
    for i in range(n):
        fn(i)
    elapsed = time.perf_counter() - start
    print(f"  {label:<28} {n / elapsed:9.0f} files/s  ({elapsed * 1000 / n:6.2f} ms/file)")


def bare_baseline(n: int, size: int, scratch: Path) -> None:
    """What the disk allows without seedpipe: write, fsync, rename, fsync the directory."""
    d = scratch / "bare"
    d.mkdir()
    data = os.urandom(size)

    def one(i: int) -> None:
        tmp = d / f".t{i}"
        with tmp.open("wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, d / f"f{i}")
        fd = os.open(d, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)

    rate("bare write+fsync+rename", n, one)


def run(ws: Workspace, n: int, size: int, scratch: Path) -> None:
    print(f"{ws.url}")
    src = scratch / "src"
    src.mkdir()
    for i in range(n):
        (src / f"f{i:05d}.bin").write_bytes(os.urandom(size))
    rate("put_file (copy+hash+fsync)", n, lambda i: ws.put_file(src / f"f{i:05d}.bin", f"a/{i}"))
    rate("put_file move=True", n, lambda i: ws.put_file(src / f"f{i:05d}.bin", f"b/{i}", move=True))
    stage = scratch / "stage"
    rate("stage (link or download)", n, lambda i: ws.stage(f"a/{i}", stage / f"{i}"))
    rate("stage link=False (copy)", n, lambda i: ws.stage(f"a/{i}", stage / f"c{i}", link=False))
    start = time.perf_counter()
    listed = sum(1 for _ in ws.list())
    print(f"  {'list':<28} {listed / (time.perf_counter() - start):9.0f} files/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--size-kib", type=int, default=10)
    parser.add_argument("--endpoint", help="an S3 endpoint to use instead of a moto server")
    parser.add_argument("--bucket", default="bench-workspaces")
    args = parser.parse_args()
    n, size = args.files, args.size_kib * 1024
    print(f"workspace bench: {n} x {args.size_kib} KiB files, os.cpu_count()={os.cpu_count()}")

    with tempfile.TemporaryDirectory(prefix="bench-ws-") as tmp:
        scratch = Path(tmp) / "file"
        scratch.mkdir()
        print("baseline (no seedpipe)")
        bare_baseline(n, size, scratch)
        run(
            open_workspace("file", WorkspaceSettings(url=(scratch / "ws").as_uri())),
            n,
            size,
            scratch,
        )

    server = None
    endpoint = args.endpoint
    if endpoint is None:
        from moto.server import ThreadedMotoServer

        os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
        port = free_port()
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        endpoint = f"http://127.0.0.1:{port}"
        import logging

        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    try:
        ws = open_workspace(
            "s3",
            WorkspaceSettings(url=f"s3://{args.bucket}/bench", endpoint_url=endpoint),
        )
        try:
            ws.client.create_bucket(Bucket=args.bucket)  # type: ignore[attr-defined]
        except Exception as exc:
            print(f"  (bucket: {exc})")
        with tempfile.TemporaryDirectory(prefix="bench-ws-") as tmp:
            run(ws, n, size, Path(tmp))
        print("  (moto is an in-process Python server: S3 figures measure it, not S3)")
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
