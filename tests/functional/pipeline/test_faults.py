"""Faults in jobs: timeouts, each mapped exit code, invalid sidecars, inputs deleted too early."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from capture.jobs import Job
from capture.service import CaptureService
from indexer.backends import open_index
from seedpipe.bus import open_bus
from seedpipe.events import FILE_INGESTED, FILES_TOPIC, file_event
from seedpipe.records import FileRecord, WorkspaceRef
from seedpipe.settings import Settings
from seedpipe.workspaces import get_workspace
from tests.functional.pipeline.conftest import wait_until

HERE = Path(__file__).parent / "fault_job"


def fault_settings(root: Path, cpus: float = 2, mem_mib: float = 4096) -> Settings:
    (root / "seedpipe.toml").write_text(
        f"""
data_dir = "data"
[workspaces.input]
url = "data/input"
[workspaces.output]
url = "data/output"
[[job_types]]
name = "fault-job"
manifest = "{HERE / "seed.manifest.json"}"
entrypoint = "python {HERE / "fault.py"}"
output_workspace = "output"
max_concurrent = 4
max_attempts = 2
[[triggers]]
name = "all-files"
job_type = "fault-job"
input = "INPUT_FILE"
[capture]
cpus = {cpus}
mem_mib = {mem_mib}
"""
    )
    return Settings.load(root / "seedpipe.toml")


def put_inputs(settings: Settings, names: list[str]) -> list[FileRecord]:
    ws = get_workspace(settings, "input")
    records = []
    for name in names:
        info = ws.put_bytes(b"payload " + name.encode(), name)
        records.append(
            FileRecord(file_name=name, workspace=WorkspaceRef(name="input"), file_path=info.path)
        )
    return records


async def run_jobs(settings: Settings, records: list[FileRecord]) -> dict[str, Job]:
    """Announce ``records`` as ingested and run the capture service until every job is final."""
    stop = asyncio.Event()
    async with open_bus(settings.bus) as bus, open_index(settings.index) as index:
        await bus.publish_many(
            settings.topic(FILES_TOPIC), [file_event(FILE_INGESTED, r, "test") for r in records]
        )
        service = CaptureService(settings, bus, index)
        task = asyncio.create_task(service.run(stop))
        try:
            await wait_until(
                lambda: (
                    sum(service.counts()[s] for s in ("completed", "failed")) == len(records)
                    or None
                ),
                "every job to finish",
            )
            return {j.record["file_name"]: j for j in service.store.search(limit=100)}
        finally:
            stop.set()
            await task


@pytest.mark.slow
async def test_faulty_jobs_fail_with_their_mapped_errors_and_only_system_errors_retry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("capture.attempt.BACKOFF_INITIAL_S", 0.1)  # a quick timeout retry
    settings = fault_settings(tmp_path)
    ws = get_workspace(settings, "input")
    names = ["ok_1.bin", "hang_1.bin", "exit3_1.bin", "exit4_1.bin", "exit9_1.bin"]
    names += ["badsidecar_1.bin", "deleted_1.bin"]
    records = put_inputs(settings, names)
    ws.delete("deleted_1.bin")  # deleted after it was announced, before any job could start
    stop = asyncio.Event()
    async with open_bus(settings.bus) as bus, open_index(settings.index) as index:
        await bus.publish_many(
            settings.topic(FILES_TOPIC), [file_event(FILE_INGESTED, r, "test") for r in records]
        )
        service = CaptureService(settings, bus, index)
        task = asyncio.create_task(service.run(stop))
        try:
            await wait_until(
                lambda: (
                    sum(service.counts()[s] for s in ("completed", "failed")) == len(names) or None
                ),
                "every job to finish",
            )
            jobs = {j.record["file_name"]: j for j in service.store.search(limit=100)}
        finally:
            stop.set()
            await task
    assert len(jobs) == len(names)

    def outcome(name: str) -> tuple[str, str | None, str | None, int]:
        j = jobs[name]
        err = j.error or {}
        return j.status, err.get("name"), err.get("category"), j.attempt

    assert outcome("ok_1.bin") == ("completed", None, None, 1)
    assert jobs["ok_1.bin"].products and jobs["ok_1.bin"].exit_code == 0
    # A timeout is a system error: retried up to max_attempts, then failed.
    assert outcome("hang_1.bin") == ("failed", "timeout", "system", 2)
    assert outcome("exit3_1.bin") == ("failed", "bad-data", "data", 1)
    assert jobs["exit3_1.bin"].exit_code == 3
    assert outcome("exit4_1.bin") == ("failed", "algorithm-failure", "job", 1)
    assert outcome("exit9_1.bin") == ("failed", "algorithm-unknown", "job", 1)
    assert outcome("badsidecar_1.bin") == ("failed", "invalid-sidecar", "job", 1)
    assert outcome("deleted_1.bin") == ("failed", "input_deleted", "data", 1)
    assert "deleted before the job started" in (jobs["deleted_1.bin"].error or {})["description"]
    # Every failed job kept its log for `seedpipe jobs show`.
    assert Path(jobs["exit3_1.bin"].log_path or "").is_file()


async def test_jobs_run_no_more_at_once_than_the_worker_has_cpus_for(tmp_path: Path) -> None:
    # Each fault job asks for 0.5 cpus; a 1-cpu worker runs at most two at once.
    settings = fault_settings(tmp_path, cpus=1)
    names = [f"slow_{i}.bin" for i in range(6)]
    jobs = await run_jobs(settings, put_inputs(settings, names))
    assert {j.status for j in jobs.values()} == {"completed"}
    out = get_workspace(settings, "output")
    spans = []
    for job in jobs.values():
        (product,) = [o for o in out.list() if f"job_{job.id}/" in o.path]
        start, end = map(float, out.read_bytes(product.path).split())
        spans.append((start, end))
    most = max(sum(1 for s, e in spans if s <= t < e) for t, _ in spans)
    assert 1 <= most <= 2


async def test_a_job_asking_more_than_the_worker_offers_fails_with_the_reason(
    tmp_path: Path,
) -> None:
    settings = fault_settings(tmp_path, mem_mib=16)  # the fault job asks for 32 MiB
    (job,) = (await run_jobs(settings, put_inputs(settings, ["ok_1.bin"]))).values()
    assert job.status == "failed" and job.error is not None
    assert job.error["name"] == "insufficient_resources"
    assert "32.0 MiB" in job.error["description"]


@pytest.mark.slow
async def test_a_product_geometry_too_big_for_an_event_is_simplified_and_reaches_the_index(
    tmp_path: Path,
) -> None:
    from capture.contract.fit import FULL_GEOMETRY
    from tests.functional.indexer.conftest import index_all

    settings = fault_settings(tmp_path)
    n = 1_000_000  # ~15 MB of sidecar: under the 16 MiB sidecar limit, over an event's 1 MiB
    coords = ",".join(f"[{-170 + 340 * i / n:.3f},{i % 3}]" for i in range(n))
    sidecars = {
        "hugeline_1.bin": '{"type": "Feature", "properties": {"cloud": 3}, "geometry": '
        f'{{"type": "LineString", "coordinates": [{coords}]}}}}',
        "hugeprops_1.bin": '{"type": "Feature", "properties": {"notes": "%s"}}' % ("x" * 2**21),
    }
    del coords
    ws = get_workspace(settings, "input")
    records = []
    for name, text in sidecars.items():
        info = ws.put_bytes(text.encode(), name)
        records.append(FileRecord(file_name=name, workspace=WorkspaceRef(name="input"),
                                  file_path=info.path))  # fmt: skip
    jobs = await run_jobs(settings, records)
    line, props = jobs["hugeline_1.bin"], jobs["hugeprops_1.bin"]
    assert line.status == "completed" and len(line.products) == 1, line.error
    # An event no consumer would take is never published: the job fails naming sidecar + limit.
    assert props.status == "failed" and props.error is not None
    assert props.error["category"] == "data"
    assert "hugeprops_1.out.metadata.json" in props.error["description"]
    assert "bus.max_event_bytes" in props.error["description"]
    async with open_bus(settings.bus) as bus, open_index(settings.index) as index:
        await index_all(settings, bus, index)
        product = await index.get(line.products[0])
        assert await bus.dead_letters(settings.topic(FILES_TOPIC)) == []
    assert product is not None and product.geometry is not None
    assert product.geometry["type"] == "LineString"
    kept = len(product.geometry["coordinates"])
    note = product.meta_data[FULL_GEOMETRY]
    assert note["vertices"] == 1_000_000 and note["kept_vertices"] == kept <= 16_384
    assert product.meta_data["cloud"] == 3
    full = get_workspace(settings, "output").local_path(note["file_path"])
    assert full is not None and full.stat().st_size > 10_000_000
    assert note["file_path"] == product.file_path + ".metadata.json"
