"""Turning a job's captured outputs into product records, and input sidecars into record updates."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from capture.contract.sidecars import TEXT_PROPERTIES, TIME_PROPERTIES
from seedpipe.errors import InvalidInput
from seedpipe.events import describe_validation_error
from seedpipe.records import FileRecord, JobTypeRef, WorkspaceRef, product_file_id, utcnow

if TYPE_CHECKING:
    from seedpipe.catalogue import CatalogueReader

SOURCE_FIELDS = (
    "source_sensor_class",
    "source_sensor",
    "source_collection",
    "source_task",
)


def product_path(job_type: str, version: str, when: datetime, job_id: str, rel: str) -> str:
    """Scale's product layout: ``jobs/<job type>/<version>/YYYY/MM/DD/job_<id>/<rel>``."""
    return f"jobs/{job_type}/{version}/{when:%Y/%m/%d}/job_{job_id}/{rel}"


def source_time(inputs: list[FileRecord]) -> datetime:
    """The data time a job's products are filed under: the earliest input's, else its creation."""
    times = [r.data_started or r.data_ended or r.created for r in inputs]
    return min(times)


def lineage_ancestors(inputs: list[FileRecord]) -> list[str]:
    """Input ids first, then theirs: every file a product came from."""
    ids = [r.id for r in inputs]
    for r in inputs:
        ids.extend(r.ancestors)
    return list(dict.fromkeys(ids))


def make_product(
    captured: FileRecord,
    *,
    inputs: list[FileRecord],
    job_type: str,
    job_type_version: str,
    job_type_revision: int | None = None,
    batch: str | None = None,
    job_id: str,
    job_output: str,
    workspace: str,
    file_path: str,
    url: str | None,
    size: int,
    checksum: str | None,
    version: int,
) -> FileRecord:
    """The product record: lineage, deterministic id and source_* inherited from the inputs.

    A batch's product has an id of its own (the batch is part of it), so a rerun in a batch
    never overwrites what an earlier run made; it may supersede it instead."""
    data = captured.model_dump()
    key_version = job_type_version if batch is None else f"{job_type_version}\x1fbatch:{batch}"
    data.update(
        id=product_file_id(job_type, key_version, captured.file_name, [r.id for r in inputs]),
        batch=batch,
        file_type="PRODUCT",
        workspace=WorkspaceRef(name=workspace).model_dump(),
        file_path=file_path,
        url=url,
        file_size=size,
        checksum=checksum or captured.checksum,
        job_type=JobTypeRef(
            name=job_type, version=job_type_version, revision=job_type_revision
        ).model_dump(),
        job=job_id,
        job_output=job_output,
        ancestors=lineage_ancestors(inputs),
        version=version,
        is_superseded=False,
        superseded=None,
    )
    first = inputs[0] if inputs else None
    if first is not None:
        for name in SOURCE_FIELDS:
            if data.get(name) is None:
                data[name] = getattr(first, name)
        if data.get("source_started") is None:
            data["source_started"] = first.source_started or first.data_started
        if data.get("source_ended") is None:
            data["source_ended"] = first.source_ended or first.data_ended
    return FileRecord.model_validate(data)


def metadata_changes(update: dict[str, Any]) -> dict[str, Any]:
    """FileRecord field changes from an input-metadata update (a GeoJSON Feature sidecar).

    Accepts the Feature itself (``geometry`` + ``properties``) or an already-mapped dict of
    record fields. ``dataTypes`` are returned under ``data_types`` (to be added, not replaced);
    other properties under ``meta_data`` (to be merged).
    """
    if not isinstance(update, dict):
        raise InvalidInput("must be a JSON object", field="input_metadata")
    if "properties" not in update and "type" not in update:
        return dict(update)
    changes: dict[str, Any] = {}
    if update.get("geometry") is not None:
        changes["geometry"] = update["geometry"]
    props = update.get("properties") or {}
    if not isinstance(props, dict):
        raise InvalidInput("must be a JSON object", field="input_metadata.properties")
    meta: dict[str, Any] = {}
    for key, value in props.items():
        if key in TIME_PROPERTIES:
            changes[TIME_PROPERTIES[key]] = value
        elif key in TEXT_PROPERTIES:
            changes[TEXT_PROPERTIES[key]] = value
        elif key == "dataTypes":
            if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
                raise InvalidInput("must be a list of strings", field="properties.dataTypes")
            changes["data_types"] = value
        else:
            meta[key] = value
    if meta:
        changes["meta_data"] = meta
    return changes


def apply_input_metadata(record: FileRecord, update: dict[str, Any]) -> FileRecord:
    """``record`` bumped with the update: geometry, times, data types added, meta_data merged."""
    changes = metadata_changes(update)
    tags = changes.pop("data_types", None) or changes.pop("data_type_tags", None)
    if tags:
        changes["data_type_tags"] = [*record.data_type_tags, *tags]
    if "meta_data" in changes:
        changes["meta_data"] = {**record.meta_data, **changes["meta_data"]}
    allowed = set(FileRecord.model_fields) - {"id", "version", "workspace", "file_path"}
    bad = sorted(set(changes) - allowed)
    if bad:
        raise InvalidInput("is not a field an input-metadata update may change", field=bad[0])
    try:
        return record.bump(**changes)
    except ValidationError as exc:
        raise InvalidInput(describe_validation_error(exc), field="input_metadata") from exc


async def superseded_by(
    index: CatalogueReader, product: FileRecord, recipe_inputs: list[str] | None = None
) -> list[FileRecord]:
    """Products this one replaces, marked superseded: same job type, output name and inputs,
    made by another version of the job type (the same version reuses the id and bumps it).

    A product of a recipe type's batch (``recipe_inputs``: the ids of the recipe's input
    files) replaces the products of the same recipe type, node and output made for the same
    recipe inputs: its own inputs may be the batch's new intermediate products."""
    from seedpipe.query.model import Query

    jt = product.job_type
    if jt is None:
        return []
    query = Query(
        job_types=[jt.name],
        file_types=["PRODUCT"],
        file_name_contains=product.file_name,
        limit=100,
    )
    page = await index.search(query)
    now = utcnow()
    if recipe_inputs is not None and product.recipe_type is not None:
        wanted = set(recipe_inputs)
        return [
            old.bump(is_superseded=True, superseded=now)
            for old in page.records
            if old.id != product.id
            and old.file_name == product.file_name
            and old.recipe_type == product.recipe_type
            and old.recipe_node == product.recipe_node
            and old.job_output == product.job_output
            and old.recipe != product.recipe
            and wanted <= set(old.ancestors)
        ]
    return [
        old.bump(is_superseded=True, superseded=now)
        for old in page.records
        if old.id != product.id
        and old.file_name == product.file_name
        and sorted(old.ancestors) == sorted(product.ancestors)
    ]


def recipe_input_ids(recipe_inputs: Any) -> list[str]:
    """The ids of the files among a recipe's inputs (INPUT_METADATA's RECIPE)."""
    ids: list[str] = []
    for value in (recipe_inputs or {}).values():
        if isinstance(value, list):
            ids += [r["id"] for r in value if isinstance(r, dict) and isinstance(r.get("id"), str)]
    return ids
