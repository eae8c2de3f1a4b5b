"""Job control on a running ``seedpipe up``: cancel from the CLI and HTTP, queue by hand."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from capture.jobs import JobStore
from seedpipe.cli import main
from tests.conftest import free_port, wait_for_port
from tests.functional.pipeline.conftest import load, running_pipeline, wait_until

SLEEP_JOB = Path(__file__).parent / "sleep_job"
TOKEN = "job-control-token-0123456789"


def write_config(root: Path) -> Path:
    (root / "drop").mkdir()
    config = root / "seedpipe.toml"
    config.write_text(
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
[api.auth]
tokens = ["{TOKEN}"]
"""
    )
    return config


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


async def test_cancelling_running_jobs_kills_them_and_queued_jobs_by_hand_run(
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path)
    runs = tmp_path / "runs"
    runs.mkdir()
    settings = load(tmp_path)
    port = free_port()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with running_pipeline(settings, api_port=port):
        assert await asyncio.to_thread(wait_for_port, port)
        (tmp_path / "drop" / "run.txt").write_text(str(runs))
        first = await wait_until(lambda: list(runs.glob("*.start")), "the job to start")
        leader = int(first[0].read_text().split()[0])
        store = JobStore(settings.path("jobs.db"))
        try:
            (job,) = store.search(status="running")
            assert job.job_type_revision == 1
            # The CLI marks it; the service sees it within a second and kills the group.
            assert await asyncio.to_thread(main, ["jobs", "cancel", job.id, "-c", str(config)]) == 0
            await wait_until(lambda: not _alive(leader), "the canceled job's process to die", 10)
            canceled = store.require(job.id)
            assert canceled.status == "canceled" and str(canceled.canceled_by).startswith("cli:")
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                again = await client.post(f"/jobs/{job.id}/cancel", headers=auth)
                assert again.status_code == 409 and "status is canceled" in again.text
                body = {"job_type": "sleep-job", "inputs": {"INPUT_FILE": job.file_id}}
                assert (await client.post("/jobs", json=body)).status_code == 401
                bad = await client.post(
                    "/jobs", json={**body, "inputs": {"NOPE": job.file_id}}, headers=auth
                )
                assert bad.status_code == 400 and "inputs.NOPE" in bad.text
                assert bad.json()["field"] == "job input"
                missing = await client.post(
                    "/jobs", json={**body, "inputs": {"INPUT_FILE": "nope"}}, headers=auth
                )
                assert missing.status_code == 400 and "no file with id 'nope'" in missing.text
                queued = await client.post("/jobs", json={**body, "priority": 5}, headers=auth)
                assert queued.status_code == 201, queued.text
                manual = queued.json()
                assert manual["priority"] == 5 and manual["job_type_revision"] == 1
                await wait_until(
                    lambda: store.require(manual["id"]).status == "completed",
                    "the job queued by hand to complete",
                )
                exes = (await client.get(f"/jobs/{manual['id']}/executions")).json()
                assert exes["count"] == 1
                (exe,) = exes["results"]
                assert (exe["status"], exe["exit_code"], exe["attempt"]) == ("completed", 0, 1)
                assert exe["worker"] and exe["duration_s"] is not None
                log = await client.get(exe["log_url"])
                assert log.status_code == 200
                killed = (await client.get(f"/jobs/{job.id}/executions")).json()["results"]
                assert [e["status"] for e in killed] == ["canceled"]
                assert (await client.get(f"/jobs/{job.id}/executions/5/log")).status_code == 404
                # A job queued by hand and canceled before it starts never runs.
                second = (await client.post("/jobs", json=body, headers=auth)).json()
                stopped = await client.post(f"/jobs/{second['id']}/cancel", headers=auth)
                assert stopped.status_code == 200 and stopped.json()["canceled_by"] == "api:token"
                gone = await client.post("/jobs/nope/cancel", headers=auth)
                assert gone.status_code == 404
                long = await client.post(f"/jobs/{'j' * 65}/cancel", headers=auth)
                assert long.status_code == 400 and long.json()["field"] == "job_id", long.text
        finally:
            store.close()
    assert len(list(runs.glob("*.done"))) == 1  # only the job queued by hand finished
    assert store_status(settings.path("jobs.db"), second["id"]) in ("canceled",)


def store_status(path: Path, job_id: str) -> str:
    store = JobStore(path)
    try:
        return store.require(job_id).status
    finally:
        store.close()
