"""HTTP as clients expect: media types, links, clamped limits, CORS, gzip, HEAD, OPTIONS, ETag."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from composition.http import create_app
from indexer.backends import open_index
from seedpipe.settings import Settings
from tests.functional.api.conftest import api_settings

GEOJSON = "application/geo+json"


async def test_item_pages_and_items_are_geojson(client: httpx.AsyncClient) -> None:
    for path in ("/search", "/collections/raw/items", "/collections/raw/items/paris"):
        r = await client.get(path, headers={"Accept": GEOJSON})
        assert r.status_code == 200, (path, r.text)
        assert r.headers["content-type"] == GEOJSON, path
    posted = await client.post("/search", json={})
    assert posted.headers["content-type"] == GEOJSON
    assert (await client.get("/collections")).headers["content-type"] == "application/json"


async def test_item_pages_link_self_root_and_next(client: httpx.AsyncClient) -> None:
    body = (await client.get("/collections/raw/items", params={"limit": 1})).json()
    rels = {link["rel"]: link["href"] for link in body["links"]}
    assert rels["self"] == "http://testserver/collections/raw/items?limit=1"
    assert rels["root"] == "http://testserver/"
    assert rels["collection"] == "http://testserver/collections/raw"
    assert "token=" in rels["next"]
    posted = (await client.post("/search", json={"limit": 1})).json()
    assert {"self", "root", "next"} <= {link["rel"] for link in posted["links"]}


async def test_a_limit_above_the_maximum_is_clamped_not_refused(client: httpx.AsyncClient) -> None:
    r = await client.get("/search", params={"limit": 1_000_000})
    assert r.status_code == 200 and r.json()["numberReturned"] == 5
    r = await client.post("/search", json={"limit": 10_001})
    assert r.status_code == 200
    r = await client.get("/collections/raw/items", params={"limit": 0})
    assert r.status_code == 400 and r.json()["field"] == "limit"


async def test_head_answers_like_get_without_a_body(client: httpx.AsyncClient) -> None:
    get = await client.get("/collections/raw/items/paris")
    head = await client.head("/collections/raw/items/paris")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == GEOJSON
    assert head.headers["etag"] == get.headers["etag"]
    assert (await client.head("/nowhere")).status_code == 404


async def test_options_lists_the_methods_of_the_path(client: httpx.AsyncClient) -> None:
    r = await client.options("/search")
    assert r.status_code == 204
    assert set(r.headers["allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "POST"}
    assert (await client.options("/collections/raw")).headers["allow"] == "GET, HEAD, OPTIONS"
    assert (await client.options("/nowhere")).status_code == 404


async def test_items_carry_an_etag_and_answer_304_to_it(client: httpx.AsyncClient) -> None:
    first = await client.get("/collections/raw/items/paris")
    tag = first.headers["etag"]
    again = await client.get("/collections/raw/items/paris", headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    other = await client.get("/collections/raw/items/ny", headers={"If-None-Match": tag})
    assert other.status_code == 200
    record = await client.get("/files/paris")
    assert record.headers["etag"]


async def test_large_pages_are_gzipped_when_asked(client: httpx.AsyncClient) -> None:
    r = await client.get("/search", params={"limit": 100}, headers={"Accept-Encoding": "gzip"})
    assert r.headers["content-encoding"] == "gzip"
    assert r.json()["numberReturned"] == 5  # httpx decodes it
    raw = await client.get(
        "/search", params={"limit": 100}, headers={"Accept-Encoding": "identity"}
    )
    assert "content-encoding" not in raw.headers
    assert len(gzip.compress(raw.content)) < len(raw.content)


@pytest.fixture
async def cors_client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    base = api_settings(tmp_path)
    settings = Settings.load(
        None, **{**base.model_dump(), "api": {"cors_origins": ["https://browser.example"]}}
    )
    async with open_index(settings.index) as index:
        app = create_app(settings, index=index)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


async def test_cors_allows_the_configured_origins_only(cors_client: httpx.AsyncClient) -> None:
    ok = {"Origin": "https://browser.example"}
    r = await cors_client.get("/search", headers=ok)
    assert r.headers["access-control-allow-origin"] == "https://browser.example"
    assert "ETag" in r.headers["access-control-expose-headers"]
    pre = await cors_client.options(
        "/search",
        headers={
            **ok,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert pre.status_code == 200 and "POST" in pre.headers["access-control-allow-methods"]
    other = await cors_client.get("/search", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


async def test_without_cors_origins_no_cors_headers_are_sent(client: httpx.AsyncClient) -> None:
    r = await client.get("/search", headers={"Origin": "https://browser.example"})
    assert "access-control-allow-origin" not in r.headers
