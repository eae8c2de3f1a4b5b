"""Scale /files and STAC /search parameters translated into the one Query model."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from indexer.stac.params import stac_get_body, stac_query
from seedpipe.errors import InvalidInput
from seedpipe.query.params import files_query, scale_time


def test_scale_time_parameters_bound_one_time_field_each_and_combine() -> None:
    q, page, size = files_query(
        {
            "data_started": ["2020-01-01T00:00:00Z"],
            "data_ended": ["2020-02-01T00:00:00Z"],
            "created_started": ["2019-01-01"],
        }
    )
    assert [(b.field, b.op, b.value) for b in q.bounds] == [
        ("data_started", ">=", datetime(2020, 1, 1, tzinfo=UTC)),
        ("data_ended", "<=", datetime(2020, 2, 1, tzinfo=UTC)),
        ("created", ">=", datetime(2019, 1, 1, tzinfo=UTC)),
    ]
    assert q.datetime is None and (page, size) == (1, 100)


def test_iso_durations_mean_that_long_before_now() -> None:
    now = datetime(2024, 1, 2, 12, 0, tzinfo=UTC)
    assert scale_time("PT3H", "x", now) == datetime(2024, 1, 2, 9, 0, tzinfo=UTC)
    assert scale_time("P1DT30M", "x", now) == datetime(2024, 1, 1, 11, 30, tzinfo=UTC)
    assert scale_time("P2W", "x", now) == datetime(2023, 12, 19, 12, 0, tzinfo=UTC)
    assert scale_time("PT0.5S", "x", now) == datetime(2024, 1, 2, 11, 59, 59, 500000, tzinfo=UTC)
    for bad in ("P", "PT", "P1M", "P1Y", "PT3H4", "P1DT"):
        with pytest.raises(InvalidInput):
            scale_time(bad, "x", now)


def test_page_size_above_scale_s_maximum_is_clamped() -> None:
    assert files_query({"page_size": ["5000"]})[2] == 1000


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
        ({"created_started": ["2020-01-02"], "created_ended": ["2020-01-01"]}, "created_started"),
        ({"time_field": ["birthday"]}, "time_field"),
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
    assert [(k.field, k.desc) for k in from_get.sort] == [("data_or_created", True)]


def test_stac_limit_defaults_to_ten_and_a_foreign_token_is_refused() -> None:
    assert stac_query({}).limit == 10
    with pytest.raises(InvalidInput) as err:
        stac_query({"token": "eyJmIjoiMCJ9"})
    assert err.value.field == "token"
