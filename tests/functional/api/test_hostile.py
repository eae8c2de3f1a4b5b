"""Hostile parameters: every bad value is a 400 naming it, metacharacters find nothing, no 500s."""

from __future__ import annotations

import json
import math

import httpx
import pytest

from tests.functional.api.conftest import catalogue, ids

BOWTIE = {"type": "Polygon", "coordinates": [[[0, 0], [10, 10], [10, 0], [0, 10], [0, 0]]]}
HUGE = {
    "type": "Polygon",
    "coordinates": [
        [
            [math.cos(i * 2 * math.pi / 120_000), math.sin(i * 2 * math.pi / 120_000)]
            for i in range(120_000)
        ]
        + [[1.0, 0.0]]
    ],
}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"data_started": "yesterday"}, "data_started"),
        ({"data_ended": "2020-13-01T00:00:00Z"}, "data_ended"),
        ({"created_started": "2020-01-01T25:00:00"}, "created_started"),
        ({"data_started": "2021-01-01", "data_ended": "2020-01-01"}, "data_started"),
        ({"datetime": "2020-01-01/2019-01-01"}, "datetime"),
        ({"datetime": "../.."}, "datetime"),
        ({"datetime": "2020/2021/2022"}, "datetime"),
        ({"datetime": "NaN"}, "datetime"),
        ({"relation": "sideways", "datetime": "2020-01-01/.."}, "relation"),
        ({"time_field": "birthday", "datetime": "2020-01-01/.."}, "time_field"),
        ({"bbox": "1,2,3"}, "bbox"),
        ({"bbox": "nan,0,1,1"}, "bbox"),
        ({"bbox": "0,0,inf,1"}, "bbox"),
        ({"bbox": "0,0,1e400,1"}, "bbox"),
        ({"bbox": "0,91,1,92"}, "bbox"),
        ({"bbox": "0,10,1,5"}, "bbox"),
        ({"bbox": "a,b,c,d"}, "bbox"),
        ({"bbox": "0,0,1,1", "intersects": json.dumps(BOWTIE)}, "intersects"),
        ({"intersects": "{not json"}, "intersects"),
        ({"intersects": '{"type": "Point", "coordinates": [NaN, 0]}'}, "intersects"),
        ({"intersects": '{"type": "Point", "coordinates": [200, 0]}'}, "intersects"),
        ({"intersects": '{"type": "Circle", "coordinates": [0, 0]}'}, "intersects"),
        ({"intersects": "[" * 10_000 + "]" * 10_000}, "intersects"),
        ({"page": "0"}, "page"),
        ({"page": "-1"}, "page"),
        ({"page": "1.5"}, "page"),
        ({"page_size": "0"}, "page_size"),
        ({"data_started": "P1Y"}, "data_started"),
        ({"created_ended": "PT"}, "created_ended"),
        ({"data_ended": "P99999999999D"}, "data_ended"),
        ({"page_size": "NaN"}, "page_size"),
        ({"order": "-password"}, "order"),
        ({"order": "created;DROP TABLE files"}, "order"),
        ({"file_type": "EXECUTABLE"}, "file_type"),
        ({"meta": "not json"}, "meta"),
        ({"meta": json.dumps({"property": "a'); --", "op": "==", "value": 1})}, "meta"),
        ({"meta": json.dumps({"property": "cloud", "op": "LIKE", "value": 1})}, "meta"),
        ({"meta": '{"property": "cloud", "op": "<", "value": NaN}'}, "meta"),
        ({"include_superseded": "maybe"}, "include_superseded"),
        ({"limit": "10"}, "limit"),
        ({"file_name": "x" * 2000}, "file_name"),
    ],
)
async def test_bad_files_parameters_are_400s_naming_the_parameter(
    client: httpx.AsyncClient, params: dict[str, str], field: str
) -> None:
    r = await client.get("/files", params=params)
    assert r.status_code == 400, r.text
    assert r.json()["field"] == field


async def test_a_self_intersecting_geometry_is_repaired_rather_than_refused(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get("/files", params={"intersects": json.dumps(BOWTIE)})
    assert r.status_code == 200 and ids(r) == []


HOSTILE = [
    "' OR '1'='1",
    "x'); DROP TABLE files; --",
    '"}}]}',
    "%",
    "_",
    "*",
    "\\",
    '{"match_all": {}}',
    "ï¿½\u202e",
]
STRING_PARAMS = [
    "file_name",
    "file_name_contains",
    "file_name_starts",
    "file_name_ends",
    "source_sensor_class",
    "source_sensor",
    "source_collection",
    "source_task",
    "job_type_name",
    "job_output",
    "countries",
    "media_type",
    "data_type",
    "data_type_all",
    "data_type_none",
    "workspace",
    "id",
    "job_id",
    "recipe_id",
    "recipe_node",
    "batch_id",
    "derived_from",
]


@pytest.mark.parametrize("name", STRING_PARAMS)
async def test_query_metacharacters_in_string_parameters_find_nothing_and_harm_nothing(
    client: httpx.AsyncClient, name: str
) -> None:
    for value in HOSTILE:
        r = await client.get("/files", params={name: value})
        assert r.status_code in (200, 400), (value, r.text)
        if r.status_code == 200:
            expected = 5 if name == "data_type_none" else 0
            if name == "file_name_contains":  # a substring: only literal characters count
                expected = sum(value.casefold() in r.file_name for r in catalogue())
            if name == "file_name_starts":
                expected = sum(r.file_name.startswith(value.casefold()) for r in catalogue())
            if name == "file_name_ends":
                expected = sum(r.file_name.endswith(value.casefold()) for r in catalogue())
            assert r.json()["count"] == expected, value
        r = await client.get("/files", params={name: value, "order": "file_name"})
        assert r.status_code in (200, 400)
    assert (await client.get("/files")).json()["count"] == 5


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"bbox": "0,0,1"}, "bbox"),
        ({"datetime": "2020-02-30T00:00:00Z"}, "datetime"),
        ({"limit": "0"}, "limit"),
        ({"limit": "1e9"}, "limit"),
        ({"token": "forged"}, "token"),
        ({"intersects": '{"type": "Point"}'}, "intersects"),
        ({"sortby": "-password"}, "sortby"),
        ({"filter": "cloud<10"}, "filter"),
        ({"query": "{not json"}, "query"),
        ({"query": '{"seedpipe:nope": {"eq": 1}}'}, "query.seedpipe:nope"),
    ],
)
async def test_bad_stac_search_parameters_are_400s_naming_the_parameter(
    client: httpx.AsyncClient, params: dict[str, str], field: str
) -> None:
    r = await client.get("/search", params=params)
    assert r.status_code == 400, r.text
    assert r.json()["field"] == field


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"bbox": [0, 0, 1]}, "bbox"),
        ({"bbox": "0,0,1,1,1"}, "bbox"),
        ({"bbox": [0, 0, True, 1]}, "bbox"),
        ({"intersects": "POINT(0 0)"}, "intersects"),
        ({"intersects": BOWTIE, "bbox": [0, 0, 1, 1]}, "intersects"),
        ({"intersects": HUGE}, "intersects"),
        ({"datetime": 2020}, "datetime"),
        ({"ids": "a,b"}, "ids"),
        ({"ids": [1, 2]}, "ids"),
        ({"collections": [{"$ne": 1}]}, "collections"),
        ({"limit": -5}, "limit"),
        ({"limit": True}, "limit"),
        ({"token": 12}, "token"),
        ({"ids": [str(i) for i in range(10_001)]}, "ids"),
        ({"query": {"cloud_cover": {"lt": 10}}}, "query.cloud_cover"),
        ({"query": "cloud<10"}, "query"),
        (
            {"query": {"seedpipe:data_types": {"startsWith": "land"}}},
            "query.seedpipe:data_types.startsWith",
        ),
        ({"query": {"seedpipe:data_types": {"in": "landsat"}}}, "query.seedpipe:data_types.in"),
        ({"query": {"seedpipe:job": {"eq": 7}}}, "query.seedpipe:job.eq"),
        ({"query": {"seedpipe:job": {"eq": "a", "in": ["b"]}}}, "query.seedpipe:job"),
        ({"query": {"seedpipe:file_type": {"neq": "OTHER"}}}, "query.seedpipe:file_type.neq"),
        (
            {"query": {"seedpipe:meta_data.cloud": {"between": [1, 2]}}},
            "query.seedpipe:meta_data.cloud.between",
        ),
        ({"query": {"seedpipe:meta_data.a b": {"eq": 1}}}, "query.seedpipe:meta_data.a b.eq"),
        ({"query": {"seedpipe:meta_data.cloud": {"in": 5}}}, "query.seedpipe:meta_data.cloud.in"),
        ({"query": {"title": {"lt": "x"}}}, "query.title.lt"),
        ({"query": {"seedpipe:countries": {}}}, "query.seedpipe:countries"),
        (
            {"query": {"seedpipe:ancestors": {"in": [str(i) for i in range(10_001)]}}},
            "query.seedpipe:ancestors.in",
        ),
    ],
)
async def test_bad_stac_search_bodies_are_400s_naming_the_field(
    client: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    r = await client.post("/search", json=body)
    assert r.status_code == 400, r.text
    assert r.json()["field"] == field


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b"[1, 2]",
        b'{"bbox": [NaN, 0, 1, 1]}',
        b'{"bbox": [0, 0, 1e400, 1]}',
        b'{"intersects": {"type": "Point", "coordinates": [0, 1e400]}}',
        b'{"intersects": {"type": "Point", "coordinates": [Infinity, 0]}}',
        b"\xff\xfe",
        b'"just a string"',
    ],
)
async def test_malformed_search_bodies_are_400s(client: httpx.AsyncClient, raw: bytes) -> None:
    r = await client.post("/search", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 400, r.text


async def test_a_ten_thousand_id_search_is_answered(client: httpx.AsyncClient) -> None:
    wanted = [f"id-{i}" for i in range(9_998)] + ["paris", "alps"]
    r = await client.post("/search", json={"ids": wanted, "limit": 100})
    assert r.status_code == 200 and ids(r) == ["alps", "paris"]


async def test_hostile_path_ids_are_404s_or_400s_never_500s(client: httpx.AsyncClient) -> None:
    for item in ["' OR 1=1 --", "..%2F..%2Fetc%2Fpasswd", "x" * 200, "%00"]:
        for path in (f"/files/{item}", f"/collections/raw/items/{item}", f"/collections/{item}"):
            r = await client.get(path)
            assert r.status_code in (400, 404), (path, r.status_code)


async def test_query_metacharacters_in_stac_ids_and_collections_find_nothing(
    client: httpx.AsyncClient,
) -> None:
    for value in HOSTILE:
        for name in ("ids", "collections"):
            r = await client.post("/search", json={name: [value]})
            assert r.status_code == 200, (name, value, r.text)
            assert r.json()["numberMatched"] == 0
            r = await client.get("/search", params={name: value})
            assert r.status_code in (200, 400), (name, value, r.text)
    assert (await client.get("/search")).json()["numberMatched"] == 5


NASTY = [
    "", " ", "0", "-1", "1e309", "nan", "inf", "-0", "1,2,3,4", "181,0,0,0", "..", "../..", "/",
    "2020-01-01", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z/9999-12-31T23:59:59+14:00",
    "{}", "[]", "null", "true", '{"type":"Point","coordinates":[0,0]}',
    '{"type":"Polygon","coordinates":[[[0,0],[0,0],[0,0],[0,0]]]}',
    '{"type":"GeometryCollection","geometries":[]}',
    '{"property":"a","op":"between","value":[1,"a"]}', "'", '"', "\\", "\x00", "ünï",
    "-created", ",,,", "a" * 1025, "SOURCE", "within", "-datetime",
    "eyJmIjoiIiwiayI6W10sImlkIjoiIn0",
]  # fmt: skip


async def test_random_mixes_of_hostile_values_never_cause_a_server_error(
    client: httpx.AsyncClient,
) -> None:
    import random

    from indexer.stac.params import STAC_GET_PARAMS
    from seedpipe.query.params import SCALE_PARAMS

    rng = random.Random(5)
    for path, names in (("/files", sorted(SCALE_PARAMS)), ("/search", sorted(STAC_GET_PARAMS))):
        for _ in range(150):
            chosen = rng.sample(names, rng.randint(1, 3))
            r = await client.get(path, params={n: rng.choice(NASTY) for n in chosen})
            assert r.status_code in (200, 400), (path, r.request.url, r.text)
    for _ in range(150):
        body = {
            n: rng.choice([rng.choice(NASTY), [rng.choice(NASTY)], 1.5, None, {"a": 1}, [[0]]])
            for n in rng.sample(sorted(STAC_GET_PARAMS), rng.randint(1, 3))
        }
        r = await client.post("/search", json=body)
        assert r.status_code in (200, 400), (body, r.text)
