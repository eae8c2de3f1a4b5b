"""One conformance suite for every file index backend: queries, write rules, hostile input."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from indexer.backends.base import FileIndex, Subscription
from seedpipe.catalogue import SearchPage
from seedpipe.errors import InvalidInput
from seedpipe.query.match import matches
from seedpipe.query.model import MAX_LIST, Query
from seedpipe.records import MAX_INT64, FileRecord
from seedpipe.views import ViewPage

T0 = datetime(2020, 1, 1, tzinfo=UTC)
METACHARACTERS = [
    "'; DROP TABLE files; --",
    '" OR 1=1 --',
    "%_\\*?[]{}()",
    '{"query": {"match_all": {}}}',
    "$.meta_data",
    "../../etc/passwd",
    "日本語 ✓",
]


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def rec(file_id: str, **fields: Any) -> FileRecord:
    fields.setdefault("file_name", f"{file_id}.tif")
    fields.setdefault("workspace", {"name": "raw"})
    fields.setdefault("file_path", f"in/{file_id}.tif")
    fields.setdefault("created", T0)
    return FileRecord(id=file_id, **fields)


def point(x: float, y: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [x, y]}


def polygon(*rings: Sequence[tuple[float, float]]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[list(p) for p in ring] for ring in rings]}


def square(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    return polygon([(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)])


async def load(index: FileIndex, *records: FileRecord) -> list[FileRecord]:
    results = await index.upsert(list(records))
    assert [r.status for r in results] == ["written"] * len(records), results
    return list(records)


async def found(index: FileIndex, records: list[FileRecord], **query: Any) -> set[str]:
    """Ids the backend finds, checked against Query.matches and count() on the same records."""
    q = Query.parse(query)
    page = await index.search(q)
    ids = {r.id for r in page.records}
    assert len(ids) == len(page.records)
    stored = [await index.get(r.id) for r in records]
    expected = {r.id for r in stored if r is not None and matches(q, r)}
    assert ids == expected, f"{query}: backend {sorted(ids)} != Query.matches {sorted(expected)}"
    assert page.total == len(ids) == await index.count(q)
    same_page(await index.search_views(q), page)
    return ids


def same_page(views: ViewPage, page: SearchPage) -> None:
    """The read-only page is the records' page: the same records in order, total and tokens."""
    assert [v.to_record() for v in views.records] == page.records
    assert (views.total, views.next_token, views.prev_token) == (
        page.total,
        page.next_token,
        page.prev_token,
    )


async def test_points_and_polygons_are_found_by_bbox(index: FileIndex) -> None:
    rs = await load(
        index,
        rec("p-in", geometry=point(10, 10)),
        rec("p-out", geometry=point(30, 30)),
        rec("poly-overlap", geometry=square(14, 14, 25, 25)),
        rec("poly-out", geometry=square(40, 40, 41, 41)),
        rec("no-geometry"),
        rec("center-only", center_point=point(12, 12)),
    )
    assert await found(index, rs, bbox=[5, 5, 15, 15]) == {"p-in", "poly-overlap", "center-only"}
    assert await found(index, rs, bbox="29.5,29.5,30.5,30.5") == {"p-out"}
    tri = polygon([(0, 0), (20, 0), (0, 20), (0, 0)])
    assert await found(index, rs, intersects=tri) == {"p-in"}


async def test_a_whole_world_query_finds_every_record_with_a_place(index: FileIndex) -> None:
    rs = await load(
        index,
        rec("point", geometry=point(179.9, -89.9), data_type_tags=["a"], data_started=day(1)),
        rec("poly", geometry=square(-10, -10, 10, 10), data_type_tags=["b"]),
        rec("center-only", center_point=point(0, 0), data_type_tags=["a"]),
        rec("nowhere", data_type_tags=["a"], data_started=day(1)),
    )
    world = [-180, -90, 180, 90]
    assert await found(index, rs, bbox=world) == {"point", "poly", "center-only"}
    assert await found(index, rs, bbox=world, data_types_any=["a"]) == {"point", "center-only"}
    assert await found(index, rs, bbox=world, datetime=f"{day(0).isoformat()}/..") == {"point"}
    whole = {"type": "Polygon", "coordinates": [[[-180, -90], [180, -90], [180, 90], [-180, 90],
                                                 [-180, -90]]]}  # fmt: skip
    assert await found(index, rs, intersects=whole) == {"point", "poly", "center-only"}


async def test_skewed_polygon_is_refined_exactly(index: FileIndex) -> None:
    diamond = polygon([(0, -10), (10, 0), (0, 10), (-10, 0), (0, -10)])
    rs = await load(index, rec("diamond", geometry=diamond))
    assert await found(index, rs, bbox=[8, 8, 9, 9]) == set()  # inside its box, outside it
    assert await found(index, rs, bbox=[4, 4, 6, 6]) == {"diamond"}
    assert await found(index, rs, intersects=point(1, 1)) == {"diamond"}


async def test_a_point_in_a_polygon_hole_does_not_match_it(index: FileIndex) -> None:
    outer = [(0, 0), (10, 0), (10, 10), (0, 10), (0, 0)]
    hole = [(3, 3), (3, 7), (7, 7), (7, 3), (3, 3)]
    rs = await load(index, rec("donut", geometry=polygon(outer, hole)))
    assert await found(index, rs, intersects=point(5, 5)) == set()
    assert await found(index, rs, intersects=point(1, 1)) == {"donut"}
    assert await found(index, rs, bbox=[4, 4, 6, 6]) == set()
    assert await found(index, rs, bbox=[4, 4, 8, 6]) == {"donut"}


async def test_geometry_crossing_the_antimeridian_is_split_and_found_on_both_sides(
    index: FileIndex,
) -> None:
    crossing = polygon([(170, 0), (-170, 0), (-170, 10), (170, 10), (170, 0)])
    rs = await load(
        index,
        rec("crossing", geometry=crossing),
        rec("greenwich", geometry=point(0, 5)),
        rec("east", geometry=point(179, 5)),
        rec("west", geometry=point(-179, 5)),
    )
    stored = await index.get("crossing")
    assert stored is not None and stored.geometry is not None
    assert stored.geometry["type"] == "MultiPolygon"
    assert await found(index, rs, bbox=[175, 1, 176, 2]) == {"crossing"}
    assert await found(index, rs, bbox=[-176, 1, -175, 2]) == {"crossing"}
    assert await found(index, rs, bbox=[-5, 1, 5, 9]) == {"greenwich"}
    # minx > maxx: a bbox that itself crosses the antimeridian
    assert await found(index, rs, bbox=[178, 4, -178, 6]) == {"crossing", "east", "west"}


async def test_a_polygon_wider_than_180_degrees_crosses_only_when_clockwise(
    index: FileIndex,
) -> None:
    # The shared rule (Elasticsearch's): counter-clockwise -170..170 is 340° wide, as written;
    # the same ring clockwise is the 20° around the antimeridian.
    ccw = [(-170, 0), (170, 0), (170, 10), (-170, 10), (-170, 0)]
    rs = await load(
        index,
        rec("wide", geometry=polygon(ccw)),
        rec("narrow", geometry=polygon(list(reversed(ccw)))),
    )
    wide, narrow = await index.get("wide"), await index.get("narrow")
    assert wide is not None and wide.geometry is not None and narrow is not None
    assert wide.geometry["type"] == "Polygon"
    assert narrow.geometry is not None and narrow.geometry["type"] == "MultiPolygon"
    assert await found(index, rs, bbox=[0, 1, 5, 2]) == {"wide"}
    assert await found(index, rs, bbox=[-100, 1, -99, 2]) == {"wide"}
    assert await found(index, rs, bbox=[175, 1, 176, 2]) == {"narrow"}
    assert await found(index, rs, bbox=[-176, 1, -175, 2]) == {"narrow"}
    assert await found(index, rs, intersects=point(0, 5)) == {"wide"}
    assert await found(index, rs, bbox=[169, 1, 171, 2]) == {"wide", "narrow"}
    for query, ids in (
        ({"bbox": [0, 1, 5, 2]}, {"wide"}),
        ({"bbox": [175, 1, 176, 2]}, {"narrow"}),
    ):
        assert {r.id for r in rs if matches(Query.parse(query), r)} == ids  # as given, uncleaned


async def test_polar_caps_and_poles_are_searchable(index: FileIndex) -> None:
    cap = square(-180, 80, 180, 90)
    rs = await load(
        index,
        rec("arctic", geometry=cap),
        rec("north-pole", geometry=point(0, 90)),
        rec("south-pole", geometry=point(0, -90)),
    )
    assert await found(index, rs, bbox=[100, 85, 120, 89]) == {"arctic"}
    assert await found(index, rs, bbox=[-180, 89, 180, 90]) == {"arctic", "north-pole"}
    assert await found(index, rs, bbox=[-10, -90, 10, -89]) == {"south-pole"}


async def test_open_time_intervals(index: FileIndex) -> None:
    rs = await load(
        index,
        rec("early", data_started=day(0), data_ended=day(1)),
        rec("late", data_started=day(10), data_ended=day(11)),
        rec("instant", data_started=day(5)),
        rec("timeless"),
    )
    assert await found(index, rs, datetime="2020-01-05T00:00:00Z/..") == {"late", "instant"}
    assert await found(index, rs, datetime="../2020-01-03T00:00:00Z") == {"early"}
    assert await found(index, rs, datetime="2020-01-06T00:00:00Z") == {"instant"}


@pytest.mark.parametrize(
    ("relation", "expected"),
    [
        ("intersects", {"inside", "covering", "overlapping"}),
        ("within", {"inside"}),
        ("contains", {"covering"}),
    ],
)
async def test_each_interval_relation(index: FileIndex, relation: str, expected: set[str]) -> None:
    rs = await load(
        index,
        rec("inside", data_started=day(4), data_ended=day(6)),
        rec("covering", data_started=day(0), data_ended=day(20)),
        rec("overlapping", data_started=day(8), data_ended=day(12)),
        rec("outside", data_started=day(15), data_ended=day(16)),
    )
    window = f"{day(3).isoformat()}/{day(10).isoformat()}"
    assert await found(index, rs, datetime=window, time_relation=relation) == expected


async def test_contains_with_an_open_end_matches_nothing(index: FileIndex) -> None:
    rs = await load(index, rec("long", data_started=day(0), data_ended=day(999)))
    assert await found(
        index, rs, datetime=f"{day(1).isoformat()}/..", time_relation="contains"
    ) == (set())


async def test_source_created_and_modified_time_fields(index: FileIndex) -> None:
    rs = await load(
        index,
        rec(
            "a", source_started=day(1), source_ended=day(2), created=day(50), last_modified=day(60)
        ),
        rec("b", source_started=day(30), created=day(5), last_modified=day(6)),
    )
    assert await found(index, rs, datetime=f"../{day(3).isoformat()}", time_field="source") == {"a"}
    assert await found(index, rs, datetime=f"../{day(10).isoformat()}", time_field="created") == {
        "b"
    }
    window = f"{day(55).isoformat()}/.."
    assert await found(index, rs, datetime=window, time_field="last_modified") == {"a"}


async def test_data_type_filters_all_any_and_none(index: FileIndex) -> None:
    rs = await load(
        index,
        rec("ab", data_type_tags=["a", "b"]),
        rec("a", data_type_tags=["a"]),
        rec("c", data_type_tags=["c"]),
        rec("none"),
    )
    assert await found(index, rs, data_types_all=["a", "b"]) == {"ab"}
    assert await found(index, rs, data_types_any=["b", "c"]) == {"ab", "c"}
    assert await found(index, rs, data_types_none=["a"]) == {"c", "none"}
    assert await found(index, rs, data_types_any=["a"], data_types_none=["b"]) == {"a"}


async def test_data_type_filters_with_a_place_and_types_that_hash_alike(index: FileIndex) -> None:
    # "type3" and "type22" have the same SQLite R*Tree signature bits: the signature only
    # narrows candidates, the exact tag test decides.
    a, b = "type3", "type22"
    here = point(5, 5)
    rs = await load(
        index,
        rec("a", geometry=here, data_type_tags=[a]),
        rec("b", geometry=here, data_type_tags=[b]),
        rec("ab", geometry=here, data_type_tags=[a, b]),
        rec("weather", geometry=here, data_type_tags=["weather"]),
        rec("elsewhere", geometry=point(50, 50), data_type_tags=[a]),
        rec("untyped", geometry=here),
    )
    box = [0, 0, 10, 10]
    assert await found(index, rs, bbox=box, data_types_any=[b]) == {"b", "ab"}
    assert await found(index, rs, bbox=box, data_types_any=["sar", "elevation"]) == set()
    assert await found(index, rs, bbox=box, data_types_all=[a, "weather"]) == set()
    assert await found(index, rs, bbox=box, data_types_all=[a, b]) == {"ab"}
    assert await found(index, rs, bbox=box, data_types_none=[a]) == {"b", "weather", "untyped"}
    assert await found(index, rs, bbox=box, data_types_any=[a, "weather"], data_types_all=[b]) == {
        "ab"
    }
    many = [f"t{i}" for i in range(40)] + [b]
    assert await found(index, rs, bbox=box, data_types_any=many) == {"b", "ab"}


async def test_attribute_filters(index: FileIndex) -> None:
    rs = await load(
        index,
        rec(
            "prod",
            file_name="Scene_Alpha.TIF",
            media_type="image/tiff",
            file_type="PRODUCT",
            workspace={"name": "products"},
            job_type={"name": "ndvi", "version": "1.0"},
            job_output="OUTPUT_TIF",
            countries=["FRA", "DEU"],
            source_sensor_class="optical",
            source_sensor="S2A",
            source_collection="L2A",
            source_task="t1",
        ),
        rec("src", file_name="other.json", media_type="application/json", countries=["USA"]),
    )
    assert await found(index, rs, media_types=["image/tiff"]) == {"prod"}
    assert await found(index, rs, file_types=["SOURCE"]) == {"src"}
    assert await found(index, rs, workspaces=["products"]) == {"prod"}
    assert await found(index, rs, job_types=["ndvi"]) == {"prod"}
    assert await found(index, rs, job_outputs=["OUTPUT_TIF"]) == {"prod"}
    assert await found(index, rs, countries=["DEU", "ITA"]) == {"prod"}
    assert await found(index, rs, source_sensor=["S2A"], source_sensor_class=["optical"]) == {
        "prod"
    }
    assert await found(index, rs, source_collection=["L2A"], source_task=["t1"]) == {"prod"}
    assert await found(index, rs, file_name_contains="alpha.t") == {"prod"}
    assert await found(index, rs, ids=["src", "missing"]) == {"src"}


async def test_file_name_contains_any_text_case_blind_through_updates_and_deletes(
    index: FileIndex,
) -> None:
    names = {
        "a": "LC08_L1TP_044034_20200101.TIF",
        "b": 'odd "quoted" NEAR(x y) * ^col: AND.tif',
        "c": "Straße_ÉTÉ_日本語.nc",
        "d": "lc08_l1tp_044035_20200101.tif",
    }
    rs = await load(index, *(rec(i, file_name=n) for i, n in names.items()))
    cases = {
        "l1tp_04403": {"a", "d"},
        "044034": {"a"},
        "lc": {"a", "d"},  # shorter than a trigram
        "c": {"a", "b", "c", "d"},
        '"quoted"': {"b"},
        "near(x y) *": {"b"},
        "^col: and": {"b"},
        "STRASSE": {"c"},  # casefolded: ß is ss
        "été_日本": {"c"},
        "日本語.nc": {"c"},
        "20200102": set(),
        "tif.": set(),
    }
    for needle, want in cases.items():
        assert await found(index, rs, file_name_contains=needle) == want, needle
    # a renamed record is found by its new name only, a deleted one not at all
    renamed = rs[0].model_copy(update={"file_name": "renamed_999.tif", "version": 2})
    await load(index, renamed)
    await index.delete("d", 5)
    rs = [renamed, *rs[1:3]]
    assert await found(index, rs, file_name_contains="l1tp_04403") == set()
    assert await found(index, rs, file_name_contains="ed_999") == {"a"}
    assert await found(index, rs, file_name_contains="9.ti") == {"a"}


async def test_lineage_filters_job_recipe_batch_and_derived_from(index: FileIndex) -> None:
    src = rec("src", geometry=point(1, 1))
    mid = rec(
        "mid", geometry=point(1, 1), file_type="PRODUCT", ancestors=["src"], job="job-1",
        recipe="recipe-1", recipe_node="ndvi", batch="batch-1",
    )  # fmt: skip
    leaf = rec(
        "leaf", geometry=point(1, 1), file_type="PRODUCT", ancestors=["mid", "src"],
        job="job-2", recipe="recipe-1", recipe_node="tiles",
    )  # fmt: skip
    other = rec("other", file_type="PRODUCT", ancestors=["elsewhere"], job="job-3")
    rs = await load(index, src, mid, leaf, other)
    assert await found(index, rs, jobs=["job-1", "job-3"]) == {"mid", "other"}
    assert await found(index, rs, recipes=["recipe-1"]) == {"mid", "leaf"}
    assert await found(index, rs, recipe_nodes=["tiles"]) == {"leaf"}
    assert await found(index, rs, batches=["batch-1"]) == {"mid"}
    assert await found(index, rs, derived_from=["src"]) == {"mid", "leaf"}
    assert await found(index, rs, derived_from=["mid", "elsewhere"]) == {"leaf", "other"}
    assert await found(index, rs, derived_from=["src"], bbox=[0, 0, 2, 2], jobs=["job-2"]) == {
        "leaf"
    }
    # an update that drops an ancestor drops the match
    await load(index, leaf.bump(ancestors=["mid"]))
    assert await found(index, rs, derived_from=["src"]) == {"mid"}


@pytest.mark.parametrize(
    ("meta", "expected"),
    [
        ({"property": "cloud", "op": "<", "value": 20}, {"clear"}),
        ({"property": "cloud", "op": ">=", "value": 20}, {"cloudy"}),
        ({"property": "cloud", "op": "between", "value": [5, 50]}, {"clear", "cloudy"}),
        ({"property": "cloud", "op": "==", "value": 5.0}, {"clear"}),
        ({"property": "cloud", "op": "!=", "value": 5}, {"cloudy"}),
        ({"property": "sat.name", "op": "==", "value": "S2A"}, {"clear"}),
        ({"property": "sat.name", "op": "in", "value": ["S2A", "L8"]}, {"clear", "cloudy"}),
        ({"property": "sat.name", "op": "contains", "value": "2"}, {"clear"}),
        ({"property": "bands", "op": "contains", "value": "B08"}, {"cloudy"}),
        ({"property": "night", "op": "==", "value": True}, {"cloudy"}),
        ({"property": "cloud", "op": "==", "value": "5"}, set()),  # a string never equals 5
        ({"property": "missing", "op": "!=", "value": 1}, set()),
    ],
)
async def test_meta_data_comparisons(
    index: FileIndex, meta: dict[str, Any], expected: set[str]
) -> None:
    rs = await load(
        index,
        rec("clear", meta_data={"cloud": 5, "sat": {"name": "S2A"}, "bands": ["B02"]}),
        rec(
            "cloudy",
            meta_data={"cloud": 45.5, "sat": {"name": "L8"}, "bands": ["B08"], "night": True},
        ),
    )
    assert await found(index, rs, meta=[meta]) == expected


async def test_the_largest_integers_a_record_allows_are_stored_sorted_and_compared(
    index: FileIndex,
) -> None:
    """file_size and version up to MAX_INT64 (FileRecord's bound): kept exactly, sorted as
    numbers, and the newest version still wins at the top of the range."""
    top = MAX_INT64
    sizes = {"big": top, "mid": 2**53 + 1, "zero": 0, "small": 7}
    rs = [rec(k, file_size=n, version=top if k == "big" else 1) for k, n in sizes.items()]
    await load(index, *rs)
    page = await index.search(Query.parse({"sort": "-file_size"}))
    assert [r.id for r in page.records] == ["big", "mid", "small", "zero"]
    got = await index.get("big")
    assert got is not None and (got.file_size, got.version) == (top, top)
    mid = await index.get("mid")
    assert mid is not None and mid.file_size == 2**53 + 1  # no detour through a float
    older = rs[0].model_copy(update={"version": top - 1, "media_type": "a/older"})
    assert [r.status for r in await index.upsert([older])] == ["stale"]


async def test_a_stale_version_never_overwrites_a_newer_one(index: FileIndex) -> None:
    v1 = rec("f", media_type="a/one")
    v3 = v1.model_copy(update={"version": 3, "media_type": "a/three"})
    v2 = v1.model_copy(update={"version": 2, "media_type": "a/two"})
    assert [r.status for r in await index.upsert([v3])] == ["written"]
    result = (await index.upsert([v2]))[0]
    assert result.status == "stale" and result.ok
    got = await index.get("f")
    assert got is not None and got.media_type == "a/three" and got.version == 3


async def test_a_replayed_batch_changes_nothing(index: FileIndex) -> None:
    rs = [rec(f"r{i}", data_type_tags=["x"]) for i in range(5)]
    await load(index, *rs)
    again = await index.upsert(rs)
    assert [r.status for r in again] == ["stale"] * 5
    assert await found(index, rs, data_types_any=["x"]) == {f"r{i}" for i in range(5)}


async def test_the_newest_version_in_one_batch_wins(index: FileIndex) -> None:
    a1 = rec("a", media_type="a/one")
    a2 = a1.model_copy(update={"version": 2, "media_type": "a/two"})
    results = await index.upsert([a2, a1])
    assert [r.status for r in results] == ["written", "stale"]
    got = await index.get("a")
    assert got is not None and got.media_type == "a/two"


async def test_an_update_moves_the_record_in_space_time_and_tags(index: FileIndex) -> None:
    v1 = rec("m", geometry=point(1, 1), data_type_tags=["old"], data_started=day(1))
    await load(index, v1)
    v2 = v1.model_copy(
        update={
            "version": 2,
            "geometry": point(50, 50),
            "data_type_tags": ["new"],
            "data_started": day(100),
        }
    )
    await load(index, v2)
    rs = [v2]
    assert await found(index, rs, bbox=[0, 0, 2, 2]) == set()
    assert await found(index, rs, bbox=[49, 49, 51, 51], data_types_any=["new"]) == {"m"}
    assert await found(index, rs, data_types_any=["old"]) == set()


async def test_delete_leaves_a_tombstone_that_older_upserts_cannot_pass(index: FileIndex) -> None:
    v1 = rec("d", geometry=point(1, 1))
    await load(index, v1)
    assert (await index.delete("d", 2)).status == "written"
    assert await index.get("d") is None
    assert [r.status for r in await index.upsert([v1])] == ["stale"]
    assert [r.status for r in await index.upsert([v1.model_copy(update={"version": 2})])] == [
        "stale"
    ]
    assert await index.get("d") is None
    assert await found(index, [v1], bbox=[0, 0, 2, 2]) == set()
    v3 = v1.model_copy(update={"version": 3})
    assert [r.status for r in await index.upsert([v3])] == ["written"]
    assert await index.get("d") is not None


async def test_an_older_delete_is_stale(index: FileIndex) -> None:
    v5 = rec("e", version=5)
    await load(index, v5)
    assert (await index.delete("e", 4)).status == "stale"
    assert await index.get("e") is not None


async def test_superseded_and_deleted_records_are_hidden_unless_asked(index: FileIndex) -> None:
    rs = await load(
        index,
        rec("live"),
        rec("old", is_superseded=True, superseded=day(1)),
        rec("gone", is_deleted=True, deleted=day(2)),
    )
    assert await found(index, rs) == {"live"}
    assert await found(index, rs, include_superseded=True) == {"live", "old"}
    assert await found(index, rs, include_deleted=True, include_superseded=True) == {
        "live",
        "old",
        "gone",
    }


# A place filter that is not the whole world: the SQLite backend then orders the matches it
# found through the R*Tree itself, so ordering and tokens are checked on both paths.
PLACES = [
    pytest.param({}, {}, id="no-place"),
    pytest.param({"geometry": point(10, 20)}, {"bbox": [0, 10, 30, 40]}, id="bbox"),
    pytest.param({"geometry": square(9, 19, 11, 21)}, {"intersects": point(10, 20)}, id="point"),
]


def sortable(
    prefix: str, n: int, place: dict[str, Any], *, names: bool = False
) -> list[FileRecord]:
    """Records with many ties on every sort key, some without data time (nulls sort last)."""
    return [
        rec(
            f"{prefix}{i:02d}",
            file_size=i % 4,
            created=day(i % 7),
            data_started=day(i % 5) if i % 3 else None,
            **({"file_name": f"{'ab'[i % 2]}{i % 3}.tif"} if names else {}),
            **place,
        )
        for i in range(n)
    ]


@pytest.mark.parametrize(("place", "where"), PLACES)
async def test_sort_orders_with_missing_values_last(
    index: FileIndex, place: dict[str, Any], where: dict[str, Any]
) -> None:
    await load(
        index,
        rec("b", file_size=3, data_started=day(2), **place),
        rec("a", file_size=1, **place),
        rec("c", file_size=2, data_started=day(1), **place),
        rec("d", file_size=2, data_started=day(1), **place),
    )
    by = {}
    for sort in ("file_name", "-file_size", "data_started", "-data_started", "-file_name"):
        page = await index.search(Query.parse({"sort": sort, **where}))
        by[sort] = [r.id for r in page.records]
    assert by == {
        "file_name": ["a", "b", "c", "d"],
        "-file_size": ["b", "c", "d", "a"],
        "data_started": ["c", "d", "b", "a"],
        "-data_started": ["b", "c", "d", "a"],
        "-file_name": ["d", "c", "b", "a"],
    }


@pytest.mark.parametrize(("place", "where"), PLACES)
@pytest.mark.parametrize("sort", ["", "file_name", "-data_started", "file_size,-created"])
async def test_pagination_is_stable_while_writing(
    index: FileIndex, sort: str, place: dict[str, Any], where: dict[str, Any]
) -> None:
    originals = sortable("o", 23, place)
    await load(index, *originals)
    q = Query.parse({"sort": sort, "limit": 4, **where})
    seen: list[str] = []
    page = await index.search(q)
    writes = 0
    while True:
        seen.extend(r.id for r in page.records)
        if page.next_token is None:
            break
        writes += 1
        new = rec(f"new{writes}", created=day(writes % 9), file_size=writes % 4, **place)
        await load(index, new)
        page = await index.search(q.model_copy(update={"token": page.next_token}))
    assert len(seen) == len(set(seen)), "a record was returned twice"
    assert {r.id for r in originals} <= set(seen), "a record that existed all along was skipped"


@pytest.mark.parametrize(("place", "where"), PLACES)
@pytest.mark.parametrize("sort", ["", "file_name", "-data_started", "file_size,-created"])
async def test_pages_walk_every_match_once_in_order(
    index: FileIndex, sort: str, place: dict[str, Any], where: dict[str, Any]
) -> None:
    records = sortable("p", 17, place, names=True)
    await load(index, *records)
    q = Query.parse({"sort": sort, **where})
    whole = [r.id for r in (await index.search(q)).records]
    assert sorted(whole) == sorted(r.id for r in records)
    walked: list[str] = []
    page = await index.search(q.model_copy(update={"limit": 3}))
    while True:
        walked.extend(r.id for r in page.records)
        if page.next_token is None:
            break
        page = await index.search(q.model_copy(update={"limit": 3, "token": page.next_token}))
    assert walked == whole


@pytest.mark.parametrize(("place", "where"), PLACES)
@pytest.mark.parametrize("sort", ["", "file_name", "-data_started", "data_started,-file_size"])
async def test_previous_tokens_walk_back_through_the_same_pages(
    index: FileIndex, sort: str, place: dict[str, Any], where: dict[str, Any]
) -> None:
    # nulls sort last in either direction: a walk back crosses the nulls and ties the same way
    await load(index, *sortable("w", 17, place, names=True))
    q = Query.parse({"sort": sort, "limit": 3, **where})
    pages: list[list[str]] = []
    page = await index.search(q)
    assert page.prev_token is None  # the first page
    while True:
        pages.append([r.id for r in page.records])
        if page.next_token is None:
            break
        page = await index.search(q.model_copy(update={"token": page.next_token}))
        assert page.prev_token is not None
    assert len(pages) == 6 and len(pages[-1]) == 2
    back: list[list[str]] = [pages[-1]]
    while page.prev_token is not None:
        page = await index.search(q.model_copy(update={"token": page.prev_token}))
        assert page.total == 17 and page.next_token is not None
        back.append([r.id for r in page.records])
    assert back[::-1] == pages, (pages, back)
    # forward again from a page reached backwards; search_json pages the same way
    again = await index.search(q.model_copy(update={"token": page.next_token}))
    assert [r.id for r in again.records] == pages[1]
    raw = await index.search_json(q.model_copy(update={"token": again.prev_token}))
    assert [json.loads(d)["id"] for d in raw.docs] == pages[0] and raw.prev_token is None
    assert raw.next_token == page.next_token


async def test_a_previous_token_is_checked_like_a_next_one(index: FileIndex) -> None:
    await load(index, *sortable("t", 5, {}))
    page = await index.search(Query.parse({"limit": 2}))
    page = await index.search(Query.parse({"limit": 2, "token": page.next_token}))
    assert page.prev_token is not None
    with pytest.raises(InvalidInput) as err:
        Query.parse({"limit": 2, "media_types": ["x"], "token": page.prev_token})
    assert err.value.field == "token"


@pytest.mark.parametrize(("place", "where"), PLACES)
async def test_search_json_is_search_as_scale_json(
    index: FileIndex, place: dict[str, Any], where: dict[str, Any]
) -> None:
    await load(
        index,
        rec("j1", data_type_tags=["sar"], meta_data={"a": [1, 2.5]}, **place),
        rec("j2", job_type={"name": "wm", "version": "1"}, data_started=day(1), **place),
        rec("j3", checksum="sha256:" + "0" * 64, **place),
    )
    q = Query.parse({"limit": 2, "sort": "file_name", **where})
    raw, page = await index.search_json(q), await index.search(q)
    assert [json.loads(d) for d in raw.docs] == [r.to_scale() for r in page.records]
    assert (raw.total, raw.next_token) == (page.total, page.next_token) and raw.total == 3
    q2 = q.model_copy(update={"token": raw.next_token})
    raw2, page2 = await index.search_json(q2), await index.search(q2)
    assert [json.loads(d) for d in raw2.docs] == [r.to_scale() for r in page2.records]
    assert [json.loads(d)["id"] for d in raw2.docs] == ["j3"] and raw2.next_token is None


@pytest.mark.parametrize(("place", "where"), PLACES)
async def test_search_views_is_search_as_read_only_views(
    index: FileIndex, place: dict[str, Any], where: dict[str, Any]
) -> None:
    await load(
        index,
        rec("v1", data_type_tags=["sar"], meta_data={"a": [1, 2.5], "big": 2**70}, **place),
        rec("v2", job_type={"name": "wm", "version": "1", "revision": 3}, **place),
        rec("v3", data_started=day(1), data_ended=day(2), url="s3://b/v3", **place),
        rec("v4", workspace={"name": "raw", "id": 7}, countries=["FRA"], **place),
    )
    q = Query.parse({"limit": 3, "sort": "-file_name", **where})
    for _ in range(2):
        page, views = await index.search(q), await index.search_views(q)
        same_page(views, page)
        assert [v.to_scale() for v in views.records] == [r.to_scale() for r in page.records]
        assert [v.to_json().decode() for v in views.records] == [
            r.model_dump_json() for r in page.records
        ]
        assert views.total == 4
        if views.next_token is None:
            assert [v.id for v in views.records] == ["v1"]
            break
        assert [v.id for v in views.records] == ["v4", "v3", "v2"]
        q = q.model_copy(update={"token": views.next_token})
    else:
        raise AssertionError("the second page was never reached")


async def test_a_token_only_fits_its_own_query(index: FileIndex) -> None:
    await load(index, *(rec(f"t{i}") for i in range(3)))
    page = await index.search(Query(limit=1))
    assert page.next_token is not None
    with pytest.raises(InvalidInput) as err:
        Query.parse({"limit": 1, "media_types": ["x"], "token": page.next_token})
    assert err.value.field == "token"
    with pytest.raises(InvalidInput):
        Query.parse({"token": "bm90IGEgdG9rZW4"})


async def test_saved_searches_match_new_records(index: FileIndex) -> None:
    sub = Subscription(
        id="europe-optical",
        name="optical over Europe",
        query=Query.parse({"bbox": [-10, 35, 30, 60], "data_types_any": ["optical"]}),
    )
    other = Subscription(id="sar", name="any SAR", query=Query(data_types_any=["sar"]))
    await index.add_subscription(sub)
    await index.add_subscription(other)
    assert [s.id for s in await index.list_subscriptions()] == ["europe-optical", "sar"]
    paris = rec("paris", geometry=point(2.35, 48.85), data_type_tags=["optical"])
    tokyo = rec("tokyo", geometry=point(139.7, 35.7), data_type_tags=["optical", "sar"])
    assert [s.id for s in await index.match_subscriptions(paris)] == ["europe-optical"]
    assert [s.id for s in await index.match_subscriptions(tokyo)] == ["sar"]
    assert await index.remove_subscription("sar") is True
    assert await index.remove_subscription("sar") is False
    assert await index.match_subscriptions(tokyo) == []


# ----- hostile input -----


async def test_a_self_intersecting_polygon_is_repaired_and_found(index: FileIndex) -> None:
    bowtie = polygon([(0, 0), (10, 10), (10, 0), (0, 10), (0, 0)])
    rs = await load(index, rec("bowtie", geometry=bowtie))
    assert await found(index, rs, intersects=point(1, 5)) == {"bowtie"}
    assert await found(index, rs, intersects=point(5, 1)) == set()


async def test_an_unusable_geometry_is_reported_and_the_record_still_indexed(
    index: FileIndex,
) -> None:
    huge = polygon([(i * 1e-5, (i % 2) * 1e-5) for i in range(100_001)] + [(0, 0)])
    bad = [
        rec("huge", geometry=huge, data_type_tags=["h"]),
        rec("far", geometry=point(200, 0), data_type_tags=["h"]),
        rec(
            "nan",
            geometry={"type": "Point", "coordinates": [float("nan"), 0]},
            data_type_tags=["h"],
        ),
    ]
    results = await index.upsert(bad)
    assert [r.status for r in results] == ["written"] * 3
    assert all(r.geometry_error for r in results), results
    assert "100000 vertices" in (results[0].geometry_error or "")
    assert await found(index, bad, data_types_any=["h"]) == {"huge", "far", "nan"}
    assert await found(index, bad, bbox=[-180, -90, 180, 90]) == set()


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"bbox": [0, 0, 200, 10]}, "bbox"),
        ({"bbox": "0,0,nan,1"}, "bbox"),
        ({"bbox": [0, 10, 1, 0]}, "bbox"),
        ({"intersects": {"type": "Point", "coordinates": [0, 91]}}, "intersects"),
        (
            {"intersects": {"type": "Polygon", "coordinates": [[[0, 0], [1, float("nan")]]]}},
            "intersects",
        ),
        ({"media_types": ["a\x00b"]}, "media_types.0"),
        ({"file_name_contains": "\x00"}, "file_name_contains"),
        ({"intersects": {"type": "Circle", "coordinates": [0, 0]}}, "intersects"),
        ({"datetime": "2020-13-01T00:00:00Z/.."}, "datetime"),
        ({"datetime": "yesterday"}, "datetime"),
        ({"datetime": "2020-01-02T00:00:00Z/2020-01-01T00:00:00Z"}, "datetime"),
        ({"datetime": "../.."}, "datetime"),
        ({"limit": 10_001}, "limit"),
        ({"media_types": ["x"] * (MAX_LIST + 1)}, "media_types"),
        ({"meta": [{"property": "a'); DROP", "op": "==", "value": 1}]}, "meta.0.property"),
        ({"meta": [{"property": "a", "op": "<", "value": float("inf")}]}, "meta.0"),
        ({"sort": "-password"}, "sort"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_hostile_queries_are_refused_naming_the_field(query: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        Query.parse(query)
    assert err.value.field is not None
    assert err.value.field.startswith(field), err.value


async def test_ten_thousand_element_filters_work(index: FileIndex) -> None:
    rs = await load(index, rec("needle", data_type_tags=["t9999"], media_type="m/9999"))
    many = [f"t{i}" for i in range(MAX_LIST)]
    assert await found(index, rs, data_types_any=many) == {"needle"}
    assert await found(index, rs, data_types_all=many) == set()
    assert await found(index, rs, data_types_none=many) == set()
    assert await found(index, rs, media_types=[f"m/{i}" for i in range(MAX_LIST)]) == {"needle"}
    assert await found(index, rs, ids=[f"x{i}" for i in range(MAX_LIST - 1)] + ["needle"]) == {
        "needle"
    }


@pytest.mark.parametrize("text", METACHARACTERS)
async def test_metacharacters_in_every_string_parameter_are_plain_text(
    index: FileIndex, text: str
) -> None:
    weird = rec(
        "weird",
        file_name=f"x{text}.tif",
        media_type=text,
        data_type_tags=[text],
        countries=[text],
        source_sensor=text,
        job_output=text,
        job_type={"name": text, "version": "1"},
        workspace={"name": text},
        meta_data={"k": text, "arr": [text]},
        job=text,
        recipe=text,
        recipe_node=text,
        batch=text,
        ancestors=[text],
    )
    plain = rec("plain", meta_data={"k": "plain"})
    rs = await load(index, weird, plain)
    for name in (
        "media_types", "data_types_any", "data_types_all", "countries", "source_sensor",
        "job_outputs", "job_types", "workspaces", "ids", "source_task", "jobs", "recipes",
        "recipe_nodes", "batches", "derived_from",
    ):  # fmt: skip
        expected = set() if name in ("ids", "source_task") else {"weird"}
        assert await found(index, rs, **{name: [text]}) == expected, name
    assert await found(index, rs, data_types_none=[text]) == {"plain"}
    assert await found(index, rs, file_name_contains=text) == {"weird"}
    for op, value in (("==", text), ("contains", text), ("in", [text])):
        assert await found(index, rs, meta=[{"property": "k", "op": op, "value": value}]) == {
            "weird"
        }
    assert await found(index, rs, meta=[{"property": "arr", "op": "contains", "value": text}]) == {
        "weird"
    }


async def test_a_query_geometry_with_thousands_of_parts_works(index: FileIndex) -> None:
    rs = await load(
        index, rec("in", geometry=point(10.5, 10.5)), rec("gap", geometry=point(10.5, 11.5))
    )
    squares = [
        [[[x, y], [x + 1, y], [x + 1, y + 1], [x, y + 1], [x, y]]]
        for x in range(0, 100)
        for y in range(0, 50, 2)
    ]
    many = {"type": "MultiPolygon", "coordinates": squares}
    assert await found(index, rs, intersects=many) == {"in"}


async def test_non_finite_meta_values_are_stored_and_never_match(index: FileIndex) -> None:
    odd = rec("odd", meta_data={"x": float("nan"), "y": float("inf"), "z": 1})
    rs = await load(index, odd)
    assert await found(index, rs, meta=[{"property": "x", "op": ">", "value": 0}]) == set()
    assert await found(index, rs, meta=[{"property": "z", "op": "==", "value": 1}]) == {"odd"}


async def test_exclusions_exact_names_prefixes_and_suffixes(index: FileIndex) -> None:
    rs = await load(
        index,
        rec("a", file_name="Scene_A.TIF", media_type="image/tiff", job="j1"),
        rec("b", file_name="scene_b.png", media_type="image/png", job="j2"),
        rec("c", file_name="notes.txt", media_type="text/plain"),
    )
    assert await found(index, rs, not_in={"media_types": ["image/png"]}) == {"a", "c"}
    assert await found(index, rs, not_in={"jobs": ["j1"]}) == {"b", "c"}  # no job is kept
    assert await found(index, rs, not_in={"ids": ["a", "b"]}) == {"c"}
    assert await found(index, rs, file_names=["notes.txt", "scene_b.PNG"]) == {"c"}
    assert await found(index, rs, file_name_starts="SCENE_") == {"a", "b"}
    assert await found(index, rs, file_name_ends=".tif") == {"a"}
    assert await found(index, rs, file_name_starts="%", file_name_ends="_") == set()


async def test_data_or_created_time_falls_back_to_created_without_data_time(
    index: FileIndex,
) -> None:
    rs = await load(
        index,
        rec("data", data_started=day(10), data_ended=day(12), created=day(50)),
        rec("bare", created=day(11)),
        rec("late", created=day(40)),
    )
    window = {"start": day(11), "end": day(11.5)}
    assert await found(index, rs, datetime=window, time_field="data_or_created") == {
        "data",
        "bare",
    }
    late = {"start": day(39), "end": day(41)}
    assert await found(index, rs, datetime=late, time_field="data_or_created") == {"late"}
    assert await found(index, rs, datetime=late, time_field="data") == set()


async def test_a_workspace_summary_counts_its_current_records_their_extent_and_kinds(
    index: FileIndex,
) -> None:
    await load(
        index,
        rec("a", geometry=square(0, 0, 2, 1), data_started=day(1), data_type_tags=["x"]),
        rec("b", center_point=point(5, 5), created=day(9), media_type="image/png"),
        rec("gone", is_superseded=True, created=day(99), data_type_tags=["old"]),
        rec("other", workspace={"name": "products"}, created=day(-5)),
    )
    s = await index.summarize("raw")
    assert s.count == 2
    assert s.bbox == pytest.approx((0, 0, 5, 5), abs=1e-4)
    assert (s.start, s.end) == (day(1), day(9))
    assert s.media_types == ["application/octet-stream", "image/png"]
    assert s.file_types == ["SOURCE"]
    assert s.data_types == ["x"]
    assert (await index.summarize("nowhere")).count == 0


async def test_time_bounds_compare_one_time_field_and_never_match_a_missing_time(
    index: FileIndex,
) -> None:
    rs = await load(
        index,
        rec("early", data_started=day(1), data_ended=day(3), created=day(10)),
        rec("late", data_started=day(5), data_ended=day(9), created=day(20)),
        rec("open", data_started=day(2), created=day(30)),
    )

    def bound(name: str, op: str, n: float) -> dict[str, Any]:
        return {"field": name, "op": op, "value": day(n)}

    assert await found(index, rs, bounds=[bound("data_started", ">=", 2)]) == {"late", "open"}
    assert await found(index, rs, bounds=[bound("data_ended", "<=", 8)]) == {"early"}
    both = [bound("data_started", ">=", 1), bound("created", "<=", 20)]
    assert await found(index, rs, bounds=both) == {"early", "late"}
    assert await found(index, rs, bounds=[bound("last_modified", ">=", 0)]) == {
        "early",
        "late",
        "open",
    }


async def test_groups_of_alternatives_and_missing_meta_data(index: FileIndex) -> None:
    rs = await load(
        index,
        rec("low", meta_data={"cloud": 5}, media_type="image/png"),
        rec("high", meta_data={"cloud": 80}, job="j"),
        rec("none", meta_data={"cloud": None}),
        rec("bare"),
    )
    low = {"meta": [{"property": "cloud", "op": "<", "value": 10}]}
    high = {"meta": [{"property": "cloud", "op": ">", "value": 50}]}
    assert await found(index, rs, any_of=[[low, high]]) == {"low", "high"}
    assert await found(index, rs, meta_missing=["cloud"]) == {"none", "bare"}
    missing = {"meta_missing": ["cloud"]}
    assert await found(index, rs, any_of=[[low, missing]]) == {"low", "none", "bare"}
    png, job = {"media_types": ["image/png"]}, {"jobs": ["j"]}
    assert await found(index, rs, any_of=[[png, job], [high, missing]]) == {"high"}
    with pytest.raises(InvalidInput):
        Query.parse({"any_of": [[{"bbox": [0, 0, 1, 1]}]]})


async def test_sorting_by_data_or_created_orders_a_record_without_data_time_by_created(
    index: FileIndex,
) -> None:
    await load(
        index,
        rec("d1", data_started=day(1), created=day(50)),
        rec("c5", created=day(5)),
        rec("d9", data_started=day(9), created=day(0)),
    )
    for desc, expected in ((False, ["d1", "c5", "d9"]), (True, ["d9", "c5", "d1"])):
        q = Query.parse({"sort": [{"field": "data_or_created", "desc": desc}], "limit": 1})
        seen: list[str] = []
        while True:
            page = await index.search(q)
            seen += [r.id for r in page.records]
            if page.next_token is None:
                break
            q = q.model_copy(update={"token": page.next_token})
        assert seen == expected
