"""STAC item search as the specs say: RFC 3339 datetimes, the Query extension, RFC 7946 bboxes."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.functional.api.conftest import ids


@pytest.mark.parametrize(
    "value",
    [
        "1985-04-12T23:20:50.52Z",
        "1985-04-12t23:20:50.000z",
        "1996-12-19T16:39:57-08:00",
        "1990-12-31T23:59:59+00:00",
        "2019-01-01T00:00:00Z/..",
        "../2019-01-01T00:00:00Z",
        "/2019-01-01T00:00:00Z",
    ],
)
async def test_rfc3339_datetimes_and_intervals_are_accepted(
    client: httpx.AsyncClient, value: str
) -> None:
    r = await client.get("/search", params={"datetime": value})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    "value",
    [
        "1985-04-12",
        "1985-12-12T23:20:50.52",
        "1937-01-01T12:00:27.87+0100",
        "1985-04-12T23:20:50.Z",
        "1985-04-12T23:20:50,Z",
        "1985-04-12T23:20:50,52Z",
        "1985-04-12 23:20:50Z",
        "20200101T000000Z",
    ],
)
async def test_what_rfc3339_does_not_allow_is_a_400_naming_datetime(
    client: httpx.AsyncClient, value: str
) -> None:
    for r in (
        await client.get("/search", params={"datetime": value}),
        await client.post("/search", json={"datetime": value}),
    ):
        assert r.status_code == 400, (value, r.text)
        assert r.json()["field"] == "datetime"


async def test_an_item_without_data_time_is_found_by_the_datetime_it_shows(
    client: httpx.AsyncClient,
) -> None:
    notes = (await client.get("/collections/raw/items/notes")).json()
    shown = notes["properties"]["datetime"]
    assert shown == "2022-01-01T00:00:00Z"
    assert ids(await client.get("/search", params={"datetime": shown})) == ["notes"]
    found = await client.post("/search", json={"query": {"datetime": {"gte": shown}}})
    assert ids(found) == ["notes"]


async def test_a_footprint_across_the_antimeridian_has_an_rfc7946_bbox(
    client: httpx.AsyncClient,
) -> None:
    fiji = (await client.get("/collections/raw/items/fiji")).json()
    assert fiji["bbox"] == [178.0, -18.0, -178.0, -16.0]
    paris = (await client.get("/collections/raw/items/paris")).json()
    assert paris["bbox"] == [2.35, 48.85, 2.35, 48.85]


async def test_a_post_bbox_must_be_an_array(client: httpx.AsyncClient) -> None:
    r = await client.post("/search", json={"bbox": "100.0, 0.0, 105.0, 1.0"})
    assert r.status_code == 400 and r.json()["field"] == "bbox"


async def test_post_collections_may_be_one_string(client: httpx.AsyncClient) -> None:
    r = await client.post("/search", json={"collections": "products"})
    assert ids(r) == ["alps"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"title": {"startsWith": "PARIS"}}, ["paris"]),
        ({"title": {"endsWith": "_l8.tif"}}, ["fiji", "ny", "paris"]),
        ({"title": {"contains": "ndvi"}}, ["alps"]),
        ({"title": {"eq": "notes.txt"}}, ["notes"]),
        ({"seedpipe:media_type": {"neq": "image/tiff"}}, ["alps", "notes"]),
        ({"seedpipe:job": {"neq": "job-7"}}, ["fiji", "notes", "ny", "paris"]),
        ({"id": {"in": ["ny", "fiji"]}}, ["fiji", "ny"]),
        ({"id": {"neq": "ny"}}, ["alps", "fiji", "notes", "paris"]),
        ({"collection": {"eq": "products"}}, ["alps"]),
        ({"collection": {"neq": "raw"}}, ["alps"]),
        ({"datetime": {"lt": "2019-04-01T00:00:00Z"}}, ["fiji"]),
        ({"datetime": {"gt": "2021-06-01T12:00:00Z"}}, ["notes"]),
        ({"datetime": {"gte": "2021-06-01T12:00:00Z", "lte": "2021-06-01T12:00:00Z"}}, ["alps"]),
        ({"eo:cloud_cover": {"lt": "20"}}, ["alps"]),
        ({"eo:cloud_cover": {"gte": "12"}}, ["alps", "fiji"]),
        ({"eo:cloud_cover": {"eq": "55.5"}}, ["fiji"]),
        ({"eo:cloud_cover": {"neq": 12}}, ["fiji"]),
        ({"eo:cloud_cover": {"in": ["12", "99"]}}, ["alps"]),
        ({"seedpipe:meta_data.cloud": {"lte": "12"}}, ["alps"]),
    ],
)
async def test_query_extension_operators(
    client: httpx.AsyncClient, query: dict[str, object], expected: list[str]
) -> None:
    got = await client.get("/search", params={"query": json.dumps(query), "limit": 50})
    assert got.status_code == 200, got.text
    assert ids(got) == expected
    posted = await client.post("/search", json={"query": query, "limit": 50})
    assert ids(posted) == expected


async def test_namespaced_meta_data_keys_are_item_properties(client: httpx.AsyncClient) -> None:
    alps = (await client.get("/collections/products/items/alps")).json()
    assert alps["properties"]["eo:cloud_cover"] == 12
    assert "cloud" not in alps["properties"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"seedpipe:countries": {"neq": "FRA"}}, "query.seedpipe:countries.neq"),
        ({"eo:cloud_cover": {"startsWith": "1"}}, "query.eo:cloud_cover.startsWith"),
        ({"datetime": {"lt": "2019-04-01"}}, "query.datetime.lt"),
        ({"datetime": {"neq": "2019-04-01T00:00:00Z"}}, "query.datetime.neq"),
        (
            {"datetime": {"gt": "2020-01-01T00:00:00Z", "lt": "2019-01-01T00:00:00Z"}},
            "query.datetime",
        ),
    ],
)
async def test_query_operators_it_cannot_answer_are_400s_naming_them(
    client: httpx.AsyncClient, query: dict[str, object], field: str
) -> None:
    r = await client.post("/search", json={"query": query})
    assert r.status_code == 400, r.text
    assert r.json()["field"] == field
