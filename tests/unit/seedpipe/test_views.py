"""FileView: the record's fields, types and JSON, decoded by msgspec; checked against FileRecord."""

from __future__ import annotations

import gc
import json
import random
import typing
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import msgspec
import pytest
from pydantic import ValidationError

from indexer.backends.sqlite.docs import compact, decode_views
from seedpipe.records import FileRecord, JobTypeRef, WorkspaceRef
from seedpipe.views import FileView, JobTypeView, WorkspaceView, decode_view, view_of

PAIRS = [(FileRecord, FileView), (WorkspaceRef, WorkspaceView), (JobTypeRef, JobTypeView)]
PLACE_TEXT = {"geometry_json", "center_point_json"}
T0 = datetime(2021, 3, 4, 5, 6, 7, tzinfo=UTC)


@pytest.mark.parametrize(("model", "view"), PAIRS, ids=lambda c: c.__name__)
def test_a_view_has_the_models_fields_in_order_with_the_same_types(
    model: type[Any], view: type[msgspec.Struct]
) -> None:
    assert view.__struct_encode_fields__ == tuple(model.model_fields)
    hints = typing.get_type_hints(view)
    refs = {WorkspaceRef: WorkspaceView, JobTypeRef: JobTypeView}
    for field, (name, info) in zip(msgspec.structs.fields(view), model.model_fields.items()):
        want = info.annotation
        for ref, ref_view in refs.items():  # nested models are nested views
            want = ref_view if want is ref else (ref_view | None if want == ref | None else want)
        if field.name in PLACE_TEXT:  # kept as JSON text, read through a property of the name
            assert field.name == f"{name}_json" and hints[field.name] is msgspec.Raw, name
            read = getattr(view, name)
            assert isinstance(read, property), name
            assert typing.get_type_hints(read.fget)["return"] == want, name
        else:
            assert field.name == name and hints[name] == want, name


@pytest.mark.parametrize(("model", "view"), PAIRS, ids=lambda c: c.__name__)
def test_a_views_defaults_are_the_models(model: type[Any], view: type[msgspec.Struct]) -> None:
    made_up = {"id", "created", "last_modified"}  # every stored record has them
    for field in msgspec.structs.fields(view):
        name = field.encode_name
        info = model.model_fields[name]
        if info.is_required() or (model is FileRecord and name in made_up):
            assert field.required, name
        elif info.default_factory is not None:
            assert field.default_factory() == info.default_factory(), name
        elif field.name in PLACE_TEXT:
            assert msgspec.json.decode(field.default) == info.default, name
        else:
            assert field.default == info.default, name


def _some(rng: random.Random) -> FileRecord:
    """A record with a random choice of every field's kinds of value."""

    def maybe(value: Any) -> Any:
        return value if rng.random() < 0.5 else None

    def when() -> datetime:
        t = T0 + timedelta(seconds=rng.randrange(10**9), microseconds=rng.choice([0, 1, 999_999]))
        zone = rng.choice([UTC, timezone(timedelta(hours=5, minutes=30)), None])
        return t.astimezone(zone).replace(tzinfo=None) if zone is None else t.astimezone(zone)

    def xy() -> list[float]:
        return [rng.uniform(-180, 180), rng.uniform(-90, 90)]

    ring = [xy() for _ in range(rng.randrange(3, 9))]
    geometry = rng.choice(
        [
            None,
            {"type": "Point", "coordinates": xy()},
            {"type": "Polygon", "coordinates": [[*ring, ring[0]]]},
            {"type": "MultiPoint", "coordinates": [xy(), xy()]},
        ]
    )
    meta = rng.choice(
        [
            {},
            {"cloud": rng.random(), "n": rng.randrange(-(2**70), 2**70), "ok": True, "x": None},
            {"nested": {"list": [1, "two", [3.5, {"four": "日本語 ✓"}]]}, "e": 1e-300, "z": -0.0},
            {'"quoted"\n': "\\\u2028\x00", "url": "http://x/y"},
        ]
    )
    job_type = rng.choice(
        [None, {"name": "wm", "version": "1.0"}, {"name": "wm", "version": "2", "revision": 4}]
    )
    return FileRecord(
        file_name=rng.choice(["a.tif", "日本語.h5", 'q"uote.txt']),
        workspace={"name": "raw", "id": rng.choice([None, 7, "s3-1"])},
        file_path="in/a.tif",
        url=maybe("s3://bucket/in/a.tif"),
        media_type=rng.choice(["image/tiff", "application/octet-stream"]),
        file_type=rng.choice(["SOURCE", "PRODUCT"]),
        file_size=rng.randrange(2**53),
        checksum=maybe("sha256:" + "ab" * 32),
        data_type_tags=rng.sample(["sar", "eo", "ais", "elevation"], rng.randrange(4)),
        is_deleted=rng.random() < 0.2,
        deleted=maybe(when()),
        created=when(),
        last_modified=when(),
        data_started=maybe(when()),
        data_ended=maybe(when()),
        source_started=maybe(when()),
        source_ended=maybe(when()),
        source_sensor_class=maybe("sar"),
        source_sensor=maybe("s1a"),
        source_collection=maybe("c"),
        source_task=maybe("t"),
        geometry=geometry,
        center_point=maybe({"type": "Point", "coordinates": xy()}),
        countries=rng.sample(["FRA", "DEU", "USA"], rng.randrange(3)),
        job_type=job_type,
        job=maybe("j1"),
        job_exe=maybe("e1"),
        job_output=maybe("out"),
        recipe_type=maybe("rt"),
        recipe=maybe("r1"),
        recipe_node=maybe("n1"),
        batch=maybe("b1"),
        is_superseded=rng.random() < 0.2,
        superseded=maybe(when()),
        ancestors=rng.sample(["a1", "a2", "a3"], rng.randrange(3)),
        meta_data=meta,
        version=rng.randrange(1, 10),
    )


RECORDS = [_some(random.Random(seed)) for seed in range(400)]


@pytest.mark.parametrize("part", range(4))
def test_a_view_reads_and_writes_the_records_json_exactly(part: int) -> None:
    for record in RECORDS[part::4]:
        _same(record)


def _same(record: FileRecord) -> None:
    text = record.model_dump_json()
    view, read = decode_view(text), FileRecord.model_validate_json(text)
    assert view.to_json().decode() == text
    assert view.to_scale() == read.to_scale()
    assert json.dumps(view.to_scale()) == json.dumps(read.to_scale())  # key order too
    assert view.to_record() == read
    assert view == FileView.from_record(record)
    for name in FileRecord.model_fields:  # the attributes STAC and the CLI read
        got, want = getattr(view, name), getattr(read, name)
        if name in ("workspace", "job_type") and want is not None:
            assert msgspec.structs.asdict(got) == want.__dict__, name
        else:
            assert got == want and type(got) is type(want), name


def test_a_views_place_is_its_text_until_read() -> None:
    for record in RECORDS[:100]:
        view = decode_view(record.model_dump_json())
        for name in ("geometry", "center_point"):
            text = getattr(view, f"{name}_json")
            assert isinstance(text, msgspec.Raw)
            assert bytes(text).decode() == json.dumps(getattr(record, name), separators=(",", ":"))
            assert getattr(view, name) == getattr(record, name)
            if getattr(record, name) is not None:  # a new value on each read: not shared
                assert getattr(view, name) is not getattr(view, name)
    bare = decode_view(
        '{"id":"a","file_name":"a","workspace":{"name":"raw"},"file_path":"a",'
        '"created":"2021-01-01T00:00:00Z","last_modified":"2021-01-01T00:00:00Z"}'
    )
    assert bare.geometry is None and bare.center_point is None
    assert bare.to_scale()["geometry"] is None


def test_stored_documents_without_their_nulls_decode_to_the_same_views() -> None:
    docs = []
    for record in RECORDS:
        doc, _mask = compact(record, record.geometry, record.center_point)
        docs.append(doc)
        assert len(doc) <= len(record.model_dump_json()) + 2
    views = decode_views(docs)
    assert views == [decode_view(r.model_dump_json()) for r in RECORDS]


def test_a_view_is_read_only_and_never_tracked_by_the_cyclic_collector() -> None:
    view = decode_view(RECORDS[0].model_dump_json())
    with pytest.raises(AttributeError):
        view.file_name = "other"  # type: ignore[misc]
    assert not gc.is_tracked(view) and not gc.is_tracked(view.workspace)


def test_a_document_that_is_not_a_record_gets_pydantics_error_naming_the_field() -> None:
    good = json.loads(RECORDS[0].model_dump_json())
    for field, value in [("file_size", "big"), ("file_type", "OTHER"), ("surprise", 1)]:
        with pytest.raises(ValidationError) as err:
            decode_view(json.dumps({**good, field: value}))
        assert err.value.errors()[0]["loc"][0] == field
    with pytest.raises(ValidationError):
        decode_view("[1, 2]")
    with pytest.raises(ValidationError):
        decode_view('{"file_name": "a"')  # cut short


def test_a_place_that_is_not_geojson_gets_pydantics_error_naming_it_when_read() -> None:
    # the place stays text until read (an index stores only what it validated as a record)
    good = json.loads(RECORDS[0].model_dump_json())
    for field in ("geometry", "center_point"):
        view = decode_view(json.dumps({**good, field: "nowhere"}))
        for read in (lambda v, f=field: getattr(v, f), FileView.to_scale):
            with pytest.raises(ValidationError) as err:
                read(view)
            assert err.value.errors()[0]["loc"][0] == field


def test_a_record_missing_what_a_record_makes_up_is_still_viewed() -> None:
    view = decode_view('{"file_name": "a.tif", "workspace": {"name": "raw"}, "file_path": "a"}')
    assert (view.file_name, view.workspace.name, view.version) == ("a.tif", "raw", 1)
    assert len(view.id) == 32 and view.created.tzinfo is not None


def test_stac_items_and_features_of_a_view_are_those_of_its_record() -> None:
    from indexer.stac.items import to_feature, to_item

    for record in RECORDS[:100]:
        read = FileRecord.model_validate_json(record.model_dump_json())
        view = decode_view(record.model_dump_json())
        assert json.dumps(to_item(view, "http://h/")) == json.dumps(to_item(read, "http://h/"))
        assert json.dumps(to_feature(view)) == json.dumps(to_feature(read))


def test_a_parsed_record_is_viewed_as_its_json_is() -> None:
    for record in RECORDS[:100]:
        text = record.model_dump_json()
        assert view_of(json.loads(text)) == decode_view(text)
    with pytest.raises(ValidationError) as err:
        view_of({**json.loads(RECORDS[0].model_dump_json()), "version": "new"})
    assert err.value.errors()[0]["loc"] == ("version",)
