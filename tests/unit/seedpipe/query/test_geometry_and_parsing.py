"""Geometry hygiene and the query parsing helpers."""

from __future__ import annotations

import math
from typing import Any

import pytest
import shapely

from seedpipe.errors import InvalidInput
from seedpipe.query.geometry import (
    MAX_VERTICES,
    clean_geometry,
    clean_many,
    clean_records,
    exact_boxes,
    query_shape,
)
from seedpipe.query.model import (
    MetaFilter,
    Query,
    parse_bbox,
    parse_datetime_interval,
    parse_sort,
)


def ring(*points: tuple[float, float]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[list(p) for p in points]]}


def test_a_clockwise_ring_is_turned_counterclockwise() -> None:
    cw = ring((0, 0), (0, 1), (1, 1), (1, 0), (0, 0))
    clean = clean_geometry(cw)
    assert shapely.is_ccw(clean.shape.exterior)
    assert clean.is_box and clean.boxes == [(0.0, 0.0, 1.0, 1.0)]


def test_an_unclosed_ring_is_closed() -> None:
    clean = clean_geometry(ring((0, 0), (1, 0), (1, 1), (0, 1)))
    assert clean.shape.area == 1


def test_a_bowtie_is_made_valid_as_two_triangles() -> None:
    clean = clean_geometry(ring((0, 0), (1, 1), (1, 0), (0, 1), (0, 0)))
    assert clean.shape.is_valid and clean.geojson["type"] == "MultiPolygon"
    assert not clean.is_box


def test_a_polygon_across_the_antimeridian_is_split_in_two() -> None:
    clean = clean_geometry(ring((170, -5), (-170, -5), (-170, 5), (170, 5), (170, -5)))
    assert clean.geojson["type"] == "MultiPolygon"
    assert sorted(clean.boxes) == [(-180.0, -5.0, -170.0, 5.0), (170.0, -5.0, 180.0, 5.0)]
    assert clean.center["coordinates"] in ([180.0, 0.0], [-180.0, 0.0])


def test_a_counter_clockwise_polygon_wider_than_180_degrees_means_what_it_says() -> None:
    clean = clean_geometry(ring((-170, -5), (170, -5), (170, 5), (-170, 5), (-170, -5)))
    assert clean.geojson["type"] == "Polygon"
    assert clean.boxes == [(-170.0, -5.0, 170.0, 5.0)] and clean.shape.area == 3400
    assert clean.center["coordinates"] == [0.0, 0.0]


def test_the_same_polygon_clockwise_crosses_the_antimeridian() -> None:
    clean = clean_geometry(ring((-170, -5), (-170, 5), (170, 5), (170, -5), (-170, -5)))
    assert clean.geojson["type"] == "MultiPolygon" and clean.shape.area == 200
    assert sorted(clean.boxes) == [(-180.0, -5.0, -170.0, 5.0), (170.0, -5.0, 180.0, 5.0)]


def test_each_polygon_of_a_multipolygon_is_decided_on_its_own() -> None:
    wide = [[[-170, 20], [170, 20], [170, 30], [-170, 30], [-170, 20]]]
    crossing = [[[170, -5], [-170, -5], [-170, 5], [170, 5], [170, -5]]]
    clean = clean_geometry({"type": "MultiPolygon", "coordinates": [wide, crossing]})
    assert math.isclose(clean.shape.area, 3400 + 200)
    assert clean.shape.contains(shapely.Point(0, 25))
    assert clean.shape.contains(shapely.Point(179, 0)) and not clean.shape.contains(
        shapely.Point(0, 0)
    )


def test_a_polar_cap_along_the_antimeridian_is_not_split() -> None:
    clean = clean_geometry(ring((-180, 80), (180, 80), (180, 90), (-180, 90), (-180, 80)))
    assert clean.geojson["type"] == "Polygon" and clean.shape.area == 3600


@pytest.mark.parametrize(
    ("geometry", "reason"),
    [
        ({"type": "Point", "coordinates": [181, 0]}, "longitude"),
        ({"type": "Point", "coordinates": [0, -90.5]}, "latitude"),
        ({"type": "Point", "coordinates": [float("nan"), 0]}, "finite"),
        ({"type": "Point", "coordinates": [True, 0]}, "not a number"),
        ({"type": "Point", "coordinates": ["1", 0]}, "not a number"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [0, 0]]]}, "4 positions"),
        ({"type": "Polygon", "coordinates": [[0, 0]]}, "position"),
        ({"type": "Sphere"}, "unknown geometry type"),
        ("POINT (1 2)", "GeoJSON geometry object"),
        (
            {"type": "MultiPoint", "coordinates": [[0, 0]] * (MAX_VERTICES + 1)},
            "vertices",
        ),
        (
            {
                "type": "GeometryCollection",
                "geometries": [{"type": "GeometryCollection", "geometries": []}],
            },
            "flat list",
        ),
    ],
)
def test_unusable_geometries_are_refused_with_a_reason(geometry: Any, reason: str) -> None:
    with pytest.raises(InvalidInput) as err:
        clean_geometry(geometry, field="geometry")
    assert reason in str(err.value) and err.value.field and err.value.field.startswith("geometry")


def test_the_batch_fast_path_agrees_with_the_one_by_one_path() -> None:
    objs = [
        {"type": "Point", "coordinates": [1, 2]},
        ring((0, 0), (2, 0), (2, 1), (0, 1), (0, 0)),
        ring((0, 0), (2, 0.5), (2, 1), (0, 1), (0, 0)),
        ring((0, 0), (0, 1), (1, 1), (1, 0), (0, 0)),
        ring((170, 0), (-170, 0), (-170, 5), (170, 5), (170, 0)),
        {"type": "Point", "coordinates": [500, 0]},
        None,
    ]
    batch = clean_many(objs)
    for obj, got in zip(objs, batch, strict=True):
        try:
            want = clean_geometry(obj)
        except InvalidInput as exc:
            assert isinstance(got, InvalidInput) and str(got) == str(exc)
            continue
        assert not isinstance(got, InvalidInput)
        assert got.shape.equals(want.shape) and got.is_box == want.is_box
        assert got.boxes == want.boxes


def test_a_record_with_a_bad_geometry_and_a_bad_center_reports_both() -> None:
    from seedpipe.records import FileRecord

    base = {"file_name": "a", "workspace": {"name": "w"}, "file_path": "a"}
    both = FileRecord(
        **base,
        geometry={"type": "Point", "coordinates": [0, 99]},
        center_point={"type": "Point", "coordinates": [200, 0]},
    )
    fine = FileRecord(**base, geometry={"type": "Point", "coordinates": [1, 2]})
    bad, good = clean_records([both, fine])
    assert bad.clean is None and bad.center is None
    assert bad.error is not None and "latitude" in bad.error and "longitude" in bad.error
    assert good.error is None and good.center == {"type": "Point", "coordinates": [1.0, 2.0]}


def test_exact_boxes_only_for_rectangles_and_points() -> None:
    assert exact_boxes(shapely.box(0, 0, 1, 2)) == [(0.0, 0.0, 1.0, 2.0)]
    assert exact_boxes(shapely.Point(3, 4)) == [(3.0, 4.0, 3.0, 4.0)]
    assert exact_boxes(shapely.Polygon([(0, 0), (1, 0), (0, 1)])) is None


def test_parse_bbox_and_the_antimeridian_case() -> None:
    assert parse_bbox("170, -10, -170, 10") == (170.0, -10.0, -170.0, 10.0)
    q = Query(bbox=(170, -10, -170, 10))
    assert q.boxes() == [(170.0, -10.0, 180.0, 10.0), (-180.0, -10.0, -170.0, 10.0)]
    for bad in ("1,2,3", "a,b,c,d", "0,0,1,inf", "-181,0,0,1"):
        with pytest.raises(InvalidInput) as err:
            parse_bbox(bad)
        assert err.value.field == "bbox"


def test_parse_datetime_interval_with_open_ends_and_instants() -> None:
    iv = parse_datetime_interval("2019-10-14T00:00:00Z/..")
    assert iv.start is not None and iv.start.year == 2019 and iv.end is None
    iv = parse_datetime_interval("../2019-10-14T05:00:00+05:00")
    assert iv.start is None and iv.end is not None and iv.end.utcoffset() is not None
    iv = parse_datetime_interval("2019-10-14")
    assert iv.start == iv.end
    for bad in ("", "2019-10-14/2019-10-13", "a/b/c", "../..", "tomorrow"):
        with pytest.raises(InvalidInput) as err:
            parse_datetime_interval(bad)
        assert err.value.field == "datetime"


def test_parse_sort() -> None:
    keys = parse_sort("-created,+file_name")
    assert [(k.field, k.desc) for k in keys] == [("created", True), ("file_name", False)]
    with pytest.raises(InvalidInput) as err:
        parse_sort("meta_data")
    assert err.value.field == "sort"


@pytest.mark.parametrize(
    "spec",
    [
        {"property": "x", "op": "between", "value": [1]},
        {"property": "x", "op": "between", "value": [1, "a"]},
        {"property": "x", "op": "in", "value": 3},
        {"property": "x", "op": "==", "value": {"a": 1}},
        {"property": "x..y", "op": "==", "value": 1},
        {"property": "x", "op": "~", "value": 1},
    ],
)
def test_meta_filters_refuse_values_that_do_not_fit_their_operator(spec: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        MetaFilter.model_validate(spec)


def test_a_forged_or_foreign_token_is_refused() -> None:
    q = Query(limit=2)
    token = q.make_token([1], "id")
    assert Query(limit=5, token=token).decode_token() == ([1], "id")  # limit may change
    for bad in ("!!!", "e30", token[:-3]):
        with pytest.raises(InvalidInput) as err:
            Query.parse({"limit": 2, "token": bad})
        assert err.value.field == "token"


def test_a_copied_query_with_another_place_filters_by_the_new_place() -> None:
    q = Query(bbox=(0, 0, 1, 1))
    assert q.geometry() is not None and q.boxes() == [(0.0, 0.0, 1.0, 1.0)]
    moved = q.model_copy(update={"bbox": (10, 10, 11, 11)})
    assert moved.boxes() == [(10.0, 10.0, 11.0, 11.0)]
    assert Query().model_copy(update={"bbox": (2, 2, 3, 3)}).geometry() is not None
    assert q.model_copy(update={"limit": 3}).boxes() == q.boxes()


@pytest.mark.parametrize(
    "point", [[10.1, 20.2], [180, -90, 5], [-180, 90], [0, 0]], ids=["plain", "3d", "corner", "0"]
)
def test_a_query_point_has_the_shape_clean_geometry_gives_it(point: list[float]) -> None:
    geo = {"type": "Point", "coordinates": point}
    assert query_shape(geo).wkb == clean_geometry(geo).shape.wkb


@pytest.mark.parametrize(
    "bad",
    [[181, 0], [math.nan, 0], [True, 0], [1], None, [0, -91]],
    ids=["lon", "nan", "bool", "short", "none", "lat"],
)
def test_a_bad_query_point_is_refused_as_clean_geometry_refuses_it(bad: Any) -> None:
    geo = {"type": "Point", "coordinates": bad}
    with pytest.raises(InvalidInput) as ours:
        query_shape(geo, field="intersects")
    with pytest.raises(InvalidInput) as theirs:
        clean_geometry(geo, field="intersects")
    assert str(ours.value) == str(theirs.value)
