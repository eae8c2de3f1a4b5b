"""File records as STAC Items, Collections and GeoJSON features."""

from __future__ import annotations

from datetime import UTC, datetime

from indexer.backends.base import CollectionSummary
from indexer.stac.items import to_collection, to_feature, to_item
from seedpipe.records import FileRecord, WorkspaceRef


def rec(**kw: object) -> FileRecord:
    return FileRecord.model_validate(
        {
            "id": "f1",
            "file_name": "a.tif",
            "workspace": WorkspaceRef(name="raw"),
            "file_path": "a.tif",
            **kw,
        }
    )


def test_an_instant_is_one_datetime_and_an_interval_is_start_and_end() -> None:
    when = datetime(2020, 5, 1, tzinfo=UTC)
    instant = to_item(rec(data_started=when), "http://h/")["properties"]
    assert instant["datetime"] == "2020-05-01T00:00:00Z" and "start_datetime" not in instant
    later = datetime(2020, 5, 2, tzinfo=UTC)
    span = to_item(rec(data_started=when, data_ended=later), "http://h")["properties"]
    assert span["datetime"] == span["start_datetime"]
    assert (span["start_datetime"], span["end_datetime"]) == (
        "2020-05-01T00:00:00Z",
        "2020-05-02T00:00:00Z",
    )


def test_an_item_without_time_or_place_uses_created_and_has_no_bbox() -> None:
    created = datetime(2022, 1, 1, tzinfo=UTC)
    item = to_item(rec(created=created), "http://h")
    assert item["properties"]["datetime"] == "2022-01-01T00:00:00Z"
    assert item["geometry"] is None and "bbox" not in item
    assert item["assets"]["data"]["href"] == "http://h/files/f1/content"


def test_an_item_carries_its_geometry_bbox_collection_and_asset() -> None:
    shape = {"type": "Polygon", "coordinates": [[[0, 0], [2, 0], [2, 1], [0, 1], [0, 0]]]}
    item = to_item(rec(geometry=shape, url="s3://b/a.tif", media_type="image/tiff"), "http://h")
    assert item["bbox"] == [0.0, 0.0, 2.0, 1.0] and item["collection"] == "raw"
    assert item["assets"]["data"] == {
        "href": "http://h/files/f1/content",
        "type": "image/tiff",
        "title": "a.tif",
        "roles": ["data"],
        "file:size": 0,
    }
    assert {link["rel"] for link in item["links"]} >= {"self", "collection", "root", "parent"}


def test_a_collection_links_to_its_items_and_a_feature_carries_the_whole_record() -> None:
    coll = to_collection("raw", "http://h", CollectionSummary())
    assert any(link["href"] == "http://h/collections/raw/items" for link in coll["links"])
    feature = to_feature(rec(center_point={"type": "Point", "coordinates": [1, 2]}))
    assert feature["geometry"] == {"type": "Point", "coordinates": [1, 2]}
    assert feature["properties"]["file_name"] == "a.tif"


def test_stac_times_are_the_iso_text_of_any_datetime_utc_ones_written_in_c() -> None:
    import random
    from datetime import timedelta, timezone

    from indexer.stac.items import _iso

    rng = random.Random(3)
    zones = [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(seconds=30)), None]
    for _ in range(2000):
        t = datetime(1, 1, 1, tzinfo=UTC) + timedelta(
            seconds=rng.randrange(315_537_897_599), microseconds=rng.choice([0, 1, 999_999, 5000])
        )
        zone = rng.choice(zones)
        value = t.replace(tzinfo=None) if zone is None else t.astimezone(zone)
        assert _iso(value) == value.isoformat().replace("+00:00", "Z"), value
    assert _iso(None) is None
