"""HTTP routes for job records: ``GET /jobs`` and ``GET /jobs/{id}`` (FastAPI, imported lazily)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from capture.jobs import STATUSES, JobStore
from seedpipe.settings import Settings

if TYPE_CHECKING:
    from fastapi import APIRouter

MAX_LOG_BYTES = 64 * 1024


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


def jobs_router(settings: Settings, store: JobStore | None = None) -> APIRouter:
    """The /jobs routes over ``settings.path("jobs.db")`` (or the given store)."""
    from fastapi import APIRouter, HTTPException, Query

    router = APIRouter(tags=["jobs"])
    opened: list[JobStore] = [store] if store is not None else []

    def get_store() -> JobStore:
        if not opened:
            opened.append(JobStore(settings.path("jobs.db")))
        return opened[0]

    @router.get("/jobs")
    def list_jobs(
        status: str | None = Query(default=None, description=f"one of {', '.join(STATUSES)}"),
        job_type: str | None = Query(default=None, max_length=256),
        page: int = Query(default=1, ge=1, le=100_000),
        page_size: int = Query(default=100, ge=1, le=1000),
    ) -> dict[str, Any]:
        if status is not None and status not in STATUSES:
            raise HTTPException(400, f"status: must be one of {', '.join(STATUSES)}")
        jobs = get_store().search(
            status=status, job_type=job_type, limit=page_size + 1, offset=(page - 1) * page_size
        )
        return {
            "page": page,
            "page_size": page_size,
            "has_more": len(jobs) > page_size,
            "results": [j.to_dict() for j in jobs[:page_size]],
        }

    @router.get("/jobs/{job_id}")
    def get_job(job_id: str) -> dict[str, Any]:
        if len(job_id) > 64:
            raise HTTPException(400, "job_id: too long")
        job = get_store().get(job_id)
        if job is None:
            raise HTTPException(404, f"no job with id {job_id!r}")
        data = job.to_dict()
        data["input"] = job.record
        data["log"] = read_log_tail(job.log_path)
        return data

    return router
