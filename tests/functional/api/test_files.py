"""Scale-style /files: Scale's parameter names and the new filters, on a real SQLite index."""

from __future__ import annotations

import json

import httpx
import pytest

from indexer.api import files as files_api
from seedpipe.query import params
from seedpipe.records import FileRecord
from tests.functional.api.conftest import ids

ALL = ["alps", "fiji", "notes", "ny", "paris"]


async def test_files_returns_every_record_in_scales_paginated_shape(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get("/files")
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 5 and body["next"] is None and body["previous"] is None
    assert ids(r) == ALL
    paris = next(x for x in body["results"] if x["id"] == "paris")
    assert paris["workspace"]["name"] == "raw" and paris["data_type_tags"] == ["landsat", "ortho"]


async def test_files_results_are_whole_scale_records_nulls_included(
    client: httpx.AsyncClient,
) -> None:
    # /files serves the stored JSON as it is: it must be what /files/{id} (to_scale) gives
    r = await client.get("/files", params={"page_size": 2, "page": 2, "order": "file_name"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["count"] == 5 and body["next"] and body["previous"]
    for result in body["results"]:
        assert set(result) == set(FileRecord.model_fields)
        assert result == (await client.get(f"/files/{result['id']}")).json()


async def test_file_by_id_is_the_scale_record_and_unknown_ids_are_404(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get("/files/alps")
    assert r.status_code == 200
    assert r.json()["job_type"] == {"name": "ndvi", "version": "1.0.0"}
    assert (await client.get("/files/nope")).status_code == 404


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        # Scale's meaning: data started at or after, data ended at or before
        (
            {"data_started": "2020-01-01T12:00:00Z", "data_ended": "2020-12-31T00:00:00Z"},
            ["ny"],
        ),
        # the overlap under its own name
        (
            {"datetime": "2020-01-01T12:00:00Z/2020-12-31T00:00:00Z", "time_field": "data"},
            ["ny", "paris"],
        ),
        ({"data_started": "2020-01-01T00:00:00Z", "created_ended": "2020-06-01"}, ["paris"]),
        ({"created_started": "P36500D"}, ["alps", "fiji", "notes", "ny", "paris"]),
        ({"created_started": "PT1H"}, []),
        ({"file_name": ["ny_l8.tif", "notes.txt"]}, ["notes", "ny"]),
        ({"file_name": "L8"}, []),
        ({"file_name_starts": "NY_"}, ["ny"]),
        ({"file_name_ends": ".png"}, ["alps"]),
        ({"data_started": "2021-01-01T00:00:00Z"}, ["alps"]),
        ({"data_ended": "2019-12-31"}, ["fiji"]),
        ({"created_started": "2021-06-01T00:00:00Z"}, ["alps", "notes"]),
        (
            {"datetime": "2020-01-01T00:00:00Z/2020-01-05T00:00:00Z", "relation": "within"},
            ["paris"],
        ),
        (
            {"datetime": "2019-03-10T00:00:00Z/2019-03-11T00:00:00Z", "relation": "contains"},
            ["fiji"],
        ),
        ({"datetime": "2022-01-01T00:00:00Z", "time_field": "created"}, ["notes"]),
        ({"source_sensor": "L8"}, ["fiji", "ny", "paris"]),
        ({"source_sensor_class": "optical"}, ["paris"]),
        ({"job_type_name": "ndvi", "job_output": "ndvi_out"}, ["alps"]),
        ({"file_name_contains": "L8"}, ["fiji", "ny", "paris"]),
        ({"countries": "fra,usa"}, ["ny", "paris"]),
        ({"media_type": "image/png"}, ["alps"]),
        ({"file_type": "product"}, ["alps"]),
        ({"data_type": ["ndvi", "ortho"]}, ["alps", "paris"]),
        ({"data_type_all": "landsat,ortho"}, ["paris"]),
        ({"data_type_none": "landsat", "media_type": "image/tiff"}, []),
        ({"workspace": "products"}, ["alps"]),
        ({"bbox": "0,40,12,50"}, ["alps", "paris"]),
        ({"bbox": "179,-20,-179,-15"}, ["fiji"]),
        ({"bbox": "-175,-20,-170,-15"}, []),
        ({"intersects": json.dumps({"type": "Point", "coordinates": [-179.5, -17]})}, ["fiji"]),
        ({"meta": json.dumps({"property": "cloud", "op": "<", "value": 20})}, ["alps"]),
        ({"meta": json.dumps({"property": "platform.name", "op": "==", "value": "S2A"})}, ["alps"]),
        ({"id": "ny,paris", "source_sensor": "L8"}, ["ny", "paris"]),
        ({"job_id": "job-7"}, ["alps"]),
        ({"recipe_id": "recipe-1", "batch_id": "batch-1"}, ["alps"]),
        ({"batch_id": "batch-2"}, []),
        ({"derived_from": "paris"}, ["alps"]),
        ({"derived_from": "ny"}, []),
    ],
)
async def test_files_filters_by_scale_and_new_parameters(
    client: httpx.AsyncClient, params: dict[str, str], expected: list[str]
) -> None:
    r = await client.get("/files", params=params)
    assert r.status_code == 200, r.text
    assert ids(r) == expected
    assert r.json()["count"] == len(expected)


async def test_files_orders_with_scales_minus_convention(client: httpx.AsyncClient) -> None:
    newest = (await client.get("/files", params={"order": "-created"})).json()["results"]
    assert [x["id"] for x in newest] == ["notes", "alps", "ny", "paris", "fiji"]
    by_name = (await client.get("/files", params={"order": "file_name"})).json()["results"]
    assert [x["file_name"] for x in by_name] == sorted(x["file_name"] for x in by_name)


async def test_files_pages_follow_next_and_previous_links_without_repeats(
    client: httpx.AsyncClient,
) -> None:
    seen: list[str] = []
    url: str | None = "/files?page_size=2&order=file_name"
    pages = 0
    while url:
        body = (await client.get(url)).json()
        assert body["count"] == 5
        seen += [x["id"] for x in body["results"]]
        pages += 1
        if pages > 1:
            assert "page=" in body["previous"]
        url = body["next"]
    assert pages == 3 and sorted(seen) == ALL and len(seen) == 5
    past_the_end = (await client.get("/files", params={"page": 9, "page_size": 2})).json()
    assert past_the_end["results"] == [] and past_the_end["next"] is None


async def test_next_links_carry_a_cursor_so_pages_are_not_walked_nor_depth_limited(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With the depth limit at 2 records, page 3 of size 1 can only be reached by its cursor.
    monkeypatch.setattr(params, "MAX_OFFSET", 1)
    monkeypatch.setattr(files_api, "MAX_OFFSET", 1)
    url: str | None = "/files?page_size=1&order=file_name"
    seen, previous = [], []
    while url:
        r = await client.get(url)
        assert r.status_code == 200, r.text
        body = r.json()
        seen += [x["id"] for x in body["results"]]
        previous.append(body["previous"])
        url = body["next"]
        if url:
            assert "cursor=" in url and f"page={len(seen) + 1}" in url
    assert sorted(seen) == ALL and len(seen) == 5
    assert previous[0] is None and "cursor" not in previous[1] and previous[2] is not None
    assert previous[3] is None  # page 3 would have to be walked past the depth limit
    deep = await client.get("/files", params={"page": 4, "page_size": 1})
    assert deep.status_code == 404 and deep.json()["field"] == "page"
    assert "next links" in deep.json()["detail"]
    bad = await client.get("/files", params={"cursor": "bm90IGEgdG9rZW4"})
    assert bad.status_code == 400 and bad.json()["field"] == "cursor"
    # a cursor only fits the query that made it
    first = (await client.get("/files", params={"page_size": 1, "order": "file_name"})).json()
    cursor = httpx.URL(first["next"]).params["cursor"]
    other = await client.get("/files", params={"cursor": cursor, "file_type": "PRODUCT"})
    assert other.status_code == 400 and other.json()["field"] == "cursor"


async def test_a_two_thousand_value_filter_in_a_url_is_answered(
    client: httpx.AsyncClient,
) -> None:
    # A URL holds about 2,000 values; 10,000-element lists are tested through POST /search.
    many = [f"t{i}" for i in range(1_999)] + ["ndvi"]
    ok = await client.get("/files", params={"data_type": many})
    assert ok.status_code == 200 and ids(ok) == ["alps"]


async def test_scale_v6_paths_serve_the_same_pages(client: httpx.AsyncClient) -> None:
    params: dict[str, str | int] = {"page_size": 2, "order": "file_name"}
    plain = (await client.get("/files", params=params)).json()
    v6 = await client.get("/v6/files/", params=params)
    assert v6.status_code == 200
    body = v6.json()
    assert body["results"] == plain["results"] and body["count"] == plain["count"]
    assert body["next"].startswith("http://testserver/v6/files/?")
    one = await client.get("/v6/files/paris/")
    assert one.status_code == 200 and one.json()["id"] == "paris"


async def test_a_page_size_above_1000_is_clamped(client: httpx.AsyncClient) -> None:
    r = await client.get("/files", params={"page_size": 5000})
    assert r.status_code == 200 and r.json()["count"] == 5


async def test_a_page_past_the_walked_depth_is_a_404_naming_page(client: httpx.AsyncClient) -> None:
    r = await client.get("/files", params={"page": 1000, "page_size": 1000})
    assert r.status_code == 404 and r.json()["field"] == "page"
