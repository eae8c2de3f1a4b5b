"""Collect a finished job's products, sidecars, JSON outputs and input-metadata updates."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from capture.contract import job_errors
from capture.contract.fit import FULL_GEOMETRY
from capture.contract.job_errors import JobErrorInfo
from capture.contract.outputs import json_outputs, match_output
from capture.contract.sidecars import SUFFIX, Sidecar, input_update, read_sidecar
from capture.contract.staging import Staged
from capture.seed.models import Job, OutputFile, SeedManifest
from seedpipe.checksum import hash_file
from seedpipe.errors import InvalidInput, PathEscapeError
from seedpipe.records import FileRecord, JobTypeRef, WorkspaceRef, product_file_id

log = logging.getLogger(__name__)


class CaptureFailed(Exception):
    """The job exited 0 but what it left breaks the contract; ``error`` says how."""

    def __init__(self, error: JobErrorInfo) -> None:
        self.error = error
        super().__init__(error.description)


@dataclass
class Collected:
    outputs: dict[str, list[FileRecord]] = field(default_factory=dict)
    json_outputs: dict[str, Any] = field(default_factory=dict)
    input_metadata: dict[str, dict[str, Any]] = field(default_factory=dict)
    input_records: dict[str, list[FileRecord]] = field(default_factory=dict)


def sidecar_of(out: Path, rel: str, vertex_budget: int | None = None) -> Sidecar | None:
    side = out / (rel + SUFFIX)
    if not side.exists() and not side.is_symlink():
        return None
    label = rel + SUFFIX
    if side.is_symlink() or not side.is_file():
        raise CaptureFailed(_bad_sidecar(InvalidInput("must be a regular file", field=label)))
    try:
        return read_sidecar(side, label, vertex_budget)
    except InvalidInput as exc:
        raise CaptureFailed(_bad_sidecar(exc)) from exc


def _bad_sidecar(exc: InvalidInput) -> JobErrorInfo:
    return job_errors.capture("invalid-sidecar", "Invalid Metadata Sidecar", str(exc))


def product_record(
    job: Job,
    out: Path,
    rel: str,
    output: OutputFile,
    inputs: list[str],
    *,
    job_id: str | None,
    workspace: str,
    vertex_budget: int | None = None,
) -> FileRecord:
    """The PRODUCT record of ``out/rel``, with its sidecar applied when it has one (its
    geometry simplified to ``vertex_budget``, the record saying where the full one is)."""
    from seedpipe.media import SNIFF_BYTES, sniff

    media = output.mediaType
    path = out / rel
    if media is None:
        with path.open("rb") as fh:
            media = sniff(fh.read(SNIFF_BYTES), path.name)
    sidecar = sidecar_of(out, rel, vertex_budget)
    record = FileRecord(
        id=product_file_id(job.name, job.jobVersion, rel, inputs),
        file_name=path.name,
        workspace=WorkspaceRef(name=workspace),
        file_path=rel,
        url=path.resolve().as_uri(),
        media_type=media,
        file_type="PRODUCT",
        file_size=path.stat().st_size,
        checksum=hash_file(path),
        job_type=JobTypeRef(name=job.name, version=job.jobVersion),
        job=job_id,
        job_output=output.name,
        ancestors=inputs,
    )
    if sidecar is None:
        return record
    # The key is seedpipe's: a job's own value for it is dropped, never taken for a note.
    meta = {k: v for k, v in sidecar.properties.items() if k != FULL_GEOMETRY}
    if sidecar.full_vertices is not None:
        had, kept = sidecar.full_vertices
        meta = {
            **meta,
            FULL_GEOMETRY: {"sidecar": rel + SUFFIX, "vertices": had, "kept_vertices": kept},
        }
    return record.model_copy(
        update={
            **sidecar.fields,
            "data_type_tags": list(dict.fromkeys(sidecar.data_types)),
            "meta_data": meta,
        }
    )


def collect(
    m: SeedManifest,
    out: Path,
    staged: Staged,
    *,
    job_id: str | None,
    workspace: str,
    vertex_budget: int | None = None,
) -> Collected:
    """Everything the finished job left that the manifest asks for; CaptureFailed if broken."""
    result = Collected()
    input_ids = [r.id for recs in staged.records.values() for r in recs]
    for output in m.job.interface.outputs.files:
        try:
            found = match_output(output, out)
        except (PathEscapeError, InvalidInput) as exc:
            raise CaptureFailed(
                job_errors.capture("invalid-output", "Output Outside OUTPUT_DIR", str(exc))
            ) from exc
        if not found and output.required:
            raise CaptureFailed(
                job_errors.capture(
                    "missing-required-output",
                    "Missing Required Output",
                    f"required output {output.name!r} matched no file for {output.pattern!r}",
                )
            )
        if len(found) > 1 and not output.multiple:
            raise CaptureFailed(
                job_errors.capture(
                    "too-many-outputs",
                    "Too Many Outputs",
                    f"output {output.name!r} takes one file but {output.pattern!r} matched "
                    f"{len(found)}: {found[:5]}",
                )
            )
        result.outputs[output.name] = [
            product_record(
                m.job,
                out,
                rel,
                output,
                input_ids,
                job_id=job_id,
                workspace=workspace,
                vertex_budget=vertex_budget,
            )
            for rel in found
        ]
    try:
        result.json_outputs = json_outputs(m, out)
    except InvalidInput as exc:
        raise CaptureFailed(
            job_errors.capture("invalid-outputs-json", "Invalid seed.outputs.json", str(exc))
        ) from exc
    for decl in m.job.interface.inputs.files:
        sidecar = sidecar_of(out, decl.name)
        if sidecar is None:
            continue
        records = staged.records.get(decl.name)
        if not records:
            log.warning("ignoring %s%s: input %s was not given", decl.name, SUFFIX, decl.name)
            continue
        updated = [input_update(r, sidecar) for r in records]
        result.input_records[decl.name] = [rec for rec, _ in updated]
        result.input_metadata[decl.name] = updated[0][1]
    return result
