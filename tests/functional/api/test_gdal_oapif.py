"""GDAL's OGC API Features driver (ogr2ogr, Debian's gdal-bin) reads every collection."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import httpx

from tests.conftest import unavailable


def ogr2ogr(url: str, layer: str, page_size: int) -> tuple[dict[str, object], list[str]]:
    """The layer as GeoJSON, and the item pages GDAL fetched (from its debug log)."""
    binary = shutil.which("ogr2ogr")
    if binary is None:
        unavailable("ogr2ogr is missing (.ci/run installs Debian's gdal-bin)")
    assert binary is not None
    done = subprocess.run(
        [
            binary,
            "-f",
            "GeoJSON",
            "/vsistdout/",
            f"OAPIF:{url}",
            layer,
            "-oo",
            f"PAGE_SIZE={page_size}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "CPL_DEBUG": "ON", "GDAL_HTTP_TIMEOUT": "30"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    fetched = [
        line.split("Fetch(", 1)[1].rstrip(")")
        for line in done.stderr.splitlines()
        if "HTTP: Fetch(" in line and "/items" in line
    ]
    return json.loads(done.stdout), fetched


def test_gdal_reads_every_collection_in_pages_of_the_api_maximum(live_api: str) -> None:
    doc = httpx.get(f"{live_api}/openapi.json").json()
    params = doc["paths"]["/collections/{collection_id}/items"]["get"]["parameters"]
    (limit,) = [p["schema"] for p in params if p["name"] == "limit"]
    assert limit["default"] == 10 and limit["maximum"] == 10_000
    collections = httpx.get(f"{live_api}/collections").json()["collections"]
    for collection in collections:
        name = collection["id"]
        layer, fetched = ogr2ogr(live_api, name, limit["maximum"])
        ids = sorted(f["properties"]["id"] for f in layer["features"])  # type: ignore[attr-defined]
        expected = httpx.get(f"{live_api}/collections/{name}/items", params={"limit": 10_000})
        assert ids == sorted(f["id"] for f in expected.json()["features"])
        assert len(ids) == collection["seedpipe:item_count"]
        assert fetched and all("limit=10000" in url for url in fetched), fetched


def test_gdal_follows_next_links_across_small_pages(live_api: str) -> None:
    layer, fetched = ogr2ogr(live_api, "raw", 1)
    ids = sorted(f["properties"]["id"] for f in layer["features"])  # type: ignore[attr-defined]
    assert ids == ["fiji", "notes", "ny", "paris"]
    assert sum("token=" in url for url in fetched) >= 3  # pages 2..4 through next links
