"""Product records: Scale's layout, lineage, deterministic ids; input-metadata updates."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from capture.products import (
    apply_input_metadata,
    make_product,
    product_path,
    source_time,
    superseded_by,
)
from seedpipe.errors import InvalidInput
from seedpipe.records import FileRecord, WorkspaceRef, product_file_id


def source(**changes: Any) -> FileRecord:
    data: dict[str, Any] = {
        "id": "src1",
        "file_name": "a.png",
        "workspace": WorkspaceRef(name="input"),
        "file_path": "2020/a.png",
        "media_type": "image/png",
        "data_type_tags": ["image"],
        "data_started": datetime(2020, 3, 4, tzinfo=UTC),
        "source_sensor": "cam",
        "ancestors": ["root"],
    }
    data.update(changes)
    return FileRecord.model_validate(data)


def captured(**changes: Any) -> FileRecord:
    data: dict[str, Any] = {
        "file_name": "a_watermark.png",
        "workspace": WorkspaceRef(name="local"),
        "file_path": "a_watermark.png",
        "file_type": "PRODUCT",
        "geometry": {"type": "Point", "coordinates": [1, 2]},
    }
    data.update(changes)
    return FileRecord.model_validate(data)


def product(cap: FileRecord, inputs: list[FileRecord]) -> FileRecord:
    return make_product(
        cap,
        inputs=inputs,
        job_type="wm",
        job_type_version="1.0.0",
        job_id="j1",
        job_output="OUTPUT_IMAGE",
        workspace="output",
        file_path="jobs/x",
        url="file:///x",
        size=10,
        checksum="sha256:00",
        version=1,
    )


def test_products_are_filed_by_job_type_version_and_source_data_date() -> None:
    when = source_time([source()])
    assert product_path("wm", "1.0.0", when, "j1", "a.png") == (
        "jobs/wm/1.0.0/2020/03/04/job_j1/a.png"
    )


def test_a_product_carries_lineage_and_inherits_source_fields() -> None:
    p = product(captured(), [source()])
    assert p.file_type == "PRODUCT"
    assert (p.job, p.job_output, p.job_type and p.job_type.name) == ("j1", "OUTPUT_IMAGE", "wm")
    assert p.ancestors == ["src1", "root"]
    assert p.source_sensor == "cam"
    assert p.source_started == datetime(2020, 3, 4, tzinfo=UTC)


def test_a_sidecar_source_field_wins_over_the_inherited_one() -> None:
    assert product(captured(source_sensor="own"), [source()]).source_sensor == "own"


def test_product_ids_are_the_same_for_a_rerun_and_differ_per_input() -> None:
    first = product(captured(), [source()])
    again = product(captured(), [source()])
    other = product(captured(), [source(id="src2")])
    assert first.id == again.id != other.id


def test_an_input_sidecar_updates_geometry_times_data_types_and_meta_data() -> None:
    update = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [125.6, 10.1]},
        "properties": {
            "dataStarted": "2019-10-14T00:00:00Z",
            "dataEnded": "2019-10-14T00:01:00Z",
            "dataTypes": ["one", "image"],
            "cloud": 3,
        },
    }
    rec = source(meta_data={"keep": True})
    new = apply_input_metadata(rec, update)
    assert new.version == rec.version + 1
    assert new.geometry == update["geometry"]
    assert new.data_type_tags == ["image", "one"]
    assert new.meta_data == {"keep": True, "cloud": 3}
    assert new.data_ended == datetime(2019, 10, 14, 0, 1, tzinfo=UTC)


def test_an_input_sidecar_may_not_change_the_files_identity() -> None:
    with pytest.raises(InvalidInput, match="id"):
        apply_input_metadata(source(), {"id": "other"})


def test_an_invalid_input_sidecar_names_the_problem() -> None:
    with pytest.raises(InvalidInput, match="dataTypes"):
        apply_input_metadata(source(), {"type": "Feature", "properties": {"dataTypes": "x"}})


async def test_a_product_of_a_new_job_type_version_supersedes_the_old_one(tmp_path: Path) -> None:
    from indexer.backends import open_index
    from seedpipe.settings import IndexSettings

    def made_by(version: str) -> FileRecord:
        p = product(captured(), [source()])
        data = p.model_dump()
        data["id"] = product_file_id("wm", version, p.file_name, ["src1"])
        data["job_type"] = {"name": "wm", "version": version}
        return FileRecord.model_validate(data)

    old, new = made_by("1.0.0"), made_by("2.0.0")
    other_input = made_by("1.0.0").model_copy(update={"id": "x", "ancestors": ["src9"]})
    async with open_index(IndexSettings(url=f"sqlite:///{tmp_path / 'index.db'}")) as index:
        await index.upsert([old, other_input])
        (marked,) = await superseded_by(index, new)
    assert marked.id == old.id and marked.is_superseded and marked.version == old.version + 1
