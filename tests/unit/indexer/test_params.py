"""Scale /files and STAC /search parameters translated into the one Query model."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from indexer.stac.params import stac_get_body, stac_query
from seedpipe.errors import InvalidInput
from seedpipe.query.params import files_query


def test_scale_time_ranges_choose_the_time_field() -> None:
    q, page, size = files_query(
        {"data_started": ["2020-01-01T00:00:00Z"], "data_ended": ["2020-02-01T00:00:00Z"]}
    )
    assert q.time_field == "data" and q.time_relation == "intersects"
    assert q.datetime is not None and q.datetime.start == datetime(2020, 1, 1, tzinfo=UTC)
    assert q.datetime.end == datetime(2020, 2, 1, tzinfo=UTC)
    assert (page, size) == (1, 100)
    q, _, _ = files_query({"modified_started": ["2021-01-01"]})
    assert q.time_field == "last_modified" and q.datetime is not None and q.datetime.end is None


def test_scale_lists_accept_repeats_and_commas_alike() -> None:
    q, _, _ = files_query(
        {"source_sensor": ["L8,S2", "MODIS"], "countries": ["fra"], "file_type": ["product"]}
    )
    assert q.source_sensor == ["L8", "S2", "MODIS"]
    assert q.countries == ["FRA"] and q.file_types == ["PRODUCT"]


def test_scale_order_becomes_sort_keys_and_paging_is_kept() -> None:
    q, page, size = files_query(
        {"order": ["-created", "file_name"], "page": ["3"], "page_size": ["7"]}
    )
    assert [(k.field, k.desc) for k in q.sort] == [("created", True), ("file_name", False)]
    assert (page, size) == (3, 7)


def test_new_filters_map_onto_the_query() -> None:
    q, _, _ = files_query(
        {
            "bbox": ["170,-10,-170,10"],
            "datetime": ["2020-01-01T00:00:00Z/.."],
            "time_field": ["source"],
            "relation": ["within"],
            "data_type_all": ["a,b"],
            "data_type_none": ["c"],
            "meta": ['[{"property": "cloud", "op": "<", "value": 5}]'],
        }
    )
    assert q.bbox == (170.0, -10.0, -170.0, 10.0)
    assert (q.time_field, q.time_relation) == ("source", "within")
    assert q.data_types_all == ["a", "b"] and q.data_types_none == ["c"]
    assert q.meta[0].property == "cloud" and q.meta[0].op == "<"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"colour": ["red"]}, "colour"),
        ({"page": ["1", "2"]}, "page"),
        ({"data_started": ["2020-01-01"], "created_started": ["2020-01-01"]}, "created_started"),
        ({"data_started": ["2020-01-01"], "time_field": ["created"]}, "time_field"),
        ({"relation": ["touches"]}, "relation"),
        ({"order": ["-nope"]}, "order"),
        ({"media_type": ["x" * 2000]}, "media_type"),
    ],
)
def test_bad_files_parameters_name_themselves(params: dict[str, list[str]], field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        files_query(params)
    assert err.value.field == field


def test_stac_get_parameters_and_post_bodies_make_the_same_query() -> None:
    body = stac_get_body(
        {
            "bbox": ["0,0,10,10"],
            "collections": ["raw,products"],
            "ids": ["a", "b"],
            "datetime": ["2020-01-01T00:00:00Z/2021-01-01T00:00:00Z"],
            "limit": ["5"],
            "sortby": ["-datetime"],
        }
    )
    from_get = stac_query(body)
    from_post = stac_query(
        {
            "bbox": [0, 0, 10, 10],
            "collections": ["raw", "products"],
            "ids": ["a", "b"],
            "datetime": "2020-01-01T00:00:00Z/2021-01-01T00:00:00Z",
            "limit": 5,
            "sortby": [{"field": "properties.datetime", "direction": "desc"}],
        }
    )
    assert from_get == from_post
    assert from_get.workspaces == ["raw", "products"] and from_get.limit == 5
    assert [(k.field, k.desc) for k in from_get.sort] == [("data_started", True)]


def test_stac_limit_defaults_to_ten_and_a_foreign_token_is_refused() -> None:
    assert stac_query({}).limit == 10
    with pytest.raises(InvalidInput) as err:
        stac_query({"token": "eyJmIjoiMCJ9"})
    assert err.value.field == "token"
