"""Faults in jobs: timeouts, each mapped exit code, invalid sidecars, inputs deleted too early."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from capture.service import CaptureService
from indexer.backends import open_index
from seedpipe.bus import open_bus
from seedpipe.events import FILE_INGESTED, FILES_TOPIC, file_event
from seedpipe.records import FileRecord, WorkspaceRef
from seedpipe.settings import Settings
from seedpipe.workspaces import get_workspace
from tests.functional.pipeline.conftest import wait_until

HERE = Path(__file__).parent / "fault_job"


def fault_settings(root: Path) -> Settings:
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
cpus = 2
"""
    )
    return Settings.load(root / "seedpipe.toml")


@pytest.mark.slow
async def test_faulty_jobs_fail_with_their_mapped_errors_and_only_system_errors_retry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("capture.execute.BACKOFF_INITIAL_S", 0.1)  # a quick timeout retry
    settings = fault_settings(tmp_path)
    ws = get_workspace(settings, "input")
    names = ["ok_1.bin", "hang_1.bin", "exit3_1.bin", "exit4_1.bin", "exit9_1.bin"]
    names += ["badsidecar_1.bin", "deleted_1.bin"]
    records = []
    for name in names:
        info = ws.put_bytes(b"payload " + name.encode(), name)
        records.append(
            FileRecord(file_name=name, workspace=WorkspaceRef(name="input"), file_path=info.path)
        )
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
