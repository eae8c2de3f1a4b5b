"""The CLI commands search, subscriptions, reindex, cluster, indexer and api, on a real
config."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from indexer.backends import open_index
from seedpipe import events
from seedpipe.bus import open_bus
from seedpipe.cli import main
from seedpipe.settings import Settings
from tests.conftest import free_port, wait_for_port
from tests.functional.indexer.conftest import event, index_all, publish, record

PARIS = {"type": "Point", "coordinates": [2.35, 48.85]}
NY = {"type": "Point", "coordinates": [-100.0, 40.0]}  # inland: coastlines are coarse


async def _seed(settings: Settings) -> None:
    async with open_bus(settings.bus) as bus, open_index(settings.index) as index:
        await publish(
            bus,
            settings,
            event(record("paris", geometry=PARIS, data_type_tags=["landsat"])),
            event(record("ny", geometry=NY, data_type_tags=["landsat", "night"])),
            event(record("doc", file_name="readme.txt", media_type="text/plain")),
        )
        await index_all(settings, bus, index)


@pytest.fixture
def seeded(config_file: Path, settings: Settings) -> Path:
    asyncio.run(_seed(settings))
    return config_file


def test_search_prints_a_json_array_of_the_matching_file_records(
    seeded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["search", "--config", str(seeded), "--bbox=-10,40,10,60"])
    assert code == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in rows] == ["paris"] and rows[0]["countries"] == ["FRA"]
    main(["search", "-c", str(seeded), "--data-type-all", "landsat", "night"])
    assert [r["id"] for r in json.loads(capsys.readouterr().out)] == ["ny"]
    main(["search", "-c", str(seeded), "--media-type", "text/plain", "--file-type", "SOURCE"])
    assert [r["id"] for r in json.loads(capsys.readouterr().out)] == ["doc"]


@pytest.mark.parametrize(
    ("argv", "ids"),
    [
        (["--bbox", "-10,40,10,60"], ["paris"]),
        (["--bbox", "-180,-90,180,90", "--data-type", "landsat"], ["ny", "paris"]),
        (["--bbox", "-101.5,39,-99.5,41"], ["ny"]),
    ],
)
def test_a_bbox_starting_with_a_minus_is_taken_as_written(
    seeded: Path, capsys: pytest.CaptureFixture[str], argv: list[str], ids: list[str]
) -> None:
    code = main(["search", "--config", str(seeded), *argv])
    assert code == 0, capsys.readouterr().err
    assert sorted(r["id"] for r in json.loads(capsys.readouterr().out)) == ids


async def _seed_product(settings: Settings) -> None:
    product = record(
        "ndvi", file_type="PRODUCT", ancestors=["paris"], job="j-1", recipe="r-1", batch="b-1"
    )
    async with open_bus(settings.bus) as bus, open_index(settings.index) as index:
        await publish(bus, settings, event(product, events.FILE_PRODUCED))
        await index_all(settings, bus, index)


def test_search_follows_lineage_by_job_recipe_batch_and_ancestor(
    seeded: Path, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(_seed_product(settings))
    for option, value in (
        ("--derived-from", "paris"), ("--job", "j-1"), ("--recipe", "r-1"), ("--batch", "b-1"),
    ):  # fmt: skip
        assert main(["search", "-c", str(seeded), option, value]) == 0
        assert [r["id"] for r in json.loads(capsys.readouterr().out)] == ["ndvi"], option
    main(["search", "-c", str(seeded), "--derived-from", "ny"])
    assert json.loads(capsys.readouterr().out) == []


def test_search_writes_geojson_and_tables_and_pages_with_tokens(
    seeded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shape = json.dumps(
        {
            "type": "Polygon",
            "coordinates": [[[-110, 30], [-90, 30], [-90, 50], [-110, 50], [-110, 30]]],
        }
    )
    assert main(["search", "-c", str(seeded), "--intersects", shape, "--format", "geojson"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["type"] == "FeatureCollection"
    assert [f["id"] for f in doc["features"]] == ["ny"]
    assert doc["features"][0]["geometry"]["type"] == "Point"
    assert main(["search", "-c", str(seeded), "--format", "table", "--country", "usa"]) == 0
    assert "ny.tif" in capsys.readouterr().out
    assert main(["search", "-c", str(seeded), "--limit", "2", "--sort", "file_name"]) == 0
    out = capsys.readouterr()
    first = [r["id"] for r in json.loads(out.out)]
    token = out.err.split("--token ")[1].strip()
    main(["search", "-c", str(seeded), "--limit", "2", "--sort", "file_name", "--token", token])
    rest = [r["id"] for r in json.loads(capsys.readouterr().out)]
    assert sorted(first + rest) == ["doc", "ny", "paris"] and len(rest) == 1


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--bbox", "1,2,3"], "--bbox"),
        (["--datetime", "last tuesday"], "--datetime"),
        (["--intersects", "/nonexistent/shape.json"], "--intersects"),
        (["--intersects", '{"type": "Point", "coordinates": [NaN, 1]}'], "--intersects"),
        (["--meta", '{"property": "x", "op": "~", "value": 1}'], "--meta"),
        (["--limit", "0"], "--limit"),
        (["--sort=-secret"], "--sort"),
    ],
)
def test_search_refuses_bad_options_naming_them(
    seeded: Path, capsys: pytest.CaptureFixture[str], args: list[str], option: str
) -> None:
    assert main(["search", "-c", str(seeded), *args]) == 2
    assert option in capsys.readouterr().err


def test_subscriptions_are_added_listed_and_removed(
    seeded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add = ["subscriptions", "add", "-c", str(seeded), "Night in the US", "--sub-id", "us-night"]
    assert main([*add, "--country", "USA", "--data-type", "night"]) == 0
    assert capsys.readouterr().out.strip() == "us-night"
    assert main(["subscriptions", "list", "-c", str(seeded), "--format", "json"]) == 0
    subs = json.loads(capsys.readouterr().out)
    assert [(s["id"], s["name"]) for s in subs] == [("us-night", "Night in the US")]
    assert subs[0]["query"]["countries"] == ["USA"]
    assert main(["subscriptions", "list", "-c", str(seeded)]) == 0
    assert "us-night" in capsys.readouterr().out
    assert main(["subscriptions", "add", "-c", str(seeded), "bad", "--sub-id", "no spaces"]) == 2
    assert "--sub-id" in capsys.readouterr().err
    assert main(["subscriptions", "remove", "-c", str(seeded), "us-night"]) == 0
    assert main(["subscriptions", "remove", "-c", str(seeded), "us-night"]) == 1


def test_reindex_rebuilds_into_a_new_index_and_prints_its_counts(
    seeded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "fresh.db"
    assert main(["reindex", "-c", str(seeded), "--index-url", f"sqlite:///{target}"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["events"] == 3 and stats["written"] == 3 and target.exists()


def test_cluster_orders_the_index_and_prints_its_steps(
    seeded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = main(["search", "-c", str(seeded), "--bbox=-180,-90,180,90"])
    found = capsys.readouterr().out
    assert before == 0 and main(["cluster", "-c", str(seeded)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["records"] == 3 and {"files_s", "docs_s", "commit_s"} <= set(report)
    assert main(["search", "-c", str(seeded), "--bbox=-180,-90,180,90"]) == 0
    assert capsys.readouterr().out == found
    other = tmp_path / "other.db"
    assert main(["reindex", "-c", str(seeded), "--index-url", f"sqlite:///{other}"]) == 0
    capsys.readouterr()
    assert main(["cluster", "-c", str(seeded), "--index-url", f"sqlite:///{other}"]) == 0
    assert json.loads(capsys.readouterr().out)["records"] == 3


def test_cluster_names_the_field_for_an_index_it_cannot_cluster(
    seeded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["cluster", "-c", str(seeded), "--index-url", "opensearch://127.0.0.1:9"])
    assert code != 0
    err = capsys.readouterr().err
    assert "index.url" in err and "opensearch needs no clustering" in err


def _command(*args: str) -> list[str]:
    return [
        sys.executable,
        "-c",
        "import sys; from seedpipe.cli import main; sys.exit(main())",
        *args,
    ]


@pytest.mark.slow
def test_indexer_and_api_commands_serve_until_sigterm(seeded: Path, settings: Settings) -> None:
    async def add_more() -> None:
        async with open_bus(settings.bus) as bus:
            await bus.publish(settings.topic(events.FILES_TOPIC), event(record("late")))

    port = free_port()
    indexer = subprocess.Popen(_command("indexer", "-c", str(seeded)), stderr=subprocess.PIPE)
    api = subprocess.Popen(
        _command("api", "-c", str(seeded), "--port", str(port)), stderr=subprocess.PIPE
    )
    try:
        asyncio.run(add_more())
        assert wait_for_port(port), "seedpipe api did not listen"
        found: list[str] = []
        deadline = time.monotonic() + 60  # a wait for the service, not a timing assertion
        while "late" not in found and time.monotonic() < deadline:
            body = httpx.get(f"http://127.0.0.1:{port}/files", params={"id": "late"}).json()
            found = [r["id"] for r in body["results"]]
            time.sleep(0.1)
        assert found == ["late"]
    finally:
        for proc in (indexer, api):
            proc.send_signal(signal.SIGTERM)
        codes = [proc.wait(timeout=30) for proc in (indexer, api)]
        logs = [proc.stderr.read().decode() if proc.stderr else "" for proc in (indexer, api)]
    # uvicorn re-raises the SIGTERM it handled once it has shut down cleanly
    assert codes[0] == 0 and codes[1] in (0, -signal.SIGTERM), logs
    assert "Finished server process" in logs[1]
    assert "indexer consuming" in logs[0]
