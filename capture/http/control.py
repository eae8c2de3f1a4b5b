"""HTTP job control: ``POST /jobs`` (queue by hand) and ``POST /jobs/{id}/cancel``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

# At module level: FastAPI resolves the routes' annotations against this module's names.
from fastapi import Request

from capture.control import MAX_FILES, MAX_PRIORITY
from capture.jobs import Job, JobStore
from seedpipe.errors import ConfigError, InvalidInput, JobError
from seedpipe.events import JOB_QUEUED, JOBS_TOPIC
from seedpipe.settings import Settings

if TYPE_CHECKING:
    from fastapi import APIRouter

    from capture.jobtypes import JobType

MAX_ID = 64
MAX_FILE_ID = 256
ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
FILE_ID = {"type": "string", "minLength": 1, "maxLength": MAX_FILE_ID}

# What parse_queue_request takes (the route reads the body itself; FastAPI cannot see it).
QUEUE_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "additionalProperties": False,
                "required": ["job_type"],
                "properties": {
                    "job_type": {"type": "string", "minLength": 1, "maxLength": 256},
                    "inputs": {
                        "type": "object",
                        "nullable": True,
                        "description": "job input name -> a file id or a list of file ids "
                        f"(at most {MAX_FILES} in all)",
                        "additionalProperties": {
                            "oneOf": [
                                FILE_ID,
                                {"type": "array", "items": FILE_ID, "maxItems": MAX_FILES},
                            ]
                        },
                    },
                    "json": {
                        "type": "object",
                        "nullable": True,
                        "description": "JSON input name -> its value",
                    },
                    "priority": {
                        "type": "integer",
                        "minimum": -MAX_PRIORITY,
                        "maximum": MAX_PRIORITY,
                        "default": 0,
                    },
                },
            }
        }
    },
}


def control_router(
    settings: Settings,
    store: JobStore | None = None,
    job_types: dict[str, JobType] | None = None,
    *,
    cancel: Callable[[str, str], Job] | None = None,
    publish: Callable[[Job], Awaitable[None]] | None = None,
) -> APIRouter:
    """Routes over the job store a capture service beside them runs (``cancel``/``publish`` are
    its own), or over ``settings``' store, whose service notices changes within a second."""
    from fastapi import APIRouter, Body, HTTPException
    from fastapi import Path as PathParam

    from capture.control import (
        cancel_job,
        check_job_inputs,
        lookup_files,
        manual_job,
        parse_queue_request,
    )

    router = APIRouter(tags=["jobs"])
    opened: list[JobStore] = [store] if store is not None else []
    types: list[dict[str, JobType]] = [job_types] if job_types is not None else []

    def get_store() -> JobStore:
        if not opened:
            opened.append(JobStore(settings.path("jobs.db")))
        return opened[0]

    def get_types() -> dict[str, JobType]:
        if not types:
            from capture.jobtypes import load_job_types

            try:
                types.append(load_job_types(settings))
            except ConfigError as exc:
                raise HTTPException(503, f"job types cannot be loaded: {exc}") from exc
        return types[0]

    @router.post(
        "/jobs",
        status_code=201,
        summary="Queue a job by hand",
        openapi_extra={"requestBody": QUEUE_BODY},
    )
    async def queue_job(request: Request, body: Any = Body(...)) -> dict[str, Any]:
        # InvalidInput is the app's 400 {"detail", "field"}.
        name, file_ids, json_inputs, priority = parse_queue_request(body)
        jt = get_types().get(name)
        if jt is None:
            known = ", ".join(sorted(get_types())) or "none configured"
            raise InvalidInput(f"unknown job type {name!r} (known: {known})", field="job_type")
        files = await lookup_files(getattr(request.app.state, "index", None), file_ids)
        check_job_inputs(jt, files, json_inputs)
        from capture.context import job_event
        from capture.revisions import current_revision

        revision = current_revision(get_store(), jt)
        job = manual_job(jt, files, json_inputs, priority=priority, revision=revision)
        get_store().create(job)
        if publish is not None:
            await publish(job)
        else:
            from seedpipe.bus import open_bus

            async with open_bus(settings.bus) as bus:
                await bus.publish(settings.topic(JOBS_TOPIC), job_event(JOB_QUEUED, job))
        return job.to_dict()

    @router.post(
        "/jobs/{job_id}/cancel",
        summary="Cancel a queued or running job",
        responses={409: {"description": "the job has already ended", "content": ERROR}},
    )
    def cancel_route(
        request: Request,
        job_id: str = PathParam(max_length=MAX_ID, description="the job's id"),
    ) -> dict[str, Any]:
        by = "api"
        user = getattr(request.state, "principal", None)
        if user:
            by = f"api:{user}"
        try:
            job = cancel(job_id, by) if cancel is not None else cancel_job(get_store(), job_id, by)
        except JobError as exc:
            status = 404 if "no job with id" in str(exc) else 409
            raise HTTPException(status, str(exc)) from exc
        return job.to_dict()

    @router.get("/jobs/{job_id}/executions")
    def executions(
        job_id: str = PathParam(max_length=MAX_ID, description="the job's id"),
    ) -> dict[str, Any]:
        """Every attempt (Scale's job_exe): timings, exit code, error, worker, log."""
        if get_store().get(job_id) is None:
            raise HTTPException(404, f"no job with id {job_id!r}")
        found = get_store().executions(job_id)
        for i, exe in enumerate(found, 1):
            exe["number"] = i
            exe["log_url"] = f"/jobs/{job_id}/executions/{i}/log"
            exe.pop("log_path", None)
        return {"count": len(found), "results": found}

    @router.get("/jobs/{job_id}/executions/{number}/log")
    def execution_log(
        job_id: str = PathParam(max_length=MAX_ID, description="the job's id"),
        number: int = PathParam(ge=1, description="the execution's number, from 1"),
    ) -> Any:
        from fastapi.responses import PlainTextResponse

        from capture.http.jobs import read_log_tail

        found = get_store().executions(job_id)
        if not 1 <= number <= len(found):
            raise HTTPException(404, f"job {job_id!r} has no execution {number}")
        text = read_log_tail(found[number - 1]["log_path"])
        if text is None:
            raise HTTPException(404, f"execution {number} of job {job_id!r} has no log")
        return PlainTextResponse(text)

    return router
