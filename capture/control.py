"""Job control from outside: queue a job by hand, cancel one, requeue failed jobs in bulk."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from capture.jobs import Job, JobStore
from seedpipe.errors import InvalidInput, JobError
from seedpipe.records import FileRecord

if TYPE_CHECKING:
    from capture.jobtypes import JobType
    from seedpipe.catalogue import CatalogueReader

MAX_FILES = 1000
MAX_PRIORITY = 1_000_000


def check_job_inputs(
    jt: JobType, files: Mapping[str, list[FileRecord]], json_inputs: Mapping[str, Any]
) -> None:
    """Refuse inputs that do not fit the job type's Seed interface, naming every field
    (the rules ``seedpipe job run`` applies: names, required, multiple, media and JSON types)."""
    from capture.contract.outputs import json_type_ok
    from capture.recipes.interfaces import media_can_match

    problems: list[str] = []
    for name, records in files.items():
        spec = jt.inputs.get(name)
        if spec is None:
            problems.append(f"inputs.{name}: job type {jt.name!r} has no file input {name!r}")
            continue
        if len(records) > 1 and not spec.multiple:
            problems.append(f"inputs.{name}: takes one file, {len(records)} given")
        for r in records:
            if not media_can_match([r.media_type], spec.media_types):
                problems.append(
                    f"inputs.{name}: {r.media_type} is not one of {list(spec.media_types)}"
                )
    for name, spec in jt.inputs.items():
        if spec.required and not files.get(name):
            problems.append(f"inputs.{name}: required input is missing")
    declared = {j.name: j for j in jt.manifest.job.interface.inputs.json_}
    for name, value in json_inputs.items():
        js = declared.get(name)
        if js is None:
            problems.append(f"json.{name}: job type {jt.name!r} has no JSON input {name!r}")
        elif not json_type_ok(value, js.type):
            problems.append(f"json.{name}: must be of JSON type {js.type}")
    for name, js in declared.items():
        if js.required and name not in json_inputs:
            problems.append(f"json.{name}: required input is missing")
    if problems:
        raise InvalidInput("; ".join(problems), field="job input")


def parse_queue_request(body: Any) -> tuple[str, dict[str, list[str]], dict[str, Any], int]:
    """``{"job_type": T, "inputs": {NAME: ID | [ID…]}, "json": {NAME: value}, "priority": N}``."""
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object", field="$")
    unknown = sorted(set(body) - {"job_type", "inputs", "json", "priority"})
    if unknown:
        raise InvalidInput("is not a field of a job request", field=unknown[0])
    job_type = body.get("job_type")
    if not isinstance(job_type, str) or not job_type:
        raise InvalidInput("must name a configured job type", field="job_type")
    raw_files = body.get("inputs")
    raw_files = {} if raw_files is None else raw_files  # null: left out
    if not isinstance(raw_files, dict):
        raise InvalidInput("must be an object of input name to file id(s)", field="inputs")
    files: dict[str, list[str]] = {}
    total = 0
    for name, ids in raw_files.items():
        ids = [ids] if isinstance(ids, str) else ids
        if not isinstance(ids, list) or not all(
            isinstance(i, str) and 0 < len(i) <= 256 for i in ids
        ):
            raise InvalidInput("must be a file id or a list of file ids", field=f"inputs.{name}")
        total += len(ids)
        files[str(name)] = ids
    if total > MAX_FILES:
        raise InvalidInput(f"at most {MAX_FILES} files", field="inputs")
    json_inputs = body.get("json")
    json_inputs = {} if json_inputs is None else json_inputs
    if not isinstance(json_inputs, dict):
        raise InvalidInput("must be an object of input name to JSON value", field="json")
    priority = body.get("priority", 0)
    if isinstance(priority, bool) or not isinstance(priority, int) or abs(priority) > MAX_PRIORITY:
        raise InvalidInput(
            f"must be an integer between -{MAX_PRIORITY} and {MAX_PRIORITY}", field="priority"
        )
    return job_type, files, json_inputs, priority


async def lookup_files(
    index: CatalogueReader | None,
    file_ids: Mapping[str, list[str]],
    *,
    field: str = "job input",
) -> dict[str, list[FileRecord]]:
    """The catalogue's records for the given ids; InvalidInput naming each missing one."""
    files: dict[str, list[FileRecord]] = {}
    missing: list[str] = []
    for name, ids in file_ids.items():
        records = []
        for fid in ids:
            record = await index.get(fid) if index is not None else None
            if record is None or record.is_deleted:
                missing.append(f"inputs.{name}: no file with id {fid!r}")
            else:
                records.append(record)
        files[name] = records
    if missing:
        raise InvalidInput("; ".join(missing), field=field)
    return files


def manual_job(
    jt: JobType,
    files: Mapping[str, list[FileRecord]],
    json_inputs: Mapping[str, Any],
    *,
    priority: int = 0,
    revision: int | None = None,
) -> Job:
    """A job queued by hand: a fresh id every time (Scale queues a new job per request)."""
    job_id = uuid.uuid4().hex[:16]
    first_name = next((n for n, rs in files.items() if rs), "")
    first = files[first_name][0] if first_name else None
    return Job(
        id=job_id,
        job_type=jt.name,
        job_type_version=jt.version,
        trigger="api",
        file_id=job_id,
        event_id=job_id,
        input_name=first_name,
        record=first.model_dump(mode="json") if first else {},
        max_attempts=jt.settings.max_attempts,
        cpus=jt.cpus,
        mem_mib=jt.mem_mib,
        inputs={
            "files": {k: [r.model_dump(mode="json") for r in v] for k, v in files.items()},
            "json": dict(json_inputs),
        },
        priority=priority,
        job_type_revision=revision,
    )


def parse_since(text: str) -> float:
    """``--since``: an ISO 8601 time, or an age such as 30m, 12h, 7d."""
    text = text.strip()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if text[-1:] in units and text[:-1].isdigit():
        return (datetime.now(UTC) - timedelta(seconds=int(text[:-1]) * units[text[-1]])).timestamp()
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            "must be an ISO 8601 time (2026-01-31T12:00:00Z) or an age (30m, 12h, 7d)",
            field="since",
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def requeue_failed(
    store: JobStore,
    *,
    job_type: str | None = None,
    error_category: str | None = None,
    since: float | None = None,
    dry_run: bool = False,
) -> list[str]:
    """Requeue every failed job matching the filters (attempts reset); recipe nodes are left to
    ``recipes retry``. Returns the ids."""
    ids = store.failed_matching(job_type=job_type, error_category=error_category, since=since)
    if not dry_run:
        for job_id in ids:
            store.requeue(job_id, reset_attempts=True)
    return ids


def cancel_job(store: JobStore, job_id: str, by: str) -> Job:
    """Cancel through the store (the running service notices and kills the process group)."""
    job = store.get(job_id)
    if job is None:
        raise JobError(f"no job with id {job_id!r}")
    return store.cancel(job_id, by)
