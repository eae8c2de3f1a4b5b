"""The recipe engine inside the capture service, on the embedded bus, index and stores."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from capture.recipes.store import Recipe
from capture.service import CaptureService
from indexer.backends import open_index
from indexer.backends.base import FileIndex
from seedpipe.bus import open_bus
from seedpipe.events import FILE_INGESTED, CloudEvent, file_event
from seedpipe.records import FileRecord, WorkspaceRef
from seedpipe.settings import Settings
from tests.functional.pipeline.conftest import wait_until, write_png
from tests.functional.recipes.conftest import collect_job_type

BASE = """
data_dir = "data"
[bus]
url = "{bus}"
topic_prefix = "{prefix}"
backoff_initial_s = 0.05
[bus.kafka]
partitions = 2
session_timeout_ms = 2000
heartbeat_interval_ms = 500
[workspaces.input]
url = "data/input"
[workspaces.output]
url = "data/output"
[capture]
cpus = 2
"""


def setup(
    root: Path,
    definitions: dict[str, dict[str, Any]],
    extra: str = "",
    bus: tuple[str, str] = ("sqlite:///events.db", "seedpipe"),
) -> Settings:
    text = BASE.format(bus=bus[0], prefix=bus[1]) + collect_job_type(root)
    for name, definition in definitions.items():
        path = root / f"{name}.json"
        path.write_text(json.dumps(definition))
        text += f'\n[[recipe_types]]\nname = "{name}"\ndefinition = "{path}"\n'
    (root / "seedpipe.toml").write_text(text + extra)
    return Settings.load(root / "seedpipe.toml")


def source(settings: Settings, name: str, i: int = 0) -> FileRecord:
    """A PNG placed in the input workspace, with its catalogue-like record."""
    path = Path(settings.data_dir) / "input" / name
    write_png(path, i)
    return FileRecord(
        file_name=name,
        workspace=WorkspaceRef(name="input"),
        file_path=name,
        media_type="image/png",
        file_size=path.stat().st_size,
    )


def collect(label_from: dict[str, Any], files_from: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "dependencies": extra.pop("dependencies", []),
        "input": {"FILES": files_from, "LABEL": label_from, **extra},
        "node_type": {"node_type": "job", "job_type_name": "collect", "job_type_version": "1.0.0"},
    }


def recipe_in(name: str) -> dict[str, str]:
    return {"type": "recipe", "input": name}


def dep(node: str, output: str) -> dict[str, str]:
    return {"type": "dependency", "node": node, "output": output}


# The members of a file record in INPUT_METADATA, as the Scale documentation's example shows.
SCALE_FILE_KEYS = set(
    [
        "id",
        "file_name",
        "workspace",
        "data_type_tags",
        "media_type",
        "file_type",
        "file_size",
        "file_path",
        "is_deleted",
        "url",
        "created",
        "deleted",
        "data_started",
        "data_ended",
        "source_started",
        "source_ended",
        "source_sensor_class",
        "source_sensor",
        "source_collection",
        "source_task",
        "last_modified",
        "geometry",
        "center_point",
        "countries",
        "job_type",
        "job",
        "job_exe",
        "job_output",
        "recipe_type",
        "recipe",
        "recipe_node",
        "batch",
        "is_superseded",
        "superseded",
        "meta_data",
    ]
)

INTERFACE = {
    "files": [{"name": "IMAGES", "media_types": ["image/png"], "multiple": True}],
    "json": [{"name": "LABEL", "type": "string"}],
}


@contextlib.asynccontextmanager
async def capture_running(settings: Settings) -> AsyncIterator[CaptureService]:
    settings.path().mkdir(parents=True, exist_ok=True)
    async with open_bus(settings.bus) as bus, open_index(settings.index) as index:
        service = CaptureService(settings, bus, index)
        stop = asyncio.Event()
        task = asyncio.create_task(service.run(stop))
        try:
            yield service
        finally:
            stop.set()
            await asyncio.wait_for(task, 60)


async def finished(service: CaptureService, recipe_id: str) -> Recipe:
    def done() -> Recipe | None:
        r = service.recipes.get(recipe_id)
        return r if r is not None and r.status != "running" else None

    result: Recipe = await wait_until(done, f"recipe {recipe_id} to finish", timeout=60)
    return result


def context_of(settings: Settings, service: CaptureService, recipe_id: str, node: str) -> Any:
    state = service.recipes.nodes(recipe_id)[node]
    record = (state.outputs or {})["CONTEXT"]["files"][0]
    path = Path(settings.data_dir) / "output" / record["file_path"]
    return json.loads(path.read_text())


@pytest.fixture(params=["sqlite", pytest.param("kafka", marks=pytest.mark.kafka)])
def bus(request: pytest.FixtureRequest) -> tuple[str, str]:
    """(bus url, topic prefix): the embedded log, or tansu with topics of the test's own."""
    if request.param == "sqlite":
        return ("sqlite:///events.db", "seedpipe")
    return (request.getfixturevalue("kafka_url"), f"r{request.getfixturevalue('unique')}")


async def test_json_outputs_file_outputs_and_multiple_files_flow_between_nodes(
    tmp_path: Path, bus: tuple[str, str]
) -> None:
    definition = {
        "version": "7",
        "input": INTERFACE,
        "nodes": {
            "first": collect(recipe_in("LABEL"), recipe_in("IMAGES")),
            "second": collect(
                recipe_in("LABEL"),
                dep("first", "CONTEXT"),
                N=dep("first", "COUNT"),
                dependencies=[{"name": "first"}],
            ),
        },
    }
    settings = setup(tmp_path, {"chain": definition}, bus=bus)
    async with capture_running(settings) as service:
        images = [source(settings, "a.png", 1), source(settings, "b.png", 2)]
        recipe, created = await service.engine.start(
            "chain", {"IMAGES": images}, {"LABEL": "hello"}
        )
        assert created
        done = await finished(service, recipe.id)
        assert done.status == "completed"
        nodes = service.recipes.nodes(recipe.id)
        assert (nodes["first"].outputs or {})["COUNT"] == {"json": 2}
        # second got one file (first's CONTEXT) plus N=2 from first's seed.outputs.json
        assert (nodes["second"].outputs or {})["COUNT"] == {"json": 3}
        first = context_of(settings, service, recipe.id, "first")
        assert first["files"] == ["a.png", "b.png"]
        ctx = first["context"]
        # Scale's INPUT_METADATA: JOB and RECIPE, file inputs as full records with url,
        # JSON inputs as their values.
        assert set(ctx) == {"JOB", "RECIPE"}
        assert ctx["JOB"]["LABEL"] == "hello"
        assert [r["file_name"] for r in ctx["JOB"]["FILES"]] == ["a.png", "b.png"]
        assert all(r["url"] and r["workspace"]["name"] == "input" for r in ctx["JOB"]["FILES"])
        assert ctx["RECIPE"]["LABEL"] == "hello"
        assert [r["file_name"] for r in ctx["RECIPE"]["IMAGES"]] == ["a.png", "b.png"]
        # Every member of a file in Scale's documented INPUT_METADATA example.
        for record in [*ctx["JOB"]["FILES"], *ctx["RECIPE"]["IMAGES"]]:
            assert set(record) >= SCALE_FILE_KEYS, SCALE_FILE_KEYS - set(record)
            assert set(record["workspace"]) == {"id", "name"}
        second = context_of(settings, service, recipe.id, "second")
        assert second["context"]["JOB"]["N"] == 2
        assert second["context"]["JOB"]["FILES"][0]["recipe_node"] == "first"
        jobs = {j.recipe_node: j for j in service.store.search()}
        assert {j.recipe for j in jobs.values()} == {recipe.id}
        assert {j.recipe_type for j in jobs.values()} == {"chain"}


async def test_a_condition_branches_and_a_skipped_node_skips_its_dependents(
    tmp_path: Path, bus: tuple[str, str]
) -> None:
    condition = {
        "dependencies": [{"name": "count"}],
        "input": {"COUNT": dep("count", "COUNT")},
        "node_type": {
            "node_type": "condition",
            "interface": {
                "files": [],
                "json": [{"name": "COUNT", "type": "integer", "required": True}],
            },
            "data_filter": {
                "filters": [{"name": "COUNT", "type": "integer", "condition": ">", "values": [1]}]
            },
        },
    }
    definition = {
        "version": "6",
        "input": INTERFACE,
        "nodes": {
            "count": collect(recipe_in("LABEL"), recipe_in("IMAGES")),
            "many": condition,
            "then": collect(
                recipe_in("LABEL"), recipe_in("IMAGES"), dependencies=[{"name": "many"}]
            ),
            "after-then": collect(
                recipe_in("LABEL"), recipe_in("IMAGES"), dependencies=[{"name": "then"}]
            ),
            "else": collect(
                recipe_in("LABEL"),
                recipe_in("IMAGES"),
                dependencies=[{"name": "many", "acceptance": False}],
            ),
        },
    }
    settings = setup(tmp_path, {"branch": definition}, bus=bus)
    async with capture_running(settings) as service:
        one = [source(settings, "one.png")]
        two = [source(settings, "x.png", 1), source(settings, "y.png", 2)]
        r1, _ = await service.engine.start("branch", {"IMAGES": one}, {"LABEL": "one"})
        r2, _ = await service.engine.start("branch", {"IMAGES": two}, {"LABEL": "two"})
        assert (await finished(service, r1.id)).status == "completed"
        assert (await finished(service, r2.id)).status == "completed"
        states1 = {n: (s.state, s.accepted) for n, s in service.recipes.nodes(r1.id).items()}
        states2 = {n: (s.state, s.accepted) for n, s in service.recipes.nodes(r2.id).items()}
    assert states1 == {
        "count": ("completed", None),
        "many": ("completed", False),
        "then": ("skipped", None),
        "after-then": ("skipped", None),
        "else": ("completed", None),
    }
    assert states2 == {
        "count": ("completed", None),
        "many": ("completed", True),
        "then": ("completed", None),
        "after-then": ("completed", None),
        "else": ("skipped", None),
    }


async def test_a_failed_node_fails_the_recipe_and_retry_reruns_it_and_what_it_held_back(
    tmp_path: Path,
) -> None:
    interface = {
        **INTERFACE,
        "json": [{"name": "LABEL", "type": "string"}, {"name": "OTHER", "type": "string"}],
    }
    definition = {
        "version": "7",
        "input": interface,
        "nodes": {
            "breaks": collect(recipe_in("LABEL"), recipe_in("IMAGES")),
            "fine": collect(recipe_in("OTHER"), recipe_in("IMAGES")),
            "after": collect(
                recipe_in("LABEL"), recipe_in("IMAGES"), dependencies=[{"name": "breaks"}]
            ),
        },
    }
    settings = setup(tmp_path, {"flaky": definition})
    (tmp_path / "collect" / "fail-marker").write_text("")
    async with capture_running(settings) as service:
        images = [source(settings, "a.png")]
        recipe, _ = await service.engine.start(
            "flaky", {"IMAGES": images}, {"LABEL": "fail", "OTHER": "fine"}
        )
        failed = await finished(service, recipe.id)
        assert failed.status == "failed"
        assert failed.error is not None and failed.error["nodes"] == ["breaks"]
        await wait_until(
            lambda: service.recipes.nodes(recipe.id)["fine"].state == "completed", "fine to finish"
        )
        nodes = service.recipes.nodes(recipe.id)
        assert nodes["breaks"].state == "failed"
        assert "told-to-fail" in (nodes["breaks"].reason or "")
        assert nodes["after"].state == "pending"  # nothing new starts once a node failed
        (tmp_path / "collect" / "fail-marker").unlink()
        assert await service.engine.retry(recipe.id) == ["breaks"]
        done = await finished(service, recipe.id)
        assert done.status == "completed"
        assert {n: s.state for n, s in service.recipes.nodes(recipe.id).items()} == {
            "after": "completed",
            "breaks": "completed",
            "fine": "completed",
        }
        assert len(service.store.search()) == 3  # the retried node reran its own job


async def test_a_recipe_node_runs_a_sub_recipe_and_finishes_with_it(tmp_path: Path) -> None:
    inner = {
        "version": "7",
        "input": INTERFACE,
        "nodes": {"work": collect(recipe_in("LABEL"), recipe_in("IMAGES"))},
    }
    outer = {
        "version": "7",
        "input": INTERFACE,
        "nodes": {
            "sub": {
                "dependencies": [],
                "input": {"IMAGES": recipe_in("IMAGES"), "LABEL": recipe_in("LABEL")},
                "node_type": {
                    "node_type": "recipe",
                    "recipe_type_name": "inner",
                    "recipe_type_revision": 2,
                },
            },
            "last": collect(
                recipe_in("LABEL"), recipe_in("IMAGES"), dependencies=[{"name": "sub"}]
            ),
        },
    }
    settings = setup(tmp_path, {"inner": inner, "outer": outer})
    async with capture_running(settings) as service:
        recipe, _ = await service.engine.start(
            "outer", {"IMAGES": [source(settings, "a.png")]}, {"LABEL": "s"}
        )
        done = await finished(service, recipe.id)
        assert done.status == "completed"
        nodes = service.recipes.nodes(recipe.id)
        child = service.recipes.require(nodes["sub"].sub_recipe or "")
        assert (child.recipe_type, child.status, child.parent, child.parent_node) == (
            "inner",
            "completed",
            recipe.id,
            "sub",
        )
        assert nodes["last"].state == "completed"
        assert service.store.get(service.recipes.nodes(child.id)["work"].job_id or "") is not None


async def test_a_replayed_trigger_event_never_creates_a_second_recipe_or_job(
    tmp_path: Path,
) -> None:
    definition = {
        "version": "7",
        "input": {"files": [{"name": "IMAGE", "media_types": ["image/png"]}]},
        "nodes": {
            "only": {
                "dependencies": [],
                "input": {"INPUT_IMAGE": recipe_in("IMAGE")},
                "node_type": {
                    "node_type": "job",
                    "job_type_name": "image-watermark",
                    "job_type_version": "0.1.0",
                },
            }
        },
    }
    root = Path(__file__).resolve().parents[3] / "examples" / "watermark"
    extra = f"""
[[job_types]]
name = "image-watermark"
manifest = "{root / "seed.manifest.json"}"
entrypoint = "python {root / "watermark.py"}"
output_workspace = "output"
[[triggers]]
name = "png"
recipe_type = "mark"
input = "IMAGE"
"""
    settings = setup(tmp_path, {"mark": definition}, extra)
    async with capture_running(settings) as service:
        event = file_event(FILE_INGESTED, source(settings, "a.png"), "test")
        for _ in range(3):
            await service.handle(CloudEvent.model_validate(event.model_dump()))
        recipes = service.recipes.search()
        assert len(recipes) == 1
        done = await finished(service, recipes[0].id)
        assert done.status == "completed"
        await service.handle(event)
        assert len(service.recipes.search()) == 1
        assert len(service.store.search()) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"recipe_type": "nope"}, "recipe_type"),
        ({"recipe_type": "chain", "json": {"LABEL": "x"}}, "inputs.IMAGES"),
        (
            {
                "recipe_type": "chain",
                "inputs": {"IMAGES": ["no-such-file"]},
                "json": {"LABEL": "x"},
            },
            "inputs.IMAGES",
        ),
        ({"recipe_type": "chain", "inputs": {"IMAGES": "F"}, "json": {"LABEL": 5}}, "json.LABEL"),
        ({"recipe_type": "chain", "inputs": {"IMAGES": 5}}, "inputs.IMAGES"),
        (
            {"recipe_type": "chain", "inputs": {"IMAGES": ["TXT"]}, "json": {"LABEL": "x"}},
            "inputs.IMAGES: text/plain is not one of ['image/png']",
        ),
        ({"recipe_type": "chain", "surprise": 1}, "surprise"),
        ([], "$"),
    ],
)
async def test_starting_a_recipe_over_http_with_bad_input_is_a_400_naming_the_field(
    tmp_path: Path, body: Any, field: str
) -> None:
    import httpx

    from composition.http import create_app

    definition = {
        "version": "7",
        "input": INTERFACE,
        "nodes": {"first": collect(recipe_in("LABEL"), recipe_in("IMAGES"))},
    }
    settings = setup(tmp_path, {"chain": definition})
    async with capture_running(settings) as service:
        index = service.index
        assert isinstance(index, FileIndex)
        record = source(settings, "a.png").model_copy(update={"id": "F"})
        text = record.model_copy(update={"id": "TXT", "media_type": "text/plain"})
        await index.upsert([record, text])
        app = create_app(settings, index=index, capture=service)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            resp = await client.post("/recipes", json=body)
            assert resp.status_code == 400, resp.text
            garbled = await client.post(
                "/recipes", content=b"{nope", headers={"content-type": "application/json"}
            )
            assert garbled.status_code == 400
            assert field in resp.json()["detail"]
            assert service.recipes.search() == []
            good = {"recipe_type": "chain", "inputs": {"IMAGES": ["F"]}, "json": {"LABEL": "ok"}}
            first = await client.post("/recipes", json=good)
            assert first.status_code == 201, first.text
            again = await client.post("/recipes", json=good)
            assert again.status_code == 200
            assert again.json()["id"] == first.json()["id"]
            rid = first.json()["id"]
            await finished(service, rid)
            shown = (await client.get(f"/recipes/{rid}")).json()
            assert shown["status"] == "completed"
            assert shown["nodes"]["first"]["state"] == "completed"
            assert len(shown["nodes"]["first"]["products"]) == 1
            assert shown["nodes"]["first"]["json_outputs"] == {"COUNT": 1}
            listed = (await client.get("/recipes", params={"status": "completed"})).json()
            assert [r["id"] for r in listed["results"]] == [rid]
            assert (await client.get("/recipes", params={"status": "odd"})).status_code == 400
            types = (await client.get("/recipe-types")).json()
            assert [t["name"] for t in types["results"]] == ["chain"]
            assert (await client.get("/recipe-types/chain")).json()["definition"]["version"] == "7"
            assert (await client.get("/recipe-types/none")).status_code == 404


async def test_a_failed_sub_recipe_fails_its_parent_and_retry_reruns_it(tmp_path: Path) -> None:
    inner = {
        "version": "7",
        "input": INTERFACE,
        "nodes": {"work": collect(recipe_in("LABEL"), recipe_in("IMAGES"))},
    }
    outer = {
        "version": "7",
        "input": INTERFACE,
        "nodes": {
            "sub": {
                "dependencies": [],
                "input": {"IMAGES": recipe_in("IMAGES"), "LABEL": recipe_in("LABEL")},
                "node_type": {"node_type": "recipe", "recipe_type_name": "inner"},
            },
        },
    }
    settings = setup(tmp_path, {"inner": inner, "outer": outer})
    (tmp_path / "collect" / "fail-marker").write_text("")
    async with capture_running(settings) as service:
        images = {"IMAGES": [source(settings, "a.png")]}
        recipe, _ = await service.engine.start("outer", images, {"LABEL": "fail"})
        assert (await finished(service, recipe.id)).status == "failed"
        child_id = service.recipes.nodes(recipe.id)["sub"].sub_recipe or ""
        assert service.recipes.require(child_id).status == "failed"
        job_id = service.recipes.nodes(child_id)["work"].job_id or ""
        from seedpipe.cli import main

        code = await asyncio.to_thread(
            main, ["jobs", "retry", job_id, "-c", str(tmp_path / "seedpipe.toml")]
        )
        assert code != 0  # a recipe node's job is retried through its recipe
        (tmp_path / "collect" / "fail-marker").unlink()
        await service.engine.retry(recipe.id)
        assert (await finished(service, recipe.id)).status == "completed"
        assert service.recipes.require(child_id).status == "completed"
