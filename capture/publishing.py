"""What a completed attempt made: its products uploaded to the output workspace, then
published with the metadata updates of its inputs."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from capture.context import SOURCE, Context, job_files, newest_record
from capture.contract.fit import FULL_GEOMETRY
from capture.contract.sidecars import SUFFIX as SIDECAR_SUFFIX
from capture.jobs import Job
from capture.jobtypes import JobType
from capture.products import (
    apply_input_metadata,
    make_product,
    product_path,
    recipe_input_ids,
    source_time,
    superseded_by,
)
from seedpipe.errors import EventTooLarge, InvalidInput
from seedpipe.events import FILE_METADATA_UPDATED, FILE_PRODUCED, file_event
from seedpipe.records import FileRecord


async def publish_outputs(
    ctx: Context, job: Job, jt: JobType, inputs: list[FileRecord], result: Any
) -> tuple[list[str], dict[str, Any]]:
    """Upload products, then publish them and the inputs' metadata updates.

    Returns the product ids and what a recipe needs of the run: products per output, JSON
    outputs, and the input records as the job's input sidecars left them.
    """
    out_ws = ctx.workspaces[jt.settings.output_workspace]
    output_dir: Path = result.output_dir
    updated = getattr(result, "input_records", None) or {}
    by_id = {r.id: r for records in updated.values() for r in records}
    # Filed under the source's data time: as the catalogue has it, else as this job found it.
    known = [by_id.get(r.id, r) for r in inputs]
    first = known[0] if known else None
    recipe_fields = (
        {"recipe": job.recipe, "recipe_node": job.recipe_node, "recipe_type": job.recipe_type}
        if job.recipe
        else {}
    )
    # A recipe type's batch supersedes what earlier runs of the recipe made for its inputs.
    recipe_inputs = (
        recipe_input_ids((job.inputs or {}).get("recipe"))
        if job.batch is not None and job.recipe is not None
        else None
    )
    events = []
    ids = []
    outputs: dict[str, list[dict[str, Any]]] = {}
    sidecars: dict[str, str] = {}  # record id -> its sidecar, for errors
    for output_name, captured in (result.outputs or {}).items():
        for p in captured:
            local = output_dir / p.file_path
            when = (first.data_started if first else None) or p.data_started
            when = when or (source_time(known) if known else p.created)
            rel = product_path(jt.name, jt.version, when, job.id, p.file_path)
            info = await asyncio.to_thread(out_ws.put_file, local, rel)
            p = await keep_full_geometry(out_ws, output_dir, p, rel)
            product = make_product(
                p,
                inputs=known,
                job_type=jt.name,
                job_type_version=jt.version,
                job_type_revision=job.job_type_revision,
                batch=job.batch,
                job_id=job.id,
                job_output=output_name,
                workspace=out_ws.name,
                file_path=info.path,
                url=out_ws.record_url(info.path),
                size=info.size,
                checksum=info.checksum,
                version=1,
            )
            if recipe_fields:
                product = product.model_copy(update=recipe_fields)
            if ctx.index is not None:
                previous = await ctx.index.get(product.id)
                if previous is not None:
                    product = product.model_copy(update={"version": previous.version + 1})
                if job.supersede:  # a batch's job supersedes only when the batch asks to
                    events += [
                        file_event(FILE_METADATA_UPDATED, old, SOURCE)
                        for old in await superseded_by(ctx.index, product, recipe_inputs)
                    ]
            events.append(file_event(FILE_PRODUCED, product, SOURCE))
            ids.append(product.id)
            outputs.setdefault(output_name, []).append(product.to_scale())
            sidecars[product.id] = p.file_path + SIDECAR_SUFFIX
    for name, records in job_files(job).items():
        for r in records:
            sidecars[r.id] = name + SIDECAR_SUFFIX
    if updated:
        events += [
            file_event(FILE_METADATA_UPDATED, r, SOURCE) for rs in updated.values() for r in rs
        ]
    elif job.inputs is None and first is not None:
        update = (result.input_metadata or {}).get(job.input_name)
        if update:
            changed = apply_input_metadata(await newest_record(ctx, first), update)
            events.append(file_event(FILE_METADATA_UPDATED, changed, SOURCE))
    try:
        await ctx.bus.publish_many(ctx.files_topic, events)
    except EventTooLarge as exc:
        # Never silently lost: the job fails, naming the sidecar that made the event too big.
        raise InvalidInput(
            f"makes a {exc.event.type} event of {exc.size} bytes, over the {exc.limit}-byte "
            f"limit (bus.max_event_bytes), even with its geometry simplified; keep large "
            f"properties in a product file, not in the sidecar",
            field=sidecars.get(exc.event.subject or "", "a sidecar"),
        ) from exc
    results = {
        "outputs": outputs,
        "json_outputs": dict(result.json_outputs or {}),
        "input_records": {k: [r.model_dump(mode="json") for r in rs] for k, rs in updated.items()},
    }
    return ids, results


async def keep_full_geometry(ws: Any, output_dir: Path, p: FileRecord, rel: str) -> FileRecord:
    """A product whose geometry was simplified keeps its sidecar (the full geometry) beside it
    in the workspace; the record's meta_data names where."""
    note = p.meta_data.get(FULL_GEOMETRY)
    if not isinstance(note, dict) or "sidecar" not in note:
        return p
    # The sidecar's path is the product's own (collect set the note; a job cannot).
    local = output_dir / (p.file_path + SIDECAR_SUFFIX)
    info = await asyncio.to_thread(ws.put_file, local, rel + SIDECAR_SUFFIX)
    kept = {
        "workspace": ws.name,
        "file_path": info.path,
        "url": ws.record_url(info.path),
        "vertices": note["vertices"],
        "kept_vertices": note["kept_vertices"],
    }
    return p.model_copy(update={"meta_data": {**p.meta_data, FULL_GEOMETRY: kept}})
