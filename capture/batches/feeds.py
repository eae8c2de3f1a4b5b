"""What a batch feeds each file: the one input it fills, what its job keeps of the file, the
job or recipe id it makes of it, and how an earlier batch's files are read."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from capture.batches.model import Batch
from capture.jobs import Job, JobStore, job_id_for
from seedpipe.errors import InvalidInput
from seedpipe.records import FileRecord

if TYPE_CHECKING:
    from capture.batches.store import BatchStore
    from capture.jobtypes import JobType
    from capture.recipes.store import RecipeStore
    from capture.recipes.types import RecipeType

# (previous batch, after rowid, limit) -> [(rowid, file id)]: an earlier batch's files
FileIds = Callable[[str, int, int], list[tuple[int, str]]]


def batch_trigger(batch_id: str) -> str:
    return f"batch:{batch_id}"


def input_name(jt: JobType) -> str:
    """The one file input a batch feeds; InvalidInput naming ``job_type`` otherwise."""
    required = [i.name for i in jt.inputs.values() if i.required]
    names = required or list(jt.inputs)
    if len(names) != 1:
        raise InvalidInput(
            f"job type {jt.name!r} has {len(names)} required file inputs; a batch feeds one",
            field="job_type",
        )
    return names[0]


def recipe_input_name(rt: RecipeType) -> str:
    """The one file input of a recipe type a batch feeds; InvalidInput naming ``recipe_type``
    when the recipe type cannot be started from one file alone."""
    from capture.recipes.interfaces import interface_params

    params = interface_params(rt.definition.input)
    files = [p for p in params.values() if p.kind == "file"]
    required = [p.name for p in files if p.required]
    names = required or [p.name for p in files]
    if len(names) != 1:
        raise InvalidInput(
            f"recipe type {rt.name!r} has {len(names)} "
            f"{'required ' if required else ''}file inputs; a batch feeds one",
            field="recipe_type",
        )
    needs_json = sorted(p.name for p in params.values() if p.kind == "json" and p.required)
    if needs_json:
        raise InvalidInput(
            f"recipe type {rt.name!r} needs the JSON inputs {', '.join(needs_json)}; a batch "
            f"gives only a file",
            field="recipe_type",
        )
    return names[0]


def recipe_refusal(rt: RecipeType, name: str, record: FileRecord) -> str | None:
    """Why the recipe input ``name`` cannot take ``record`` (its media type), else None."""
    from capture.recipes.inputs import check_inputs

    try:
        check_inputs(rt.definition, {name: [record]}, {})
    except InvalidInput as exc:
        return str(exc).removeprefix("recipe input: ")
    return None


def stub(record: FileRecord) -> dict[str, Any]:
    """What a batch's job keeps of its file: enough to name it. The attempt reads the record as
    the catalogue has it when the job starts (a purged file fails it as deleted), so a batch of
    1,000,000 files does not copy 1,000,000 records into jobs.db."""
    return {
        "id": record.id,
        "file_name": record.file_name,
        "workspace": {"name": record.workspace.name},
        "file_path": record.file_path,
        "media_type": record.media_type,
        "file_type": record.file_type,
        "version": 1,
    }


def previous_files(batches: BatchStore, jobs: JobStore, recipes: RecipeStore | None) -> FileIds:
    """How to read an earlier batch's files: its jobs' inputs, or its recipes' files."""

    def file_ids(previous: str, after: int, limit: int) -> list[tuple[int, str]]:
        if batches.require(previous).recipe_type is None:
            return jobs.batch_file_ids(previous, after, limit)
        if recipes is None:
            raise InvalidInput(f"batch {previous} ran recipes", field="previous_batch")
        return recipes.batch_file_ids(previous, after, limit)

    return file_ids


def batch_job(batch: Batch, jt: JobType, name: str, record: FileRecord) -> Job:
    return Job(
        id=job_id_for(batch_trigger(batch.id), record.id),
        job_type=jt.name,
        job_type_version=jt.version,
        trigger=batch_trigger(batch.id),
        file_id=record.id,
        event_id=batch.id,
        input_name=name,
        record=stub(record),
        max_attempts=jt.settings.max_attempts,
        cpus=jt.cpus,
        mem_mib=jt.mem_mib,
        priority=batch.priority,
        job_type_revision=batch.revision,
        batch=batch.id,
        supersede=batch.supersede,
    )


def batch_recipe_id(batch: Batch, record: FileRecord) -> str:
    from capture.recipes.store import recipe_id_for

    return recipe_id_for(batch_trigger(batch.id), record.id)
