"""HTTP routes for job records: ``GET /jobs`` and ``GET /jobs/{id}`` (FastAPI, imported lazily).

Lists speak like ``/files``: ISO 8601 times, ``count``/``next``/``previous``/``results``, and
``next`` links that carry a cursor (so following them reaches every job, however deep).
"""

# No ``from __future__ import annotations``: FastAPI reads the route's annotations, and
# ``Request`` is imported inside jobs_router (fastapi loads only when the routes are built).
import base64
import binascii
import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from capture.jobs import Job, JobStatus, JobStore
from seedpipe.errors import InvalidInput
from seedpipe.links import page_link
from seedpipe.settings import Settings

if TYPE_CHECKING:
    from fastapi import APIRouter

MAX_LOG_BYTES = 64 * 1024
MAX_PAGE_SIZE = 1000
MAX_OFFSET = 100_000
TIME_FIELDS = ("created", "not_before", "started", "ended")


def read_log_tail(path: str | None, limit: int = MAX_LOG_BYTES) -> str | None:
    """The last ``limit`` bytes of a job's log, or None when there is none."""
    if not path:
        return None
    p = Path(path)
    try:
        with p.open("rb") as fh:
            size = fh.seek(0, 2)
            fh.seek(max(0, size - limit))
            return fh.read().decode("utf-8", errors="replace")
    except OSError:
        return None


def iso(seconds: float | None) -> str | None:
    """Epoch seconds as an ISO 8601 UTC time (``…Z``); 0 (no wait) and None are None."""
    if not seconds:
        return None
    text = datetime.fromtimestamp(seconds, UTC).isoformat(timespec="microseconds")
    return text.replace("+00:00", "Z")


def job_json(job: Job) -> dict[str, Any]:
    data = job.to_dict()
    for name in TIME_FIELDS:
        data[name] = iso(data[name])
    return data


def encode_cursor(job: Job) -> str:
    raw = json.dumps([job.created, job.id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str) -> tuple[float, str]:
    bad = InvalidInput("is not a cursor from a next link", field="cursor")
    if len(text) > 512:
        raise bad
    try:
        value = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise bad from exc
    if (
        not isinstance(value, list)
        or len(value) != 2
        or isinstance(value[0], bool)
        or not isinstance(value[0], int | float)
        or not math.isfinite(value[0])
        or not isinstance(value[1], str)
        or len(value[1]) > 64
    ):
        raise bad
    return float(value[0]), value[1]


def jobs_router(settings: Settings, store: JobStore | None = None) -> "APIRouter":
    """The /jobs routes over ``settings.path("jobs.db")`` (or the given store)."""
    from fastapi import APIRouter, HTTPException, Query, Request
    from fastapi import Path as PathParam

    router = APIRouter(tags=["jobs"])
    opened: list[JobStore] = [store] if store is not None else []

    def get_store() -> JobStore:
        if not opened:
            opened.append(JobStore(settings.path("jobs.db")))
        return opened[0]

    @router.get("/jobs", summary="Job records, oldest first (Scale's page shape)")
    def list_jobs(
        request: Request,
        status: JobStatus | None = Query(default=None, description="only jobs in this state"),
        job_type: str | None = Query(
            default=None, max_length=256, description="only jobs of this job type (name)"
        ),
        page: int = Query(default=1, ge=1, le=1_000_000, description="page number, from 1"),
        page_size: int = Query(
            default=100,
            ge=1,
            le=2**31,
            description=f"jobs per page; above {MAX_PAGE_SIZE} it is {MAX_PAGE_SIZE}",
        ),
        cursor: str | None = Query(
            default=None,
            min_length=1,
            max_length=512,
            description="where a next link's page starts (only a next link's value is valid)",
            json_schema_extra={"format": "cursor"},
        ),
    ) -> dict[str, Any]:
        size = min(page_size, MAX_PAGE_SIZE)
        state = status
        after = decode_cursor(cursor) if cursor is not None else None
        if after is None and (page - 1) * size > MAX_OFFSET:
            raise HTTPException(404, f"page: pages start at most {MAX_OFFSET} jobs in")
        offset = 0 if after is not None else (page - 1) * size
        jobs = get_store().search(
            status=state, job_type=job_type, limit=size + 1, offset=offset, after=after
        )
        more = len(jobs) > size
        jobs = jobs[:size]
        back = page > 1 and (page - 2) * size <= MAX_OFFSET
        public = settings.api.public_url
        return {
            "count": get_store().count(status=state, job_type=job_type),
            "next": (
                page_link(request, public, page=page + 1, cursor=encode_cursor(jobs[-1]))
                if more
                else None
            ),
            "previous": page_link(request, public, page=page - 1, cursor=None) if back else None,
            "results": [job_json(j) for j in jobs],
        }

    @router.get("/jobs/{job_id}", summary="One job, with its input record and its log's tail")
    def get_job(
        job_id: str = PathParam(max_length=64, description="the job's id"),
    ) -> dict[str, Any]:
        job = get_store().get(job_id)
        if job is None:
            raise HTTPException(404, f"no job with id {job_id!r}")
        data = job_json(job)
        data["input"] = job.record
        data["log"] = read_log_tail(job.log_path)
        return data

    return router
