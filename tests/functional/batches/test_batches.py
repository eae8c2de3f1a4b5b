"""Batches on the embedded defaults: planning, running, supersede, cancel, bad requests."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from capture.batches.store import BatchStore
from capture.jobs import JobStore
from indexer.backends import open_index
from seedpipe.cli import main
from seedpipe.query.model import Query
from tests.functional.batches.conftest import catalogue, write_config
from tests.functional.pipeline.conftest import load, running_pipeline, wait_until


async def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    """The command in a thread (it runs its own event loop), its JSON output or its error."""
    code = await asyncio.to_thread(main, list(argv))
    captured = capsys.readouterr()
    out = json.loads(captured.out) if code == 0 and captured.out.strip() else captured.err
    return code, out


def progress(settings: Any, batch_id: str) -> dict[str, Any]:
    from capture.batches.tracking import progress as of

    jobs, batches = JobStore(settings.path("jobs.db")), BatchStore(settings.path("batches.db"))
    try:
        return of(batches.require(batch_id), jobs)
    finally:
        jobs.close()
        batches.close()


async def products(settings: Any, **filters: Any) -> list[Any]:
    async with open_index(settings.index) as index:
        page = await index.search(Query(file_types=["PRODUCT"], limit=1000, **filters))
        return page.records


async def test_a_batch_reruns_a_job_type_and_a_superseding_batch_replaces_its_products(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(write_config(tmp_path))
    settings = load(tmp_path)
    runs = tmp_path / "runs"
    runs.mkdir()
    ids = await catalogue(settings, runs, 12)
    await catalogue_other(settings, runs)
    code, dry = await cli(
        capsys, "batches", "create", "-c", config, "--job-type", "touch-job",
        "--data-type", "raw", "--dry-run",
    )  # fmt: skip
    assert code == 0 and dry["count"] == 12 and len(dry["sample"]) == 10
    assert not settings.path("batches.db").exists() or progress_count(settings) == 0
    code, err = await cli(
        capsys, "batches", "create", "-c", config, "--job-type", "touch-job",
        "--data-type", "nothing-like-this",
    )  # fmt: skip
    assert code == 2 and "query: matches no files" in err
    code, err = await cli(
        capsys, "batches", "create", "-c", config, "--job-type", "touch-job",
        "--revision", "9", "--data-type", "raw",
    )  # fmt: skip
    assert code == 2 and "revision: job type 'touch-job' has no revision 9" in err
    code, err = await cli(
        capsys, "batches", "create", "-c", config, "--job-type", "nope", "--id", "x"
    )
    assert code == 2 and "job_type: unknown job type 'nope'" in err

    async with running_pipeline(settings):
        code, first = await cli(
            capsys, "batches", "create", "-c", config, "--job-type", "touch-job",
            "--data-type", "raw", "--priority", "3",
        )  # fmt: skip
        assert code == 0, first
        assert first["status"] == "planned" and first["progress"]["planned"] == 12
        await wait_until(
            lambda: progress(settings, first["id"])["done"], "the first batch to finish"
        )
        assert progress(settings, first["id"])["progress"]["completed"] == 12, failures(settings)
        made = await wait_until(
            lambda: _len_at_least(products(settings, batches=[first["id"]]), 12),
            "the first batch's products to be indexed",
        )
        assert sorted(p.ancestors[0] for p in made) == ids
        assert all(p.batch == first["id"] and p.job_type.revision == 1 for p in made)
        # Again over the same files, superseding: new products, the earlier ones superseded.
        code, second = await cli(
            capsys, "batches", "create", "-c", config, "--job-type", "touch-job",
            "--previous-batch", first["id"], "--supersede",
        )  # fmt: skip
        assert code == 0 and second["progress"]["planned"] == 12, second
        await wait_until(lambda: progress(settings, second["id"])["done"], "the second batch")
        assert progress(settings, second["id"])["progress"]["completed"] == 12, failures(settings)
        await wait_until(
            lambda: _len_at_least(products(settings, batches=[second["id"]]), 12),
            "the second batch's products",
        )
        await wait_until(
            lambda: _len_at_most(products(settings, batches=[first["id"]]), 0),
            "the first batch's products to be superseded",
        )
        old = await products(settings, batches=[first["id"]], include_superseded=True)
        assert len(old) == 12 and all(p.is_superseded and p.superseded for p in old)
    final = progress(settings, first["id"])["progress"]
    assert final == {
        "planned": 12, "queued": 0, "running": 0, "completed": 12, "failed": 0, "skipped": 0,
    }  # fmt: skip
    # Each batch ran every file once: 24 runs in all, 2 per file.
    starts = sorted(p.name.split(".")[0] for p in runs.glob("*.start"))
    assert len(starts) == 24 and len(set(starts)) == 12
    code, listed = await cli(capsys, "batches", "list", "-c", config)
    assert code == 0 and [b["id"] for b in listed] == [second["id"], first["id"]]


async def test_a_canceled_batch_starts_none_of_its_queued_jobs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(write_config(tmp_path))
    settings = load(tmp_path)
    runs = tmp_path / "runs"
    runs.mkdir()
    await catalogue(settings, runs, 20)
    # Planned by the CLI while no service runs: 20 jobs wait in the queue.
    code, batch = await cli(
        capsys, "batches", "create", "-c", config, "--job-type", "touch-job", "--data-type", "raw"
    )
    assert code == 0 and batch["progress"]["queued"] == 20
    code, canceled = await cli(capsys, "batches", "cancel", batch["id"], "-c", config)
    assert code == 0 and canceled["status"] == "canceled"
    assert canceled["progress"]["skipped"] == 20 and canceled["progress"]["queued"] == 0
    code, err = await cli(capsys, "batches", "cancel", batch["id"], "-c", config)
    assert code == 1 and "status is canceled" in err
    async with running_pipeline(settings):
        await asyncio.sleep(2.0)  # the scheduler polls every second: it would have started some
    assert list(runs.glob("*.start")) == []
    code, shown = await cli(capsys, "batches", "show", batch["id"], "-c", config)
    assert code == 0 and shown["done"] and shown["progress"]["completed"] == 0


def failures(settings: Any) -> list[Any]:
    """The errors of failed jobs, to say why a batch fell short."""
    jobs = JobStore(settings.path("jobs.db"))
    try:
        return [(j.id, j.error) for j in jobs.search(status="failed")]
    finally:
        jobs.close()


def progress_count(settings: Any) -> int:
    store = BatchStore(settings.path("batches.db"))
    try:
        return len(store.recent())
    finally:
        store.close()


async def catalogue_other(settings: Any, runs: Path) -> None:
    """Files of another data type, which the batches' filter leaves out."""
    from seedpipe.records import FileRecord, WorkspaceRef

    async with open_index(settings.index) as index:
        await index.upsert(
            [
                FileRecord(
                    id=f"other-{i}",
                    file_name=f"o{i}.txt",
                    workspace=WorkspaceRef(name="input"),
                    file_path=f"o{i}.txt",
                    data_type_tags=["other"],
                )
                for i in range(3)
            ]
        )


async def _len_at_least(records: Any, n: int) -> Any:
    found = await records
    return found if len(found) >= n else None


async def _len_at_most(records: Any, n: int) -> bool:
    return len(await records) <= n


async def test_batches_over_http_answer_a_dry_run_progress_and_bad_input_naming_the_field(
    tmp_path: Path,
) -> None:
    import httpx

    from composition.http import create_app

    write_config(tmp_path)
    settings = load(tmp_path)
    runs = tmp_path / "runs"
    runs.mkdir()
    await catalogue(settings, runs, 5)
    async with open_index(settings.index) as index:
        app = create_app(settings, index=index)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            body = {"job_type": "touch-job", "query": {"data_types_any": ["raw"]}}
            dry = await client.post("/batches", json={**body, "dry_run": True})
            assert dry.status_code == 200 and dry.json()["count"] == 5
            for bad, field in [
                ({**body, "query": {"bbox": "x"}}, "query.bbox"),
                ({**body, "priority": "high"}, "priority"),
                ({**body, "revision": 4}, "revision"),
                ({"job_type": "touch-job"}, "query"),
                ({**body, "query": {"data_types_any": ["none"]}}, "query"),
                ({**body, "surprise": 1}, "surprise"),
            ]:
                resp = await client.post("/batches", json=bad)
                assert resp.status_code == 400, (bad, resp.text)
                assert resp.json()["detail"].startswith(f"{field}:"), resp.text
                assert resp.json()["field"] == field, resp.text
            made = await client.post("/batches", json=body)
            assert made.status_code == 201
            batch = made.json()
            assert batch["status"] == "planning" and batch["count"] == 5
            shown = (await client.get(f"/batches/{batch['id']}")).json()
            assert set(shown["progress"]) == {
                "planned", "queued", "running", "completed", "failed", "skipped",
            }  # fmt: skip
            listed = (await client.get("/batches")).json()["results"]
            assert [b["id"] for b in listed] == [batch["id"]]
            canceled = await client.post(f"/batches/{batch['id']}/cancel")
            assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
            assert (await client.post(f"/batches/{batch['id']}/cancel")).status_code == 409
            assert (await client.get("/batches/nope")).status_code == 404
            for method, path, field in [
                ("GET", f"/batches/{'b' * 65}", "batch_id"),
                ("POST", f"/batches/{'b' * 65}/cancel", "batch_id"),
                ("POST", f"/batches/{batch['id']}/cancel?kill_running=maybe", "kill_running"),
                ("POST", f"/files/{'f' * 129}/purge", "file_id"),
                ("POST", "/files/file-00000/purge?dry_run=perhaps", "dry_run"),
            ]:
                resp = await client.request(method, path)
                assert resp.status_code == 400 and resp.json()["field"] == field, resp.text
            from indexer.backends.base import Subscription

            await index.add_subscription(
                Subscription(id="raw-files", name="raw", query=Query(data_types_any=["raw"]))
            )
            saved = {"job_type": "touch-job", "saved_search": "raw-files", "dry_run": True}
            by_saved = await client.post("/batches", json=saved)
            assert by_saved.status_code == 200 and by_saved.json()["count"] == 5
            unknown = await client.post("/batches", json={**saved, "saved_search": "nope"})
            assert unknown.status_code == 400 and "saved_search:" in unknown.text
            assert (await client.post("/files/nope/purge")).status_code == 404
