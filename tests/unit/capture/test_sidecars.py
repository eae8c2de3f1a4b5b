"""Metadata sidecars: Feature or bare geometry, validated, mapped onto file records."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from capture.contract.sidecars import MAX_SIDECAR_BYTES, input_update, parse_sidecar, read_sidecar
from seedpipe.errors import InvalidInput
from seedpipe.records import FileRecord, WorkspaceRef

POLYGON = {"type": "Polygon", "coordinates": [[[100, 0], [102, 0], [102, 2], [100, 2], [100, 0]]]}


def test_a_feature_sets_geometry_center_times_and_source_fields() -> None:
    side = parse_sidecar(
        {
            "type": "Feature",
            "geometry": POLYGON,
            "properties": {
                "dataStarted": "2019-10-14T00:00:00Z",
                "dataEnded": "2019-10-14T00:01:00Z",
                "sourceStarted": "2019-10-13T00:00:00Z",
                "sourceEnded": "2019-10-13T01:00:00Z",
                "sourceSensorClass": "EO",
                "sourceSensor": "cam-1",
                "sourceCollection": "c",
                "sourceTask": "t",
                "cloudCover": 0.2,
            },
        },
        "x.png.metadata.json",
    )
    assert side.fields["geometry"] == POLYGON
    assert side.fields["center_point"] == {"type": "Point", "coordinates": [101.0, 1.0]}
    assert side.fields["data_started"] == datetime(2019, 10, 14, tzinfo=UTC)
    assert side.fields["source_ended"] == datetime(2019, 10, 13, 1, tzinfo=UTC)
    assert side.fields["source_sensor_class"] == "EO"
    assert side.properties["cloudCover"] == 0.2


def test_a_bare_geometry_is_accepted() -> None:
    side = parse_sidecar({"type": "Point", "coordinates": [125.6, 10.1]}, "s")
    assert side.fields["center_point"]["coordinates"] == [125.6, 10.1]
    assert side.properties == {}


def test_a_feature_collection_is_an_error_naming_the_file() -> None:
    with pytest.raises(InvalidInput, match=r"out\.tif\.metadata\.json.*FeatureCollection"):
        parse_sidecar({"type": "FeatureCollection", "features": []}, "out.tif.metadata.json")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"type": "Feature", "geometry": {"type": "Point", "coordinates": [500, 0]}}, "geometry"),
        ({"type": "Feature", "geometry": {"type": "Point", "coordinates": "x"}}, "geometry"),
        ({"type": "Feature", "geometry": {"type": "Blob"}}, "geometry"),
        ({"type": "Feature", "properties": {"dataStarted": "yesterday"}}, "dataStarted"),
        ({"type": "Feature", "properties": {"dataEnded": 5}}, "dataEnded"),
        ({"type": "Feature", "properties": {"dataTypes": "png"}}, "dataTypes"),
        ({"type": "Feature", "properties": {"sourceSensor": 1}}, "sourceSensor"),
        ({"type": "Feature", "properties": []}, "properties"),
        ({"type": "Nonsense"}, "type"),
        ([1, 2], "s.metadata.json"),
    ],
)
def test_invalid_sidecars_name_the_file_and_field(data: object, field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_sidecar(data, "s.metadata.json")
    assert "s.metadata.json" in str(info.value)
    assert field in str(info.value)


def test_data_ended_before_data_started_is_refused() -> None:
    props = {"dataStarted": "2020-01-02T00:00:00Z", "dataEnded": "2020-01-01T00:00:00Z"}
    with pytest.raises(InvalidInput, match="before"):
        parse_sidecar({"type": "Feature", "properties": props}, "s")


def test_garbage_bytes_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "g.metadata.json"
    path.write_bytes(b"\xff\xfe\x00garbage{{{")
    with pytest.raises(InvalidInput, match=r"g\.metadata\.json.*not valid JSON"):
        read_sidecar(path)


def test_a_sidecar_over_16_mib_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "huge.metadata.json"
    with path.open("wb") as fh:
        fh.truncate(MAX_SIDECAR_BYTES + 1)
    with pytest.raises(InvalidInput, match="limit"):
        read_sidecar(path)


def test_an_input_update_adds_data_types_and_keeps_existing_ones() -> None:
    record = FileRecord(
        file_name="a.png",
        workspace=WorkspaceRef(name="w"),
        file_path="a.png",
        data_type_tags=["image"],
        meta_data={"k": 1},
    )
    side = parse_sidecar(
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [1, 2]},
            "properties": {"dataTypes": ["one", "image"], "dataStarted": "2019-10-14T00:00:00Z"},
        },
        "INPUT.metadata.json",
    )
    updated, change = input_update(record, side)
    assert updated.data_type_tags == ["image", "one"]
    assert updated.version == record.version + 1
    assert updated.meta_data["k"] == 1
    assert updated.geometry == {"type": "Point", "coordinates": [1, 2]}
    assert change["data_types"] == ["one", "image"]
    assert change["data_started"] == "2019-10-14T00:00:00Z"
    json.dumps(change)


@pytest.mark.parametrize(
    ("text", "where", "token"),
    [
        ('{"type": "Feature", "geometry": null, "properties": {"cloud": NaN}}', "cloud", "NaN"),
        (
            '{"type": "Feature", "geometry": null, "properties": {"a": 1, "big": Infinity}}',
            "big",
            "Infinity",
        ),
        (
            '{"type": "Feature", "geometry": null, "properties": {"x": {"l": [1, -Infinity]}}}',
            "x.l[1]",
            "-Infinity",
        ),
        ('{"type": "Feature", "geometry": null, "properties": {"huge": 1e400}}', "huge", "1e400"),
    ],
)
def test_nan_and_infinity_in_sidecar_properties_are_refused_naming_the_property(
    tmp_path: Path, text: str, where: str, token: str
) -> None:
    path = tmp_path / "x.png.metadata.json"
    path.write_text(text)
    with pytest.raises(InvalidInput) as err:
        read_sidecar(path)
    assert err.value.field == f"x.png.metadata.json: properties.{where}"
    assert token in str(err.value)


def test_an_event_carrying_nan_is_refused_naming_its_path() -> None:
    from seedpipe.events import CloudEvent

    raw = b'{"specversion": "1.0", "id": "1", "source": "s", "type": "t", "data": {"v": NaN}}'
    with pytest.raises(InvalidInput) as err:
        CloudEvent.from_bytes(raw)
    assert err.value.field == "data.v"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[" * 100_000 + "]" * 100_000, "not valid JSON"),
        ('{"type": "Feature", "geometry": {"type": "Point", "coordinates": [1e400, 0]}}', "finite"),
        ('{"type": "FeatureCollection", "features": []}', "FeatureCollection"),
        ('"just a string"', "GeoJSON Feature"),
        ('{"type": "Feature", "properties": []}', "must be an object"),
        ('{"type": "Feature", "geometry": {"type": "Point", "coordinates": [200, 0]}}', "WGS84"),
        (
            '{"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[0, 0]]]}}',
            "valid",
        ),
        ('{"type": "Feature", "properties": {"dataStarted": "yesterday"}}', "ISO 8601"),
        ('{"type": "Feature", "properties": {"dataTypes": "png"}}', "array of strings"),
        (b"\xff\xfe{}", "not valid JSON"),
    ],
)
def test_hostile_sidecars_are_refused_with_a_reason(
    tmp_path: Path, text: str | bytes, reason: str
) -> None:
    path = tmp_path / "x.png.metadata.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(InvalidInput, match=reason) as err:
        read_sidecar(path)
    assert (err.value.field or "").startswith("x.png.metadata.json")
