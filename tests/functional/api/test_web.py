"""The page's routes: negotiation at /, /ui, hashed assets, the offline basemap, /metrics."""

from __future__ import annotations

import json
import re

import httpx

from composition.web import assets
from composition.web.routes import prefers_html

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"


async def test_a_browser_asking_for_slash_gets_the_page_and_json_clients_the_stac_landing(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/", headers={"Accept": BROWSER})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-cache"
    assert "<title>seedpipe catalogue</title>" in page.text
    for accept in ("*/*", "application/json", "application/json, text/html;q=0.5", ""):
        landing = await client.get("/", headers={"Accept": accept} if accept else {})
        assert landing.status_code == 200, accept
        assert landing.json()["type"] == "Catalog", accept
        assert "accept" in landing.headers["vary"].lower()


async def test_ui_names_hashed_assets_served_for_a_year_and_nothing_else(
    client: httpx.AsyncClient,
) -> None:
    page = (await client.get("/ui")).text
    names = re.findall(r'/ui/assets/([^"]+)', page)
    assert len(names) == 2 and any(n.endswith(".js") for n in names)
    for name in names:
        found = await client.get(f"/ui/assets/{name}")
        assert found.status_code == 200
        assert found.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert re.search(r"-[A-Z0-9]{8}\.(js|css)$", name), name
    for bad in ("manifest.json", "..%2Fassets.py", "%2E%2E", "nothing.js", "a" * 300):
        assert (await client.get(f"/ui/assets/{bad}")).status_code == 404, bad


async def test_the_page_config_carries_settings_as_json_no_markup_can_escape(
    client: httpx.AsyncClient,
) -> None:
    page = (await client.get("/ui")).text
    raw = re.search(r'<script id="seedpipe-config" type="application/json">(.*?)</script>', page)
    assert raw is not None
    config = json.loads(raw.group(1))
    assert config["collections"] == ["products", "raw"]
    assert config["basemap_url"] == "/ui/basemap.geojson"
    assert config["tile_url"] is None
    # the routes it links to are found inside the routers the app includes
    assert config["download"] == "/files/{id}/content"
    assert config["recipes"] is True
    built = assets.built()
    assert built is not None
    html = assets.page({"x": "</script><script>alert(1)</script>"}, built)
    assert "</script><script>alert" not in html


async def test_the_basemap_is_natural_earth_countries_cached_and_compressed(
    client: httpx.AsyncClient,
) -> None:
    found = await client.get("/ui/basemap.geojson", headers={"Accept-Encoding": "gzip"})
    assert found.status_code == 200
    assert found.headers["content-encoding"] == "gzip"
    assert "max-age" in found.headers["cache-control"]
    body = json.loads(found.content)  # httpx undid the gzip
    codes = {f["properties"]["iso_a3"] for f in body["features"]}
    assert {"FRA", "ITA", "USA", "FJI"} <= codes and len(codes) > 200
    assert len(found.content) < 2_000_000
    again = await client.get(
        "/ui/basemap.geojson", headers={"If-None-Match": found.headers["etag"]}
    )
    assert again.status_code == 304


async def test_metrics_speak_prometheus_text_and_count_searches_by_route(
    client: httpx.AsyncClient,
) -> None:
    await client.get("/files", params={"bbox": "0,40,20,50"})
    await client.get("/search", params={"limit": "1"})
    await client.get("/files", params={"bbox": "nonsense"})  # a 400 is not a search
    text = (await client.get("/metrics")).text
    assert "# TYPE seedpipe_search_seconds histogram" in text
    files = re.search(r'seedpipe_search_seconds_count\{route="/files"\} (\d+)', text)
    search = re.search(r'seedpipe_search_seconds_count\{route="/search"\} (\d+)', text)
    assert files and int(float(files.group(1))) >= 1
    assert search and int(float(search.group(1))) >= 1
    for name in (
        "seedpipe_files_ingested_total",
        "seedpipe_events_published_total",
        "seedpipe_events_consumed_total",
        "seedpipe_events_dead_lettered_total",
        "seedpipe_consumer_lag",
        "seedpipe_jobs_finished_total",
        "seedpipe_job_duration_seconds",
        "seedpipe_index_records_total",
        "seedpipe_jobs",
    ):
        assert f"# TYPE {name.removesuffix('_total')}" in text, name


def test_prefers_html_reads_accept_as_browsers_and_api_clients_send_it() -> None:
    assert prefers_html(BROWSER)
    assert prefers_html("text/html")
    assert not prefers_html("*/*")
    assert not prefers_html("application/json")
    assert not prefers_html("application/geo+json, text/html;q=0.1")
    assert not prefers_html("text/html;q=0")
    assert not prefers_html("text/html;q=nonsense")
    assert not prefers_html("")
