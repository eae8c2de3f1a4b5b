"""The Filter extension: CQL2 text (GET) and JSON (POST) compiled onto the query model, and the
queryables that say what a filter may name."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.functional.api.conftest import ids

CASES = [
    ("eo:cloud_cover < 20", ["alps"]),
    ("eo:cloud_cover >= 5 AND eo:cloud_cover < 100", ["alps", "fiji"]),
    ("eo:cloud_cover > 50 OR eo:cloud_cover < 20", ["alps", "fiji"]),
    ("eo:cloud_cover IS NULL", ["notes", "ny", "paris"]),
    ("eo:cloud_cover > 50 OR eo:cloud_cover IS NULL", ["fiji", "notes", "ny", "paris"]),
    ("eo:cloud_cover BETWEEN 10 AND 20", ["alps"]),
    ("NOT eo:cloud_cover BETWEEN 10 AND 20", ["fiji"]),
    ("collection = 'products'", ["alps"]),
    ("collection > 'products'", ["fiji", "notes", "ny", "paris"]),
    ("collection < 'products'", []),
    ("id = 'ny' OR collection = 'products'", ["alps", "ny"]),
    ("NOT id = 'ny'", ["alps", "fiji", "notes", "paris"]),
    ("id IN ('ny', 'fiji')", ["fiji", "ny"]),
    ("NOT id IN ('ny', 'fiji')", ["alps", "notes", "paris"]),
    ("title LIKE 'paris%'", ["paris"]),
    ("title LIKE '%.png'", ["alps"]),
    ("\"seedpipe:file_type\" = 'PRODUCT'", ["alps"]),
    ("A_OVERLAPS(\"seedpipe:data_types\", ('ndvi', 'ortho'))", ["alps", "paris"]),
    ("A_CONTAINS(\"seedpipe:data_types\", ('landsat', 'ortho'))", ["paris"]),
    ("datetime >= TIMESTAMP('2021-01-01T00:00:00Z')", ["alps", "notes"]),
    ("datetime < TIMESTAMP('2019-12-31T00:00:00Z')", ["fiji"]),
    (
        "T_INTERSECTS(datetime, INTERVAL('2020-01-01T12:00:00Z', '2020-07-04T00:00:00Z'))",
        ["ny", "paris"],
    ),
    ("S_INTERSECTS(geometry, BBOX(0, 40, 12, 50))", ["alps", "paris"]),
    (
        "S_INTERSECTS(geometry, POLYGON((1 48, 3 48, 3 49, 1 49, 1 48))) OR "
        "S_INTERSECTS(geometry, POINT(-74 40.7))",
        ["ny", "paris"],
    ),
    (
        "collection = 'raw' AND (\"seedpipe:source_sensor\" = 'L8' OR eo:cloud_cover > 50) "
        "AND datetime >= TIMESTAMP('2019-01-01T00:00:00Z')",
        ["fiji", "ny", "paris"],
    ),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
async def test_cql2_text_and_json_find_what_they_say(
    client: httpx.AsyncClient, text: str, expected: list[str]
) -> None:
    import cql2

    got = await client.get("/search", params={"filter": text, "limit": 50})
    assert got.status_code == 200, got.text
    assert ids(got) == expected
    as_json = cql2.Expr(text).to_json()
    posted = await client.post(
        "/search", json={"filter": as_json, "filter-lang": "cql2-json", "limit": 50}
    )
    assert posted.status_code == 200, posted.text
    assert ids(posted) == expected
    as_get_json = await client.get(
        "/search", params={"filter": json.dumps(as_json), "filter-lang": "cql2-json"}
    )
    assert ids(as_get_json) == expected


async def test_a_filter_combines_with_the_other_parameters(client: httpx.AsyncClient) -> None:
    r = await client.get(
        "/collections/raw/items",
        params={"filter": "\"seedpipe:source_sensor\" = 'L8'", "bbox": "-80,30,10,50"},
    )
    assert ids(r) == ["ny", "paris"]


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"filter": "title LIKE 'a_b%'"}, "title LIKE"),
        ({"filter": "id < 'x'"}, "id < 'x'"),
        ({"filter": 'eo:cloud_cover = "seedpipe:version"'}, "property-to-property"),
        (
            {
                "filter": "(id = 'a' OR eo:cloud_cover > 1) OR "
                "(eo:cloud_cover < 1 AND (title = 'x' OR id = 'y'))"
            },
            "OR",
        ),
        ({"filter": "S_WITHIN(geometry, POINT(0 0))"}, "s_within"),
        ({"filter": "nope = 1"}, "nope"),
        ({"filter": "this is not cql"}, "not valid CQL2"),
        ({"filter": "id = 'a'", "filter-lang": "cql"}, None),
        ({"filter": "id = 'a'", "filter-crs": "EPSG:3857"}, None),
    ],
)
async def test_what_a_filter_cannot_answer_is_a_400_naming_that_part(
    client: httpx.AsyncClient, params: dict[str, str], needle: str | None
) -> None:
    r = await client.get("/search", params=params)
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["field"] in ("filter", "filter-lang", "filter-crs")
    if needle is not None:
        assert needle in body["detail"], body


async def test_queryables_describe_what_filters_may_name(client: httpx.AsyncClient) -> None:
    r = await client.get("/queryables")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/schema+json"
    body = r.json()
    assert body["$schema"] == "https://json-schema.org/draft/2019-09/schema"
    assert body["$id"] == "http://testserver/queryables" and body["type"] == "object"
    props = body["properties"]
    for name in ("id", "collection", "datetime", "geometry", "title", "seedpipe:data_types"):
        assert name in props, name
    assert props["seedpipe:file_type"]["enum"] == ["SOURCE", "PRODUCT"]
    one = (await client.get("/collections/raw/queryables")).json()
    assert one["$id"] == "http://testserver/collections/raw/queryables"
    assert (await client.get("/collections/nowhere/queryables")).status_code == 404
    landing = (await client.get("/")).json()
    rels = {link["rel"] for link in landing["links"]}
    assert "http://www.opengis.net/def/rel/ogc/1.0/queryables" in rels
