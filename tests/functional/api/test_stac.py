"""The STAC API: landing page, conformance, collections per workspace, items and search."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from composition.http import create_app
from indexer.backends import open_index
from seedpipe.settings import Settings
from tests.functional.api.conftest import api_settings, ids


async def test_landing_page_links_conformance_collections_search_and_docs(
    client: httpx.AsyncClient,
) -> None:
    body = (await client.get("/")).json()
    assert body["type"] == "Catalog" and body["stac_version"] == "1.0.0"
    rels = {(link["rel"], link.get("method")) for link in body["links"]}
    for rel in ("conformance", "data", "service-desc", "service-doc", "child"):
        assert any(r == rel for r, _ in rels), rel
    assert ("search", "GET") in rels and ("search", "POST") in rels
    conformance = (await client.get("/conformance")).json()["conformsTo"]
    assert "https://api.stacspec.org/v1.0.0/item-search" in conformance
    assert (await client.get("/openapi.json")).json()["paths"]["/files"]["get"]["parameters"]


async def test_each_workspace_is_a_collection(client: httpx.AsyncClient) -> None:
    body = (await client.get("/collections")).json()
    assert [c["id"] for c in body["collections"]] == ["products", "raw"]
    one = (await client.get("/collections/raw")).json()
    assert one["type"] == "Collection" and one["extent"]["spatial"]["bbox"]
    assert (await client.get("/collections/nowhere")).status_code == 404


async def test_items_of_a_collection_are_stac_items_with_assets_and_times(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get("/collections/raw/items", params={"limit": 10})
    assert r.status_code == 200 and ids(r) == ["fiji", "notes", "ny", "paris"]
    items = {f["id"]: f for f in r.json()["features"]}
    paris = items["paris"]
    assert paris["collection"] == "raw" and paris["geometry"]["type"] == "Point"
    assert paris["bbox"] == [2.35, 48.85, 2.35, 48.85]
    props = paris["properties"]
    assert props["datetime"] == "2020-01-01T00:00:00Z"  # the start
    assert props["start_datetime"] == "2020-01-01T00:00:00Z"
    assert props["end_datetime"] == "2020-01-02T00:00:00Z"
    asset = paris["assets"]["data"]
    assert asset["href"] == "http://testserver/files/paris/content"  # raw has no base_url
    assert asset["type"] == "image/tiff" and asset["roles"] == ["data"]
    assert items["notes"]["geometry"] is None and "bbox" not in items["notes"]
    assert items["notes"]["properties"]["datetime"] == "2022-01-01T00:00:00Z"
    one = await client.get("/collections/raw/items/paris")
    assert one.json()["id"] == "paris"
    assert (await client.get("/collections/products/items/paris")).status_code == 404


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"bbox": "-180,-90,180,90"}, ["alps", "fiji", "ny", "paris"]),
        ({"bbox": "0,40,12,50", "datetime": "2021-01-01T00:00:00Z/.."}, ["alps"]),
        ({"datetime": "../2019-12-31T00:00:00Z"}, ["fiji"]),
        ({"ids": "ny,paris,missing"}, ["ny", "paris"]),
        ({"collections": "products"}, ["alps"]),
        ({"collections": "nowhere"}, []),
        ({"intersects": json.dumps({"type": "Point", "coordinates": [-74.0, 40.7]})}, ["ny"]),
    ],
)
async def test_search_get_filters(
    client: httpx.AsyncClient, params: dict[str, str], expected: list[str]
) -> None:
    r = await client.get("/search", params=params)
    assert r.status_code == 200, r.text
    assert ids(r) == expected
    assert r.json()["numberMatched"] == len(expected)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"seedpipe:data_types": {"eq": "landsat"}}, ["fiji", "ny", "paris"]),
        ({"seedpipe:data_types": {"in": ["ndvi", "ortho"]}}, ["alps", "paris"]),
        ({"seedpipe:data_types": {"neq": "landsat"}}, ["alps", "notes"]),
        ({"seedpipe:file_type": {"eq": "product"}}, ["alps"]),
        ({"seedpipe:file_type": {"neq": "PRODUCT"}}, ["fiji", "notes", "ny", "paris"]),
        ({"seedpipe:media_type": {"in": ["image/png", "text/plain"]}}, ["alps", "notes"]),
        ({"seedpipe:countries": {"in": ["FRA", "USA"]}}, ["ny", "paris"]),
        ({"seedpipe:job": {"eq": "job-7"}, "seedpipe:batch": {"eq": "batch-1"}}, ["alps"]),
        ({"seedpipe:recipe": {"in": ["recipe-1", "other"]}}, ["alps"]),
        ({"seedpipe:ancestors": {"eq": "paris"}}, ["alps"]),
        ({"seedpipe:source_sensor": {"eq": "L8"}, "title": {"contains": "NY_"}}, ["ny"]),
        ({"seedpipe:meta_data.cloud": {"gte": 12, "lt": 55}}, ["alps"]),
        ({"seedpipe:meta_data.cloud": {"in": [12, 55]}}, ["alps", "fiji"]),
        ({"seedpipe:meta_data.platform.name": {"neq": "L8"}}, ["alps"]),
    ],
)
async def test_search_query_extension_get_and_post(
    client: httpx.AsyncClient, query: dict[str, object], expected: list[str]
) -> None:
    posted = await client.post("/search", json={"query": query})
    assert posted.status_code == 200, posted.text
    assert ids(posted) == expected
    got = await client.get("/search", params={"query": json.dumps(query)})
    assert got.status_code == 200, got.text
    assert ids(got) == expected
    conformance = (await client.get("/conformance")).json()["conformsTo"]
    assert "https://api.stacspec.org/v1.0.0/item-search#query" in conformance


async def test_search_post_filters_and_pages_with_a_post_next_link(
    client: httpx.AsyncClient,
) -> None:
    body: dict[str, object] = {
        "intersects": {
            "type": "Polygon",
            "coordinates": [[[-180, -90], [180, -90], [180, 90], [-180, 90], [-180, -90]]],
        },
        "limit": 1,
        "sortby": [{"field": "properties.datetime", "direction": "asc"}],
    }
    seen: list[str] = []
    while True:
        r = await client.post("/search", json=body)
        assert r.status_code == 200, r.text
        page = r.json()
        seen += [f["id"] for f in page["features"]]
        nxt = [link for link in page["links"] if link["rel"] == "next"]
        if not nxt:
            break
        assert nxt[0]["method"] == "POST"
        body = nxt[0]["body"]
    assert seen == ["fiji", "paris", "ny", "alps"]


async def test_search_get_next_links_walk_every_match_once(client: httpx.AsyncClient) -> None:
    url: str | None = "/search?limit=2"
    seen: list[str] = []
    while url:
        page = (await client.get(url)).json()
        seen += [f["id"] for f in page["features"]]
        nxt = [link["href"] for link in page["links"] if link["rel"] == "next"]
        url = nxt[0] if nxt else None
    assert sorted(seen) == ["alps", "fiji", "notes", "ny", "paris"]


async def test_prev_links_walk_back_through_the_same_pages(client: httpx.AsyncClient) -> None:
    def rel(page: dict[str, Any], name: str) -> dict[str, Any] | None:
        return next((link for link in page["links"] if link["rel"] == name), None)

    for collection in ("/search", "/collections/raw/items"):
        page = (await client.get(f"{collection}?limit=1&sortby=-datetime")).json()
        assert rel(page, "prev") is None
        forward = [[f["id"] for f in page["features"]]]
        while (nxt := rel(page, "next")) is not None:
            page = (await client.get(nxt["href"])).json()
            forward.append([f["id"] for f in page["features"]])
            assert rel(page, "prev") is not None
        backward = [forward[-1]]
        while (prev := rel(page, "prev")) is not None:
            assert prev["type"] == "application/geo+json" and prev["method"] == "GET"
            r = await client.get(prev["href"])
            assert r.status_code == 200, r.text
            page = r.json()
            backward.append([f["id"] for f in page["features"]])
        assert backward[::-1] == forward and len(forward) >= 4
    # POST: the prev link carries its body, like next
    body: dict[str, Any] = {"limit": 2, "sortby": [{"field": "id", "direction": "asc"}]}
    first = (await client.post("/search", json=body)).json()
    second = (await client.post("/search", json=rel(first, "next")["body"])).json()  # type: ignore[index]
    prev = rel(second, "prev")
    assert prev is not None and prev["method"] == "POST" and prev["merge"] is False
    again = (await client.post("/search", json=prev["body"])).json()
    assert [f["id"] for f in again["features"]] == [f["id"] for f in first["features"]]


async def test_links_use_the_public_url_behind_a_proxy(settings: Settings) -> None:
    public = settings.model_copy(
        update={"api": settings.api.model_copy(update={"public_url": "https://maps.example/api"})}
    )
    async with open_index(settings.index) as index:
        transport = httpx.ASGITransport(app=create_app(public, index=index))
        async with httpx.AsyncClient(transport=transport, base_url="http://internal") as c:
            page = (await c.get("/search", params={"limit": 1})).json()
            nxt = next(link["href"] for link in page["links"] if link["rel"] == "next")
            assert nxt.startswith("https://maps.example/api/search?") and "token=" in nxt
            files = (await c.get("/files", params={"page_size": 1})).json()
            assert files["next"].startswith("https://maps.example/api/files?")
            landing = (await c.get("/")).json()
            assert all(x["href"].startswith("https://maps.example/api") for x in landing["links"])


async def test_pages_and_items_are_utf8_json_of_the_items_the_records_make(
    tmp_path: Path,
) -> None:
    from indexer.stac.items import to_item
    from seedpipe.records import FileRecord

    ring = [[6.9, 50.9], [7.0, 50.9], [7.0, 51.0], [6.9, 50.9]]
    record = FileRecord(
        id="köln",
        file_name='Köln 日本語 "q".tif',
        workspace={"name": "raw"},
        file_path="in/köln.tif",
        geometry={"type": "Polygon", "coordinates": [ring]},
        data_started="2021-05-01T00:00:00Z",
        meta_data={"huge": 2**70, "tiny": 1e-7, "nested": {"ü": [1, "\u2028"]}},
    )
    settings = api_settings(tmp_path)  # its own index: the module's catalogue keeps its counts
    async with open_index(settings.index) as index:
        await index.upsert([record])
        transport = httpx.ASGITransport(app=create_app(settings, index=index))
        async with httpx.AsyncClient(transport=transport, base_url="http://h") as c:
            one = await c.get("/collections/raw/items/köln")
            page = await c.get("/search", params={"ids": "köln"})
    want = to_item(FileRecord.model_validate_json(record.model_dump_json()), "http://h")
    assert one.status_code == 200 and one.headers["content-type"] == "application/geo+json"
    assert "Köln 日本語".encode() in one.content  # UTF-8, not \u escapes
    assert json.loads(one.content) == json.loads(json.dumps(want))
    assert json.loads(page.content)["features"] == [json.loads(json.dumps(want))]


async def test_healthz_is_ready_while_the_index_answers_and_503_when_it_fails(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = await client.get("/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    from seedpipe.errors import CatalogError

    async def down(query: object) -> int:  # an index outage, not a stand-in for the index
        raise CatalogError("sqlite index: disk I/O error")

    index = client._transport.app.state.index  # type: ignore[attr-defined]
    monkeypatch.setattr(index, "count", down)
    r = await client.get("/healthz")
    assert r.status_code == 503 and "unavailable" in r.json()["detail"]


async def test_collections_show_the_extent_kinds_and_count_of_their_records(
    client: httpx.AsyncClient,
) -> None:
    raw = (await client.get("/collections/raw")).json()
    assert raw["license"] == "proprietary"
    assert raw["seedpipe:item_count"] == 4
    # the R*Tree's boxes are float32, rounded outwards: the extent holds every record
    (bbox,) = raw["extent"]["spatial"]["bbox"]
    assert bbox == pytest.approx([-180.0, -18.0, 180.0, 48.85], abs=1e-4)
    # data time where there is one, else created (notes: 2022-01-01)
    assert raw["extent"]["temporal"]["interval"] == [
        ["2019-03-01T00:00:00Z", "2022-01-01T00:00:00Z"]
    ]
    assert raw["summaries"] == {
        "seedpipe:media_type": ["image/tiff", "text/plain"],
        "seedpipe:file_type": ["SOURCE"],
        "seedpipe:data_types": ["landsat", "ortho"],
    }
    products = (await client.get("/collections")).json()["collections"][0]
    assert products["id"] == "products" and products["seedpipe:item_count"] == 1
    assert products["extent"]["spatial"]["bbox"][0] == pytest.approx([6, 46, 10, 47.5], abs=1e-4)
