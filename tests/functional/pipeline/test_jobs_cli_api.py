"""Job records through ``seedpipe jobs``, ``seedpipe job-types`` and HTTP ``/jobs``."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from capture.contract import job_errors
from capture.jobs import Job, JobStore, job_id_for
from composition.http import create_app
from seedpipe.cli import main
from tests.functional.pipeline.conftest import load


@pytest.fixture
def store_with_jobs(pipeline_root: Path) -> JobStore:
    settings = load(pipeline_root)
    store = JobStore(settings.path("jobs.db"))
    for name, status in [("a.png", "completed"), ("b.png", "failed")]:
        job = Job(
            id=job_id_for("watermark-png", name),
            job_type="image-watermark",
            job_type_version="0.1.0",
            trigger="watermark-png",
            file_id=name,
            event_id="e",
            input_name="INPUT_IMAGE",
            record={"file_name": name},
        )
        store.create(job)
        log = settings.path("jobs", "logs", f"job_{job.id}.log")
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(f"log of {name}\n")
        store.mark_running(job.id, str(log))
        error = (
            job_errors.failure("bad-data", "Bad data", "bad", "data")
            if status == "failed"
            else None
        )
        store.finish(job.id, status, exit_code=0 if error is None else 3, error=error)  # type: ignore[arg-type]
    return store


def test_jobs_list_filters_by_status_and_prints_json(
    pipeline_root: Path, store_with_jobs: JobStore, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(pipeline_root / "seedpipe.toml")
    assert main(["jobs", "list", "--config", config, "--status", "failed", "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [j["status"] for j in listed] == ["failed"]
    assert main(["jobs", "list", "--config", config, "--job-type", "nope", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_jobs_show_prints_the_record_and_its_log(
    pipeline_root: Path, store_with_jobs: JobStore, capsys: pytest.CaptureFixture[str]
) -> None:
    job_id = job_id_for("watermark-png", "a.png")
    assert main(["jobs", "show", job_id, "--config", str(pipeline_root / "seedpipe.toml")]) == 0
    out = capsys.readouterr().out
    assert f'"id": "{job_id}"' in out and "log of a.png" in out


def test_jobs_retry_requeues_a_failed_job_and_refuses_others(
    pipeline_root: Path, store_with_jobs: JobStore, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(pipeline_root / "seedpipe.toml")
    failed, done = job_id_for("watermark-png", "b.png"), job_id_for("watermark-png", "a.png")
    assert main(["jobs", "retry", failed, "--config", config]) == 0
    again = store_with_jobs.require(failed)
    assert (again.status, again.attempt) == ("queued", 0)
    assert main(["jobs", "retry", done, "--config", config]) == 1
    assert "only failed jobs" in capsys.readouterr().err
    assert main(["jobs", "show", "nope", "--config", config]) == 1


def test_job_types_list_and_show_read_the_validated_manifest(
    pipeline_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(pipeline_root / "seedpipe.toml")
    assert main(["job-types", "list", "--config", config, "--format", "json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert (listed["name"], listed["version"]) == ("image-watermark", "0.1.0")
    assert listed["inputs"] == {
        "INPUT_IMAGE": {"required": True, "multiple": False, "media_types": []}
    }
    assert main(["job-types", "show", "image-watermark", "--config", config]) == 0
    assert json.loads(capsys.readouterr().out)["manifest_json"]["seedVersion"] == "1.0.0"
    assert main(["job-types", "show", "nope", "--config", config]) == 2


def test_an_invalid_manifest_is_a_config_error_naming_the_job_type(
    pipeline_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = pipeline_root / "bad.json"
    bad.write_text(json.dumps({"seedVersion": "1.0.0", "job": {"name": "image-watermark"}}))
    config = pipeline_root / "seedpipe.toml"
    text = config.read_text()
    manifest_line = next(x for x in text.splitlines() if x.startswith("manifest = "))
    config.write_text(text.replace(manifest_line, f'manifest = "{bad}"'))
    assert main(["job-types", "list", "--config", str(config)]) == 2
    assert "job_types[image-watermark].manifest" in capsys.readouterr().err


async def test_the_jobs_api_lists_filters_and_shows_jobs(
    pipeline_root: Path, store_with_jobs: JobStore
) -> None:
    settings = load(pipeline_root)
    app = create_app(settings)  # reads the jobs store_with_jobs wrote
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        page = (await client.get("/jobs", params={"status": "completed"})).json()
        assert [j["status"] for j in page["results"]] == ["completed"]
        assert (await client.get("/jobs", params={"status": "bogus"})).status_code == 400
        bad = await client.get("/jobs", params={"page_size": 0})
        assert bad.status_code == 400 and bad.json()["field"] == "page_size"
        assert (await client.get("/jobs", params={"cursor": "forged"})).json()["field"] == "cursor"
        job_id = job_id_for("watermark-png", "b.png")
        shown = (await client.get(f"/jobs/{job_id}")).json()
        assert shown["error"]["name"] == "bad-data" and shown["log"] == "log of b.png\n"
        assert (await client.get("/jobs/nope")).status_code == 404
        assert (await client.get("/jobs/" + "x" * 100)).status_code == 400


async def test_the_jobs_list_speaks_like_files_iso_times_count_and_cursor_links(
    pipeline_root: Path, store_with_jobs: JobStore
) -> None:
    settings = load(pipeline_root)
    app = create_app(settings)  # reads the jobs store_with_jobs wrote
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        first = (await client.get("/jobs", params={"page_size": 1})).json()
        assert first["count"] == 2 and first["previous"] is None
        (job,) = first["results"]
        assert job["created"].endswith("Z") and "T" in job["created"]
        assert job["ended"].endswith("Z") and job["not_before"] is None
        assert "cursor=" in first["next"] and first["next"].startswith("http://testserver/jobs?")
        second = (await client.get(first["next"])).json()
        assert second["next"] is None and second["previous"] is not None
        assert {first["results"][0]["id"], second["results"][0]["id"]} == {
            job_id_for("watermark-png", "a.png"),
            job_id_for("watermark-png", "b.png"),
        }
        clamped = await client.get("/jobs", params={"page_size": 5000})
        assert clamped.status_code == 200 and len(clamped.json()["results"]) == 2
