"""kill -9 of a running ``seedpipe up`` at random points, then restart: nothing lost or doubled."""

from __future__ import annotations

import asyncio
import random
import signal
from collections import Counter
from pathlib import Path

import pytest

from indexer.backends import open_index
from seedpipe.bus import open_bus
from seedpipe.events import FILE_INGESTED, FILES_TOPIC, CloudEvent
from seedpipe.query.model import Query
from tests.functional.pipeline.conftest import (
    ingest_statuses,
    job_counts,
    load,
    start_up_process,
    wait_until,
    write_png,
)

N_FILES = 60
KILLS = 3


@pytest.mark.slow
async def test_kill_9_mid_run_then_restart_ingests_and_runs_everything_exactly_once(
    pipeline_root: Path,
) -> None:
    settings = load(pipeline_root)
    log_path = pipeline_root / "up.log"
    rng = random.Random(6)
    batches = [
        range(i, min(N_FILES, i + N_FILES // KILLS)) for i in range(0, N_FILES, N_FILES // KILLS)
    ]
    proc = start_up_process(pipeline_root, log_path)
    try:
        for batch in batches:
            for i in batch:
                write_png(pipeline_root / "drop" / f"img_{i:03d}.png", i)
            # Let it get somewhere (ingesting, running jobs, indexing), then pull the plug.
            await asyncio.sleep(rng.uniform(0.8, 2.5))
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            proc = start_up_process(pipeline_root, log_path)
        await wait_until(
            lambda: job_counts(settings)["completed"] == N_FILES or None,
            f"{N_FILES} completed jobs after {KILLS} kills",
            timeout=120,
        )
        async with open_index(settings.index) as index:

            async def counts() -> tuple[int, int, int]:
                return (
                    await index.count(Query(file_types=["SOURCE"])),
                    await index.count(Query(file_types=["PRODUCT"])),
                    await index.count(Query(file_types=["SOURCE"], data_types_all=["png"])),
                )

            await wait_until(
                lambda: _equal(counts(), (N_FILES, N_FILES, N_FILES)), "the index to settle"
            )
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, log_path.read_text()[-4000:]

    assert job_counts(settings) == {"queued": 0, "running": 0, "completed": N_FILES, "failed": 0}
    statuses = ingest_statuses(settings)
    ingested = Counter(src for src, status in statuses if status == "INGESTED")
    assert len(ingested) == N_FILES and set(ingested.values()) == {1}
    async with open_bus(settings.bus) as bus:
        seen: Counter[str] = Counter()

        async def count(event: CloudEvent) -> None:
            if event.type == FILE_INGESTED:
                seen[event.file_record().file_name] += 1

        await bus.consume([settings.topic(FILES_TOPIC)], "audit", count, until_caught_up=True)
    assert len(seen) == N_FILES and set(seen.values()) == {1}, seen


async def _equal(pending: object, expected: tuple[int, int, int]) -> bool:
    got = await pending  # type: ignore[misc]
    return bool(got == expected)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


SLEEP_JOB = Path(__file__).parent / "sleep_job"


@pytest.mark.slow
async def test_kill_9_mid_job_kills_the_job_and_the_restart_runs_it_exactly_once(
    tmp_path: Path,
) -> None:
    (tmp_path / "drop").mkdir()
    runs = tmp_path / "runs"
    runs.mkdir()
    (tmp_path / "seedpipe.toml").write_text(
        f"""
data_dir = "data"
[workspaces.input]
url = "data/input"
[workspaces.output]
url = "data/output"
[[strikes]]
name = "drop"
drop = "drop"
workspace = "input"
settle_s = 0.1
[[job_types]]
name = "sleep-job"
manifest = "{SLEEP_JOB / "seed.manifest.json"}"
entrypoint = "python {SLEEP_JOB / "sleep.py"}"
output_workspace = "output"
[[triggers]]
name = "every-file"
job_type = "sleep-job"
input = "INPUT_FILE"
"""
    )
    settings = load(tmp_path)
    log_path = tmp_path / "up.log"
    proc = start_up_process(tmp_path, log_path)
    try:
        (tmp_path / "drop" / "run.txt").write_text(str(runs))
        first = await wait_until(lambda: list(runs.glob("*.start")), "the job to start")
        leader, child = map(int, first[0].read_text().split())
        assert _alive(leader) and _alive(child)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        # The job dies with its supervisor (PR_SET_PDEATHSIG): no orphan runs on with PPID 1.
        await wait_until(lambda: not _alive(leader), "the job's process to die with `up`", 10)
        proc = start_up_process(tmp_path, log_path)
        await wait_until(
            lambda: job_counts(settings)["completed"] == 1 or None, "the job to complete"
        )
        # What the first run forked into its process group was killed before the rerun.
        assert not _alive(child)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, log_path.read_text()[-4000:]
    starts = sorted(p.stem for p in runs.glob("*.start"))
    dones = [p.stem for p in runs.glob("*.done")]
    assert len(starts) == 2 and len(dones) == 1 and dones[0] != str(leader), (starts, dones)
    assert job_counts(settings) == {"queued": 0, "running": 0, "completed": 1, "failed": 0}
