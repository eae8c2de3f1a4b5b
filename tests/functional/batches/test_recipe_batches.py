"""Batches of recipe types on the embedded defaults: a recipe per file, through the recipe
engine; dry run, supersede, progress counted in recipes, cancel, resumed planning, bad input."""

from __future__ import annotations

import asyncio
import functools
import getpass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from capture.batches import creation, planner, tracking
from capture.batches.model import parse_request
from capture.batches.store import BatchStore
from capture.jobs import JobStore
from capture.recipes.store import RecipeStore
from indexer.backends import open_index
from seedpipe.cli import main
from seedpipe.records import FileRecord, WorkspaceRef
from tests.functional.batches.conftest import catalogue, recipe_types_config, write_config
from tests.functional.batches.test_batches import cli, failures, products
from tests.functional.pipeline.conftest import load, running_pipeline, wait_until

N = 4


def progress(settings: Any, batch_id: str) -> dict[str, Any]:
    jobs = JobStore(settings.path("jobs.db"))
    batches = BatchStore(settings.path("batches.db"))
    recipes = RecipeStore(settings.path("recipes.db"))
    try:
        return tracking.progress(batches.require(batch_id), jobs, recipes)
    finally:
        jobs.close()
        batches.close()
        recipes.close()


def batch_recipes(settings: Any, batch_id: str) -> list[Any]:
    recipes = RecipeStore(settings.path("recipes.db"))
    try:
        return [r for r in recipes.search(limit=10_000) if r.batch == batch_id]
    finally:
        recipes.close()


def batch_jobs(settings: Any, batch_id: str) -> list[Any]:
    jobs = JobStore(settings.path("jobs.db"))
    try:
        return [j for j in jobs.search(limit=10_000) if j.batch == batch_id]
    finally:
        jobs.close()


def setup(tmp_path: Path, **kwargs: Any) -> tuple[str, Any, Path]:
    config = str(write_config(tmp_path, recipe_types_config(tmp_path), **kwargs))
    runs = tmp_path / "runs"
    runs.mkdir()
    return config, load(tmp_path), runs


async def made_by(settings: Any, batch_id: str, n: int, **filters: Any) -> list[Any]:
    async def enough() -> list[Any] | None:
        found = await products(settings, batches=[batch_id], **filters)
        return found if len(found) >= n else None

    found: list[Any] = await wait_until(enough, f"{n} products of batch {batch_id} indexed")
    return found


async def done(settings: Any, batch_id: str) -> dict[str, int]:
    await wait_until(lambda: progress(settings, batch_id)["done"], f"batch {batch_id} to finish")
    out: dict[str, int] = progress(settings, batch_id)["progress"]
    return out


def finished(n: int) -> dict[str, int]:
    return {"planned": n, "queued": 0, "running": 0, "completed": n, "failed": 0, "skipped": 0}


async def test_a_recipe_batch_runs_a_recipe_per_file_and_supersedes_only_when_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, settings, runs = setup(tmp_path)
    ids = await catalogue(settings, runs, N)
    create = ("batches", "create", "-c", config, "--recipe-type", "twice")
    code, dry = await cli(capsys, *create, "--data-type", "raw", "--dry-run")
    assert code == 0 and dry["dry_run"] and dry["recipe_type"] == "twice", dry
    assert dry["count"] == N and sorted(s["id"] for s in dry["sample"]) == ids
    assert (
        not settings.path("batches.db").exists()
        or not BatchStore(settings.path("batches.db")).recent()
    )
    async with running_pipeline(settings):
        # Planned by the CLI through a recipe engine of its own; the service runs the jobs.
        code, first = await cli(capsys, *create, "--data-type", "raw", "--priority", "5")
        assert code == 0, first
        assert first["recipe_type"] == "twice" and first["job_type"] is None
        assert first["status"] == "planned" and first["progress"]["planned"] == N
        assert await done(settings, first["id"]) == finished(N), failures(settings)
        made = await made_by(settings, first["id"], 2 * N)
        assert len(made) == 2 * N  # two nodes, a product each, per file
        assert all(p.batch == first["id"] and p.recipe_type == "twice" for p in made)
        assert {p.recipe_node for p in made} == {"first", "second"}
        assert sorted({a for p in made for a in p.ancestors} & set(ids)) == ids
        recipes = batch_recipes(settings, first["id"])
        assert len(recipes) == N and all(r.status == "completed" for r in recipes)
        assert sorted(r.batch_file for r in recipes) == ids
        assert all(r.trigger == f"batch:{first['id']}" for r in recipes)
        jobs = batch_jobs(settings, first["id"])
        assert len(jobs) == 2 * N and all(j.recipe and j.priority == 5 for j in jobs)
        assert all(not j.supersede for j in jobs)

        # Again over the same files, not superseding: new recipes (never deduplicated away),
        # new products, and the first batch's products stand.
        again = ("--previous-batch", first["id"])
        code, second = await cli(capsys, *create, *again)
        assert code == 0 and second["progress"]["planned"] == N, second
        assert await done(settings, second["id"]) == finished(N), failures(settings)
        await made_by(settings, second["id"], 2 * N)
        second_ids = {r.id for r in batch_recipes(settings, second["id"])}
        assert len(second_ids) == N and not second_ids & {r.id for r in recipes}
        assert len(await products(settings, batches=[first["id"]])) == 2 * N

        # And superseding: every earlier product of the recipe type for these files is
        # superseded, the second node's too (its input was the earlier run's own product).
        code, third = await cli(capsys, *create, *again, "--supersede")
        assert code == 0 and third["supersede"], third
        assert await done(settings, third["id"]) == finished(N), failures(settings)
        newest = await made_by(settings, third["id"], 2 * N)
        for earlier in (first["id"], second["id"]):
            await wait_until(
                functools.partial(_none_left, settings, earlier),
                f"batch {earlier}'s products superseded",
            )
            old = await products(settings, batches=[earlier], include_superseded=True)
            assert len(old) == 2 * N and all(p.is_superseded and p.superseded for p in old)
        assert not any(p.is_superseded for p in newest)
    # Each batch ran both nodes once per file: 3 batches x 2 nodes x N files.
    assert len(list(runs.glob("*.start"))) == 3 * 2 * N
    code, listed = await cli(capsys, "batches", "list", "-c", config)
    assert code == 0 and [b["id"] for b in listed] == [third["id"], second["id"], first["id"]]
    assert all(b["progress"] == finished(N) for b in listed)


async def _none_left(settings: Any, batch_id: str) -> bool:
    return not await products(settings, batches=[batch_id])


async def test_bad_recipe_batches_are_refused_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, settings, runs = setup(tmp_path)
    await catalogue(settings, runs, N)
    create = ("batches", "create", "-c", config)
    raw = ("--data-type", "raw")
    for argv, expected in [
        (("--recipe-type", "nope", *raw), "recipe_type: unknown recipe type 'nope' (known: lab"),
        (("--recipe-type", "twice", "--revision", "1", *raw), "revision: recipe types have no"),
        (("--recipe-type", "pair", *raw), "recipe_type: recipe type 'pair' has 2 required file"),
        (("--recipe-type", "labeled", *raw), "recipe_type: recipe type 'labeled' needs the JSON"),
        (("--recipe-type", "pictures", *raw), "recipe_type: recipe type 'pictures' cannot take"),
        (("--recipe-type", "twice", "--previous-batch", "nope"), "previous_batch: no batch"),
        (("--recipe-type", "twice", "--data-type", "none-such"), "query: matches no files"),
    ]:
        code, err = await cli(capsys, *create, *argv)
        assert code == 2 and expected in err, (argv, err)
    for argv in [("--recipe-type", "twice", "--job-type", "touch-job", *raw), raw]:
        with pytest.raises(SystemExit) as exited:  # argparse's own refusal
            main([*create, *argv])
        err = capsys.readouterr().err
        assert exited.value.code == 2, (argv, err)
        assert "--job-type" in err and "--recipe-type" in err, (argv, err)
    assert (
        not settings.path("batches.db").exists()
        or not BatchStore(settings.path("batches.db")).recent()
    )


async def test_recipe_batches_over_http(tmp_path: Path) -> None:
    import httpx

    from composition.http import create_app

    _, settings, runs = setup(tmp_path)
    ids = await catalogue(settings, runs, N)
    body = {"recipe_type": "twice", "query": {"data_types_any": ["raw"]}}
    async with open_index(settings.index) as index:
        app = create_app(settings, index=index)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            dry = await client.post("/batches", json={**body, "dry_run": True})
            assert dry.status_code == 200, dry.text
            assert dry.json()["count"] == N and dry.json()["recipe_type"] == "twice"
            for bad, field, says in [
                ({**body, "job_type": "touch-job"}, "recipe_type", "exactly one of"),
                ({"query": body["query"]}, "job_type", "exactly one of"),
                ({**body, "recipe_type": "nope"}, "recipe_type", "unknown recipe type"),
                ({**body, "recipe_type": ""}, "recipe_type", "must name"),
                ({**body, "recipe_type": None}, "recipe_type", "must name"),
                ({**body, "recipe_type": "pair"}, "recipe_type", "2 required file inputs"),
                ({**body, "recipe_type": "pictures"}, "recipe_type", "cannot take file"),
                ({**body, "revision": 1}, "revision", "recipe types have no revisions"),
            ]:
                resp = await client.post("/batches", json=bad)
                assert resp.status_code == 400, (bad, resp.text)
                assert resp.json()["field"] == field, resp.text
                assert resp.json()["detail"].startswith(f"{field}:"), resp.text
                assert says in resp.json()["detail"], resp.text
            made = await client.post("/batches", json=body)
            assert made.status_code == 201, made.text
            batch = made.json()
            assert batch["status"] == "planning" and batch["recipe_type"] == "twice"
            assert batch["progress"]["planned"] == 0 and batch["count"] == N
            schema = (await client.get("/openapi.json")).json()
            request = schema["paths"]["/batches"]["post"]["requestBody"]
            props = request["content"]["application/json"]["schema"]["properties"]
            assert {"job_type", "recipe_type"} <= set(props)
    # The capture service plans what the API recorded, through its own recipe engine.
    async with running_pipeline(settings):
        assert await done(settings, batch["id"]) == finished(N), failures(settings)
        made_products = await made_by(settings, batch["id"], 2 * N)
    assert sorted({a for p in made_products for a in p.ancestors} & set(ids)) == ids
    async with open_index(settings.index) as index:
        app = create_app(settings, index=index)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            shown = (await client.get(f"/batches/{batch['id']}")).json()
            assert shown["progress"] == finished(N) and shown["done"]
            listed = (await client.get("/batches")).json()["results"]
            assert [b["id"] for b in listed] == [batch["id"]]
            recipe = (await client.get("/recipes", params={"page_size": 1})).json()["results"]
            assert recipe[0]["batch"] == batch["id"]
            # Again over its files, superseding what it made.
            again = {"recipe_type": "twice", "previous_batch": batch["id"], "supersede": True}
            dry = await client.post("/batches", json={**again, "dry_run": True})
            assert dry.status_code == 200 and dry.json()["count"] == N, dry.text
            resp = await client.post("/batches", json=again)
            assert resp.status_code == 201 and resp.json()["supersede"], resp.text
            second = resp.json()
    async with running_pipeline(settings):
        assert await done(settings, second["id"]) == finished(N), failures(settings)
        await made_by(settings, second["id"], 2 * N)
        await wait_until(
            functools.partial(_none_left, settings, batch["id"]), "the first products superseded"
        )
    old = await products(settings, batches=[batch["id"]], include_superseded=True)
    assert len(old) == 2 * N and all(p.is_superseded for p in old)


async def test_canceling_a_recipe_batch_stops_the_recipes_not_yet_started(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, settings, runs = setup(tmp_path)
    await catalogue(settings, runs, N)
    # Planned by the CLI while no service runs: every recipe waits on its first job.
    code, batch = await cli(
        capsys, "batches", "create", "-c", config, "--recipe-type", "twice", "--data-type", "raw"
    )
    assert code == 0 and batch["progress"]["queued"] == N, batch
    code, canceled = await cli(capsys, "batches", "cancel", batch["id"], "-c", config)
    assert code == 0 and canceled["status"] == "canceled"
    assert canceled["progress"] == {
        "planned": N, "queued": 0, "running": 0, "completed": 0, "failed": 0, "skipped": N,
    }  # fmt: skip
    async with running_pipeline(settings):
        await asyncio.sleep(2.0)  # the scheduler polls every second: it would have started some
    assert list(runs.glob("*.start")) == []
    by = f"cli:{getpass.getuser()}"
    recipes = batch_recipes(settings, batch["id"])
    assert len(recipes) == N and {r.status for r in recipes} == {"canceled"}
    assert all(r.error and r.error["canceled_by"] == by for r in recipes)
    jobs = batch_jobs(settings, batch["id"])
    assert len(jobs) == N and all(j.status == "canceled" for j in jobs)
    assert all(j.canceled_by == f"batch:{by}" for j in jobs)


async def test_recipe_batches_with_running_jobs_cancel_as_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --kill-running a recipe whose first job runs goes on to its end; with it every
    unfinished recipe is canceled and its running job killed."""
    config, settings, runs = setup(tmp_path, sleep_s=5.0)
    n = 6  # 4 first jobs run at once (the touch job's max_concurrent), 2 recipes wait
    await catalogue(settings, runs, n)
    create = ("batches", "create", "-c", config, "--recipe-type", "twice", "--data-type", "raw")
    async with running_pipeline(settings):
        code, batch = await cli(capsys, *create)
        assert code == 0, batch
        await wait_until(
            lambda: progress(settings, batch["id"])["progress"]["running"] >= 4 or None,
            "four recipes under way",
        )
        code, canceled = await cli(capsys, "batches", "cancel", batch["id"], "-c", config)
        # 4 unless a first job ended (and a fifth recipe started) before the cancel landed
        under_way = canceled["progress"]["running"] + canceled["progress"]["completed"]
        assert code == 0 and 4 <= under_way < n, canceled
        assert canceled["progress"]["skipped"] == n - under_way
        final = await done(settings, batch["id"])
        assert final == {
            "planned": n, "queued": 0, "running": 0, "completed": under_way, "failed": 0,
            "skipped": n - under_way,
        }, failures(settings)  # fmt: skip
        # Both nodes of each recipe under way ran; the others never started.
        assert len(list(runs.glob("*.start"))) == 2 * under_way

        code, killed = await cli(capsys, *create)
        assert code == 0, killed
        await wait_until(
            lambda: progress(settings, killed["id"])["progress"]["running"] >= 4 or None,
            "four recipes of the second batch under way",
        )
        code, out = await cli(
            capsys, "batches", "cancel", killed["id"], "-c", config, "--kill-running"
        )
        assert code == 0 and out["progress"]["skipped"] == n, out
        await asyncio.sleep(2.0)  # nothing more starts
        assert progress(settings, killed["id"])["progress"]["skipped"] == n
    jobs = batch_jobs(settings, killed["id"])
    assert {j.status for j in jobs} == {"canceled"}
    killed_jobs = [j for j in jobs if j.started is not None]
    assert len(killed_jobs) >= 4 and all(j.ended is not None for j in killed_jobs)
    assert len(list(runs.glob("*.start"))) == 2 * under_way + len(killed_jobs)


async def test_planning_a_recipe_batch_resumes_where_it_stopped_and_starts_nothing_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stop (as a crash leaves it) between pages keeps the cursor; planning again, even
    re-walking pages already started, makes each file's recipe once."""
    from capture.recipes.offline import open_engine

    _, settings, runs = setup(tmp_path)
    ids = await catalogue(settings, runs, 5)
    monkeypatch.setattr(planner, "PAGE", 2)  # 3 pages of the 5 files
    jobs = JobStore(settings.path("jobs.db"))
    batches = BatchStore(settings.path("batches.db"))
    try:
        async with open_engine(settings) as (engine, index):
            request = parse_request({"recipe_type": "twice", "query": {"data_types_any": ["raw"]}})
            made = await creation.create(
                request,
                batches=batches,
                jobs=jobs,
                index=index,
                job_types=engine.ctx.job_types,
                revisions={},
                recipe_types=engine.recipe_types,
                recipes=engine.store,
            )
            stop = asyncio.Event()
            stop.set()  # stops after the first page, as a crash after it would
            plan = planner.plan
            assert await plan(made["id"], batches, jobs, index, {}, engine=engine, stop=stop) == 2
            assert batches.require(made["id"]).status == "planning"
            assert batches.require(made["id"]).cursor is not None
            assert await plan(made["id"], batches, jobs, index, {}, engine=engine, stop=stop) == 2
            # A crash before the cursor moved past a page: that page is walked again.
            batches.advance(made["id"], None)
            assert await plan(made["id"], batches, jobs, index, {}, engine=engine) == 1
            assert batches.require(made["id"]).status == "planned"
            shown = tracking.progress(batches.require(made["id"]), jobs, engine.store)
    finally:
        jobs.close()
        batches.close()
    assert shown["progress"]["planned"] == 5 and shown["progress"]["queued"] == 5
    recipes = batch_recipes(settings, made["id"])
    assert sorted(r.batch_file for r in recipes) == ids
    first_jobs = batch_jobs(settings, made["id"])
    assert len(first_jobs) == 5 and {j.recipe_node for j in first_jobs} == {"first"}


async def test_a_recipe_batch_leaves_out_files_its_recipe_type_cannot_take(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Past the sample (the newest files; it would refuse the batch), a file of the wrong media
    type is left out while planning rather than started as a recipe that cannot run."""
    config, settings, runs = setup(tmp_path)
    ids = await catalogue(settings, runs, 11)
    async with open_index(settings.index) as index:
        await index.upsert(
            [
                FileRecord(
                    id="zz-binary",
                    file_name="zz.bin",
                    workspace=WorkspaceRef(name="input"),
                    file_path="zz.bin",
                    data_type_tags=["raw"],
                    created=datetime(2019, 1, 1, tzinfo=UTC),  # the oldest: not sampled
                )
            ]
        )
    code, batch = await cli(
        capsys, "batches", "create", "-c", config, "--recipe-type", "twice", "--data-type", "raw"
    )
    assert code == 0 and batch["progress"]["planned"] == 11, batch
    assert sorted(r.batch_file for r in batch_recipes(settings, batch["id"])) == ids


@pytest.mark.parametrize("kind", ["job_type", "recipe_type"])
async def test_two_planners_of_one_batch_cancel_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """The CLI plans the batch it records while a running service may plan it too: the one
    that finds it planned by the other stops, and cancels none of its jobs or recipes."""
    from capture.recipes.offline import open_engine
    from capture.revisions import register_all

    _, settings, runs = setup(tmp_path)
    await catalogue(settings, runs, 7)
    monkeypatch.setattr(planner, "PAGE", 2)
    jobs = JobStore(settings.path("jobs.db"))
    batches = BatchStore(settings.path("batches.db"))
    what = "twice" if kind == "recipe_type" else "touch-job"
    try:
        async with open_engine(settings) as (engine, index):
            types = engine.ctx.job_types
            made = await creation.create(
                parse_request({kind: what, "query": {"data_types_any": ["raw"]}}),
                batches=batches,
                jobs=jobs,
                index=index,
                job_types=types,
                revisions=register_all(jobs.path, types),
                recipe_types=engine.recipe_types,
                recipes=engine.store,
            )
            both = [
                planner.plan(made["id"], batches, jobs, index, types, engine=engine)
                for _ in range(2)
            ]
            await asyncio.gather(*both)
            shown = tracking.progress(batches.require(made["id"]), jobs, engine.store)
    finally:
        jobs.close()
        batches.close()
    assert shown["status"] == "planned"
    assert shown["progress"] == {
        "planned": 7, "queued": 7, "running": 0, "completed": 0, "failed": 0, "skipped": 0,
    }  # fmt: skip
