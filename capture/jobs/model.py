"""A job record: its statuses, its deterministic id, and the queued job the scheduler sees."""

from __future__ import annotations

import os
import socket
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, NamedTuple

JobStatus = Literal["queued", "running", "completed", "failed", "canceled"]
STATUSES: tuple[JobStatus, ...] = ("queued", "running", "completed", "failed", "canceled")
TERMINAL: tuple[JobStatus, ...] = ("completed", "failed", "canceled")
ERROR_CATEGORIES = ("system", "data", "job")

# Namespace of job ids: the same trigger and file always give the same job id, on any worker.
JOB_NAMESPACE = uuid.UUID("0b7c8d1e-5a2f-4e6b-9c3d-2f1e0a9b8c7d")


# Who ran an execution: this host and process.
WORKER = f"{socket.gethostname()}:{os.getpid()}"


def job_id_for(trigger: str, file_id: str) -> str:
    """Deterministic, so a replayed event finds the job it already created."""
    return uuid.uuid5(JOB_NAMESPACE, f"{trigger}\x1f{file_id}").hex[:16]


@dataclass
class Job:
    """One job record; times are epoch seconds, ``error`` is Seed's {code,name,...,category}."""

    id: str
    job_type: str
    job_type_version: str
    trigger: str
    file_id: str
    event_id: str
    input_name: str
    record: dict[str, Any]
    status: JobStatus = "queued"
    attempt: int = 0
    max_attempts: int = 3
    cpus: float = 1.0
    mem_mib: float = 0.0
    created: float = field(default_factory=time.time)
    not_before: float = 0.0
    started: float | None = None
    ended: float | None = None
    duration_s: float | None = None
    exit_code: int | None = None
    error: dict[str, Any] | None = None
    log_path: str | None = None
    products: list[str] = field(default_factory=list)
    # A job of a recipe node: the recipe, its node and type; ``inputs`` holds every input
    # ({"files": {NAME: [record]}, "json": {NAME: value}, "recipe": INPUT_METADATA's RECIPE})
    # and ``results`` what it made ({"outputs": {NAME: [record]}, "json_outputs", ...}).
    recipe: str | None = None
    recipe_node: str | None = None
    recipe_type: str | None = None
    inputs: dict[str, Any] | None = None
    results: dict[str, Any] | None = None
    # Higher runs first; the job type's revision it runs (see capture.revisions); who canceled it.
    priority: int = 0
    job_type_revision: int | None = None
    canceled_by: str | None = None
    # A batch's job: its products carry ``batch``; they supersede earlier ones only when asked.
    batch: str | None = None
    supersede: bool = True

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, without the trigger record (it can be large; ``file_id`` names it)."""
        data = asdict(self)
        data.pop("record")
        data.pop("inputs")
        results = data.pop("results") or {}
        if self.recipe is not None:
            data["json_outputs"] = results.get("json_outputs", {})
        return data


class Pending(NamedTuple):
    """A queued job as the scheduler sees it; the full record is read when it starts."""

    id: str
    job_type: str
    cpus: float
    mem_mib: float
