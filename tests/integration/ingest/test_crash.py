"""Kill -9 the real ``seedpipe ingest`` process at random moments while files arrive."""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ingest.ledger import Ledger
from seedpipe.bus import open_bus
from seedpipe.events import FILE_INGESTED, FILES_TOPIC, CloudEvent
from seedpipe.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
# 300 keeps the suite fast; SEEDPIPE_CRASH_FILES=1000 runs the full-size version.
FILES = int(os.environ.get("SEEDPIPE_CRASH_FILES", "300"))


def start(cfg: Path) -> subprocess.Popen[bytes]:
    code = "import sys; from seedpipe.cli import main; sys.exit(main())"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", code, "--log-level", "INFO", "ingest", "--config", str(cfg)],
        env=env,
        cwd=ROOT,
        stderr=subprocess.PIPE,
    )


def wait_running(proc: subprocess.Popen[bytes]) -> None:
    """Until the process says its strikes run (its SIGTERM handler is in place by then)."""
    assert proc.stderr is not None
    while line := proc.stderr.readline():
        if b"strikes running" in line:
            return
    raise AssertionError(f"seedpipe ingest exited with {proc.wait()}")


def content(i: int) -> bytes:
    return f"file {i} ".encode() * (1 + i % 50)


def drop_files(drop: Path, rng: random.Random) -> None:
    for i in range(FILES):
        name = f"batch{i // 50}/f{i:05d}.dat"
        target = drop / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if i % 2:
            part = drop / (name + ".part")  # half arrive the careful way, half are written live
            part.write_bytes(content(i))
            os.rename(part, target)
        else:
            target.write_bytes(content(i))
        if i % 10 == 0:
            time.sleep(rng.uniform(0, 0.2))


async def read_bus(settings: Settings) -> list[CloudEvent]:
    got: list[CloudEvent] = []

    async def collect(batch: list[CloudEvent]) -> None:
        got.extend(batch)

    async with open_bus(settings.bus) as bus:
        await bus.consume_batches([FILES_TOPIC], "checker", collect, until_caught_up=True)
    return got


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_nothing_and_doubles_nothing(tmp_path):
    seed = random.randrange(1_000_000)
    rng = random.Random(seed)
    drop = tmp_path / "drop"
    drop.mkdir()
    cfg = tmp_path / "seedpipe.toml"
    cfg.write_text(
        f'data_dir = "data"\n[bus]\nurl = "sqlite:///events.db"\n'
        f'[workspaces.ws]\nurl = "{tmp_path / "ws"}"\n'
        f'[[strikes]]\nname = "s"\ndrop = "{drop}"\nworkspace = "ws"\nsettle_s = 0.05\n'
    )
    writer = threading.Thread(target=drop_files, args=(drop, rng))
    proc = start(cfg)
    writer.start()
    kills, logs = 0, []
    while writer.is_alive() or kills < 5:
        time.sleep(rng.uniform(0.3, 0.9))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        logs.append(proc.stderr.read().decode() if proc.stderr else "")
        kills += 1
        proc = start(cfg)
    writer.join()
    settings = Settings.load(cfg)
    ledger = Ledger(settings.path("ingest.db"))
    try:
        deadline = time.monotonic() + 60
        while True:
            rows = ledger.find(limit=10_000)
            published = [r for r in rows if r.status == "INGESTED" and r.published]
            if len(published) >= FILES and not ledger.outbox() and not ledger.outbox("inflight"):
                break
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, f"seed {seed}: {ledger.counts()} {logs[-1:]}"
            time.sleep(0.1)
        wait_running(proc)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        counts = ledger.counts()
        odd = [(r.source, r.status, r.reason) for r in rows if r.status != "INGESTED"]
    finally:
        ledger.close()
        if proc.poll() is None:
            proc.kill()
    resumed = sum("interrupted ingests" in text for text in logs)
    probed = sum("in-flight events" in text for text in logs)
    print(f"seed {seed}: {kills} kills, {resumed} resumed plans, {probed} in-flight probes")
    assert counts == {"INGESTED": FILES}, f"seed {seed}, {kills} kills: {counts} {odd[:5]}"
    events = asyncio.run(read_bus(settings))
    paths = [e.file_record().file_path for e in events if e.type == FILE_INGESTED]
    assert len(paths) == len(set(paths)) == FILES, f"seed {seed}: {len(paths)} events"
    for e in events:
        rec = e.file_record()
        i = int(rec.file_path[-9:-4])
        assert rec.checksum == "sha256:" + hashlib.sha256(content(i)).hexdigest()
        assert (tmp_path / "ws" / rec.file_path).read_bytes() == content(i)
    assert [p for p in drop.rglob("*") if p.is_file()] == []
