"""The Elasticsearch mapping, documents and compiled query bodies, by structure (no server)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from indexer.backends.elastic.mapping import (
    FILES_MAPPING,
    SUBSCRIPTIONS_MAPPING,
    meta_leaves,
    to_document,
)
from indexer.backends.elastic.query import compile_meta, compile_query, compile_search
from seedpipe.errors import CatalogError
from seedpipe.query.geometry import clean_geometry, clean_records
from seedpipe.query.model import MetaFilter, Query
from seedpipe.records import FileRecord


def filters(q: Query) -> list[dict[str, Any]]:
    body = compile_query(q)
    return list(body["bool"]["filter"])


def one(q: Query, key: str) -> dict[str, Any]:
    found = [f for f in filters(q) if key in f]
    assert len(found) == 1, filters(q)
    return found[0][key]


def test_the_mapping_is_strict_and_typed_for_geo_time_and_tags() -> None:
    props = FILES_MAPPING["properties"]
    assert FILES_MAPPING["dynamic"] == "strict"
    assert props["geometry"]["type"] == "geo_shape"
    assert props["center_point"]["type"] == "geo_point"
    for name in ("data_time", "source_time", "created_time", "modified_time"):
        assert props[name]["type"] == "date_range"
    for name in ("data_started", "data_ended", "created", "last_modified"):
        assert props[name]["type"] == "date"
    assert props["data_type_tags"]["type"] == "keyword"
    assert props["meta_data"]["type"] == "flattened"
    assert props["meta_kv"]["type"] == "nested"
    assert props["record"] == {"type": "object", "enabled": False}
    assert SUBSCRIPTIONS_MAPPING["properties"]["query"]["type"] == "percolator"
    assert set(props) < set(SUBSCRIPTIONS_MAPPING["properties"])


def test_a_record_becomes_a_document_with_ranges_shape_and_typed_meta() -> None:
    record = FileRecord(
        id="f1",
        file_name="Scene.TIF",
        workspace={"name": "raw"},
        file_path="a/Scene.TIF",
        data_started=datetime(2020, 1, 2, tzinfo=UTC),
        data_type_tags=["optical"],
        meta_data={"cloud": 5, "sat": {"name": "S2A"}, "bands": ["B1", 2], "ok": True},
    )
    clean = clean_geometry({"type": "Point", "coordinates": [1, 2]})
    doc = to_document(record, clean)
    assert set(doc) <= set(FILES_MAPPING["properties"])
    assert doc["data_time"] == {
        "gte": "2020-01-02T00:00:00+00:00",
        "lte": "2020-01-02T00:00:00+00:00",
    }
    assert doc["source_time"] is None
    assert doc["geometry"] == {"type": "Point", "coordinates": [1.0, 2.0]}
    assert doc["center_point"] == [1.0, 2.0]
    assert doc["file_name_lc"] == "scene.tif"
    assert doc["meta_kv"] == [
        {"k": "cloud", "a": False, "n": 5},
        {"k": "sat.name", "a": False, "s": "S2A"},
        {"k": "bands", "a": True, "s": "B1"},
        {"k": "bands", "a": True, "n": 2},
        {"k": "ok", "a": False, "b": True},
    ]
    assert FileRecord.model_validate(doc["record"]) == record


def test_meta_leaves_are_bounded() -> None:
    assert len(meta_leaves({f"k{i}": i for i in range(5000)})) == 1000


def test_hidden_records_and_tombstones_are_excluded_by_default() -> None:
    body = compile_query(Query())
    assert {"term": {"is_deleted": True}} in body["bool"]["must_not"]
    assert {"term": {"is_superseded": True}} in body["bool"]["must_not"]
    assert {"bool": {"must_not": [{"term": {"tombstone": True}}]}} in body["bool"]["filter"]
    both = compile_query(Query(include_deleted=True, include_superseded=True))
    assert "must_not" not in both["bool"]


def test_a_bbox_across_the_antimeridian_becomes_a_two_part_shape() -> None:
    shape = one(Query.parse({"bbox": [170, -10, -170, 10]}), "geo_shape")["geometry"]
    assert shape["relation"] == "intersects"
    assert shape["shape"]["type"] == "MultiPolygon"
    xs = sorted({x for poly in shape["shape"]["coordinates"] for x, _ in poly[0]})
    assert xs == [-180, -170, 170, 180]


@pytest.mark.parametrize("relation", ["intersects", "within", "contains"])
def test_time_relations_are_native_range_relations(relation: str) -> None:
    q = Query.parse(
        {
            "datetime": "2020-01-01T00:00:00Z/2020-02-01T00:00:00Z",
            "time_relation": relation,
            "time_field": "source",
        }
    )
    assert one(q, "range") == {
        "source_time": {
            "relation": relation.upper(),
            "gte": "2020-01-01T00:00:00+00:00",
            "lte": "2020-02-01T00:00:00+00:00",
        }
    }


def test_an_open_interval_leaves_that_end_out_and_contains_matches_nothing() -> None:
    assert one(Query.parse({"datetime": "../2020-01-01T00:00:00Z"}), "range") == {
        "data_time": {"relation": "INTERSECTS", "lte": "2020-01-01T00:00:00+00:00"}
    }
    q = Query.parse({"datetime": "2020-01-01T00:00:00Z/..", "time_relation": "contains"})
    assert {"match_none": {}} in filters(q)


def test_data_type_filters_compile_to_terms_set_terms_and_must_not() -> None:
    q = Query(data_types_all=["a", "b", "a"], data_types_any=["c"], data_types_none=["d"])
    assert one(q, "terms_set") == {
        "data_type_tags": {
            "terms": ["a", "b"],
            "minimum_should_match_script": {"source": "params.num_terms"},
        }
    }
    assert {"terms": {"data_type_tags": ["c"]}} in filters(q)
    assert {"terms": {"data_type_tags": ["d"]}} in compile_query(q)["bool"]["must_not"]


def test_lineage_filters_are_keyword_terms_on_mapped_fields() -> None:
    q = Query(jobs=["j1"], recipes=["r1"], recipe_nodes=["n"], batches=["b1"], derived_from=["f0"])
    got = filters(q)
    for field, value in (
        ("job", "j1"), ("recipe", "r1"), ("recipe_node", "n"), ("batch", "b1"), ("ancestors", "f0"),
    ):  # fmt: skip
        assert {"terms": {field: [value]}} in got
        assert FILES_MAPPING["properties"][field] == {"type": "keyword"}
    record = FileRecord(
        id="p", file_name="p.tif", workspace={"name": "w"}, file_path="p.tif",
        job="j1", recipe="r1", recipe_node="n", batch="b1", ancestors=["f0", "f1"],
    )  # fmt: skip
    doc = to_document(record, None)
    assert (doc["job"], doc["batch"], doc["ancestors"]) == ("j1", "b1", ["f0", "f1"])


def test_string_filters_are_data_not_syntax() -> None:
    evil = '*"} OR {"match_all": {}} \\?'
    q = Query(media_types=[evil], file_name_contains=evil, ids=[evil])
    assert {"terms": {"media_type": [evil]}} in filters(q)
    assert {"terms": {"id": [evil]}} in filters(q)
    wildcard = one(q, "wildcard")["file_name_lc"]["value"]
    assert wildcard == '*\\*"} or {"match_all": {}} \\\\\\?*'
    assert "query_string" not in json.dumps(compile_query(q))


@pytest.mark.parametrize(
    ("meta", "leaf"),
    [
        ({"property": "cloud", "op": "<", "value": 5}, {"range": {"meta_kv.n": {"lt": 5}}}),
        (
            {"property": "cloud", "op": "between", "value": [1, 2]},
            {"range": {"meta_kv.n": {"gte": 1, "lte": 2}}},
        ),
        ({"property": "sat.name", "op": "==", "value": "S2A"}, {"term": {"meta_kv.s": "S2A"}}),
        ({"property": "ok", "op": "==", "value": True}, {"term": {"meta_kv.b": True}}),
    ],
)
def test_meta_comparisons_are_nested_typed_leaf_queries(
    meta: dict[str, Any], leaf: dict[str, Any]
) -> None:
    nested = compile_meta(MetaFilter.model_validate(meta))["nested"]
    assert nested["path"] == "meta_kv"
    clauses = nested["query"]["bool"]["filter"]
    assert {"term": {"meta_kv.k": meta["property"]}} in clauses
    assert {"term": {"meta_kv.a": False}} in clauses
    assert leaf in clauses


def test_meta_not_equal_needs_the_property_of_that_kind() -> None:
    nested = compile_meta(MetaFilter(property="x", op="!=", value=1))["nested"]["query"]["bool"]
    assert {"exists": {"field": "meta_kv.n"}} in nested["filter"]
    assert nested["must_not"] == [{"term": {"meta_kv.n": 1}}]


def test_ordering_a_boolean_matches_nothing() -> None:
    assert compile_meta(MetaFilter(property="x", op=">", value=True)) == {"match_none": {}}


def test_sort_puts_missing_last_and_breaks_ties_by_id_and_tokens_become_search_after() -> None:
    q = Query.parse({"sort": "-data_started,file_name", "limit": 5})
    body = compile_search(q)
    assert body["sort"] == [
        {"data_started": {"order": "desc", "missing": "_last"}},
        {"file_name": {"order": "asc", "missing": "_last"}},
        {"id": {"order": "asc"}},
    ]
    assert body["size"] == 6 and body["track_total_hits"] is True
    assert "search_after" not in body
    token = q.make_token([1577836800000, "a.tif"], "f9")
    after = compile_search(q.model_copy(update={"token": token}))
    assert after["search_after"] == [1577836800000, "a.tif", "f9"]


def test_the_default_sort_is_newest_created_first() -> None:
    assert compile_search(Query())["sort"][0] == {"created": {"order": "desc", "missing": "_last"}}


def test_credentials_in_the_url_are_refused() -> None:
    from indexer.backends.elastic.elasticsearch import client_url

    assert client_url("elasticsearch://es:9200") == "http://es:9200"
    assert client_url("elasticsearch+https://es:9200") == "https://es:9200"
    with pytest.raises(CatalogError) as err:
        client_url("https://elastic:hunter2@es:9200")
    assert "hunter2" not in str(err.value)


async def test_records_are_cleaned_before_they_become_documents() -> None:
    from indexer.backends.elastic.elasticsearch import ElasticsearchIndex
    from seedpipe.settings import ElasticsearchSettings, IndexSettings

    settings = IndexSettings(
        url="elasticsearch://127.0.0.1:9",
        elasticsearch=ElasticsearchSettings(index_prefix="t", username="u", password="s3cret"),
    )
    index = ElasticsearchIndex(settings.url, settings)
    crossing = {
        "type": "Polygon",
        "coordinates": [[[170, 0], [-170, 0], [-170, 5], [170, 5], [170, 0]]],
    }
    good = FileRecord(
        id="a", file_name="a", workspace={"name": "w"}, file_path="a", geometry=crossing
    )
    bad = good.model_copy(update={"id": "b", "geometry": {"type": "Point", "coordinates": [0, 99]}})
    (r1, doc1, err1), (r2, doc2, err2) = index._prepared([good, bad], clean_records([good, bad]))
    assert err1 is None and doc1["geometry"]["type"] == "MultiPolygon"
    assert r1.geometry == doc1["geometry"] and doc1["record"]["geometry"] == doc1["geometry"]
    assert err2 is not None and "latitude" in err2
    assert doc2["geometry"] is None and r2.geometry is None
    assert index.alias == "t-files" and index.subs == "t-subscriptions"
    client = index.client  # built lazily, no request made
    try:
        assert "s3cret" not in repr(client) and "s3cret" not in repr(index.__dict__)
    finally:
        await index.close()


def test_exclusions_names_prefixes_and_the_data_or_created_time_compile_to_es_clauses() -> None:
    q = Query.parse(
        {
            "not_in": {"media_types": ["image/png"], "ids": ["x"]},
            "file_names": ["a.tif"],
            "file_name_starts": "Sc*",
            "file_name_ends": "?.TIF",
            "datetime": "2020-01-01T00:00:00Z/..",
            "time_field": "data_or_created",
        }
    )
    body = compile_query(q)["bool"]
    assert {"terms": {"media_type": ["image/png"]}} in body["must_not"]
    assert {"terms": {"id": ["x"]}} in body["must_not"]
    assert one(q, "terms") == {"file_name": ["a.tif"]}
    assert one(q, "prefix") == {"file_name_lc": {"value": "sc*"}}
    wildcards = [f["wildcard"] for f in filters(q) if "wildcard" in f]
    assert wildcards == [{"file_name_lc": {"value": "*\\?.tif"}}]
    (either,) = [f["bool"]["should"] for f in filters(q) if "should" in f.get("bool", {})]
    assert either[0] == {
        "range": {"data_time": {"relation": "INTERSECTS", "gte": "2020-01-01T00:00:00+00:00"}}
    }
    assert either[1]["bool"]["filter"][1]["range"]["created_time"]["gte"].startswith("2020")


def test_a_lower_time_bound_goes_up_to_the_engines_next_millisecond() -> None:
    # STAC's `gt` is `>= t + 1 µs` in the query model; the engine keeps milliseconds and would
    # truncate that back to t, matching t itself
    t = datetime(2021, 6, 1, 12, tzinfo=UTC)
    after = Query(datetime={"start": t.replace(microsecond=1)})
    assert one(after, "range")["data_time"]["gte"] == "2021-06-01T12:00:00.001000+00:00"
    exact = Query(datetime={"start": t.replace(microsecond=2000)})
    assert one(exact, "range")["data_time"]["gte"] == "2021-06-01T12:00:00.002000+00:00"
    bound = Query(bounds=[{"field": "created", "op": ">=", "value": t.replace(microsecond=5)}])
    assert one(bound, "range")["created"] == {"gte": "2021-06-01T12:00:00.001000+00:00"}


def test_the_result_window_takes_a_page_of_the_maximum_and_its_lookahead() -> None:
    from indexer.backends.elastic.mapping import SETTINGS
    from seedpipe.query.model import MAX_LIMIT

    assert SETTINGS["index"]["max_result_window"] == MAX_LIMIT + 1


def test_a_window_inside_one_millisecond_is_never_an_inverted_range() -> None:
    t = datetime(2020, 7, 23, tzinfo=UTC)
    a, b = t.replace(microsecond=12_500), t.replace(microsecond=12_900)
    overlap = Query(datetime={"start": a, "end": b})
    (halves,) = [f["bool"]["filter"] for f in filters(overlap) if "filter" in f.get("bool", {})]
    assert [h["range"]["data_time"] for h in halves] == [
        {"relation": "INTERSECTS", "gte": "2020-07-23T00:00:00.013000+00:00"},
        {"relation": "INTERSECTS", "lte": "2020-07-23T00:00:00.012000+00:00"},
    ]
    within = Query(datetime={"start": a, "end": b}, time_relation="within")
    assert one(within, "match_none") == {}
    contains = Query(datetime={"start": a, "end": b}, time_relation="contains")
    assert one(contains, "range")["data_time"] == {
        "relation": "CONTAINS",
        "gte": "2020-07-23T00:00:00.012000+00:00",
        "lte": "2020-07-23T00:00:00.013000+00:00",
    }
