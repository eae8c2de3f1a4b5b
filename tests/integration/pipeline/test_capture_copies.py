"""Capture copies with their own job stores: a copy lost mid-job loses no trigger event."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from capture.service import CaptureService, commit_mode, consumer_count
from seedpipe.bus import open_bus
from seedpipe.events import FILE_INGESTED, FILE_PRODUCED, FILES_TOPIC, CloudEvent, file_event
from seedpipe.records import FileRecord
from seedpipe.settings import Settings
from tests.functional.pipeline.conftest import job_counts, wait_until
from tests.functional.pipeline.test_faults import HERE, put_inputs

N_FILES = 6

COPY_JOB = """import sys
from pathlib import Path
source, out = Path(sys.argv[1]), Path(sys.argv[2])
(out / (source.stem + ".out")).write_bytes(source.read_bytes())
"""
# The copy that is lost never finishes a job: whatever it took must be redone by the other.
HANG_JOB = "import time\ntime.sleep(120)\n"


def copy_settings(root: Path, name: str, bus_url: str, prefix: str, script: str) -> Settings:
    """One capture copy: its own data dir (so its own jobs.db), the shared workspaces and bus."""
    manifest = json.loads((HERE / "seed.manifest.json").read_text())
    manifest["job"]["timeout"] = 120
    (root / "seed.manifest.json").write_text(json.dumps(manifest))
    (root / f"{name}.py").write_text(script)
    home = root / name
    home.mkdir()
    (home / "seedpipe.toml").write_text(
        f"""
data_dir = "data"
[bus]
url = "{bus_url}"
topic_prefix = "{prefix}"
backoff_initial_s = 0.05
[bus.kafka]
partitions = 2
session_timeout_ms = 2000
heartbeat_interval_ms = 500
[bus.sqlite]
session_timeout_s = 2.0
poll_interval_s = 0.02
[workspaces.input]
url = "{root / "shared" / "input"}"
[workspaces.output]
url = "{root / "shared" / "output"}"
[[job_types]]
name = "fault-job"
manifest = "{root / "seed.manifest.json"}"
entrypoint = "python {root / f"{name}.py"}"
output_workspace = "output"
max_concurrent = 2
[[triggers]]
name = "all-files"
job_type = "fault-job"
input = "INPUT_FILE"
[capture]
cpus = 2
consumers = 2
"""
    )
    return Settings.load(home / "seedpipe.toml")


async def announce(settings: Settings) -> list[FileRecord]:
    records = put_inputs(settings, [f"in_{i}.bin" for i in range(N_FILES)])
    async with open_bus(settings.bus) as bus:
        await bus.publish_many(
            settings.topic(FILES_TOPIC), [file_event(FILE_INGESTED, r, "test") for r in records]
        )
    return records


async def products_by_source(settings: Settings) -> dict[str, set[str]]:
    """Every ``file.produced`` on the bus: source file id → the product ids made from it."""
    seen: dict[str, set[str]] = {}

    async def note(event: CloudEvent) -> None:
        if event.type == FILE_PRODUCED:
            product = FileRecord.model_validate(event.data)
            for source in product.ancestors:
                seen.setdefault(source, set()).add(product.id)

    async with open_bus(settings.bus) as bus:
        await bus.consume(
            [settings.topic(FILES_TOPIC)], "check-products", note, until_caught_up=True
        )
    return seen


async def lose_a_copy_mid_job(root: Path, bus_url: str, prefix: str, *, abrupt: bool) -> None:
    lost = copy_settings(root, "lost", bus_url, prefix, HANG_JOB)
    kept = copy_settings(root, "kept", bus_url, prefix, COPY_JOB)
    records = await announce(lost)
    lost_stop, kept_stop = asyncio.Event(), asyncio.Event()
    async with open_bus(lost.bus) as lost_bus, open_bus(kept.bus) as kept_bus:
        lost_task = asyncio.create_task(CaptureService(lost, lost_bus).run(lost_stop))
        await wait_until(lambda: job_counts(lost)["running"] >= 1, "the lost copy running a job")
        # The kept copy joins the group while the lost one holds events whose jobs never end.
        kept_task = asyncio.create_task(CaptureService(kept, kept_bus).run(kept_stop))
        try:
            await asyncio.sleep(0)
            assert job_counts(lost)["running"] >= 1  # still in hand when the copy goes
            if abrupt:
                lost_task.cancel()
            else:
                lost_stop.set()
            await asyncio.gather(lost_task, return_exceptions=True)
            if not abrupt:
                lost_task.result()  # a stop with a job in hand is a clean return
            await wait_until(
                lambda: job_counts(kept)["completed"] == N_FILES, "every job done by the kept copy"
            )
        finally:
            lost_task.cancel()
            kept_stop.set()
            await asyncio.gather(lost_task, kept_task, return_exceptions=True)
    assert job_counts(lost)["completed"] == 0
    assert job_counts(kept) == {"queued": 0, "running": 0, "completed": N_FILES, "failed": 0}
    produced = await products_by_source(kept)
    assert sorted(produced) == sorted(r.id for r in records)
    assert all(len(ids) == 1 for ids in produced.values())
    outputs = list((root / "shared" / "output").rglob("*.out"))
    assert sorted(p.name for p in outputs) == sorted(f"in_{i}.out" for i in range(N_FILES))


@pytest.mark.kafka
@pytest.mark.slow
async def test_a_capture_copy_killed_mid_job_on_kafka_loses_no_trigger_event(
    tmp_path: Path, kafka_url: str, unique: str
) -> None:
    await lose_a_copy_mid_job(tmp_path, kafka_url, f"c{unique}", abrupt=True)


async def test_a_capture_copy_stopped_mid_job_leaves_its_event_for_another_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On the SQLite bus "auto" commits once queued; "finished" is what a lost store needs.
    monkeypatch.setenv("SEEDPIPE_CAPTURE__COMMIT", "finished")
    bus_url = f"sqlite:///{tmp_path / 'events.db'}"
    await lose_a_copy_mid_job(tmp_path, bus_url, "seedpipe", abrupt=False)


def test_auto_commits_when_finished_on_kafka_and_when_queued_on_sqlite() -> None:
    kafka = Settings.model_validate(
        {"bus": {"url": "kafka://broker:9092", "kafka": {"partitions": 3}}, "capture": {"cpus": 8}}
    )
    assert (commit_mode(kafka), consumer_count(kafka)) == ("finished", 3)
    embedded = Settings.model_validate({"capture": {"cpus": 0.5}})
    assert (commit_mode(embedded), consumer_count(embedded)) == ("queued", 1)
    chosen = Settings.model_validate({"capture": {"commit": "finished", "consumers": 2}})
    assert (commit_mode(chosen), consumer_count(chosen)) == ("finished", 2)
