"""HTTP routes for batches: ``POST /batches`` (a dry run answers the count and a sample),
``GET /batches``, ``GET /batches/{id}`` with progress, ``POST /batches/{id}/cancel``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

# At module level: FastAPI resolves the routes' annotations against this module's names.
from fastapi import Request

from capture.batches.model import MAX_PRIORITY
from capture.batches.store import BatchStore
from capture.jobs import JobStore
from capture.recipes.store import RecipeStore
from seedpipe.errors import ConfigError, JobError
from seedpipe.settings import Settings

if TYPE_CHECKING:
    from fastapi import APIRouter

    from capture.jobtypes import JobType
    from capture.recipes.types import RecipeType

MAX_ID = 64
ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
BATCH_ID = {"type": "string", "minLength": 1, "maxLength": MAX_ID, "nullable": True}

# What parse_request takes (the route reads the body itself; FastAPI cannot see it). A member
# given as null is taken as left out, but for job_type and recipe_type (exactly one is given).
BATCH_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "additionalProperties": False,
                "description": "exactly one of job_type or recipe_type says what runs; "
                "exactly one of query, previous_batch or saved_search says which files",
                "oneOf": [{"required": ["job_type"]}, {"required": ["recipe_type"]}],
                "properties": {
                    "job_type": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": 256,
                        "description": "a job per file, of this job type",
                    },
                    "recipe_type": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": 256,
                        "description": "a recipe per file, of this recipe type (the file "
                        "feeds its one file input)",
                    },
                    "revision": {
                        "type": "integer",
                        "minimum": 1,
                        "nullable": True,
                        "description": "the job type's revision (default: the current one); "
                        "recipe types have none",
                    },
                    "query": {
                        "type": "object",
                        "nullable": True,
                        "description": "search filters (seedpipe.query.Query's fields)",
                    },
                    "previous_batch": {**BATCH_ID, "description": "that batch's files again"},
                    "saved_search": {**BATCH_ID, "description": "a saved search's files"},
                    "supersede": {
                        "type": "boolean",
                        "default": False,
                        "description": "the new products supersede the previous batch's",
                    },
                    "priority": {
                        "type": "integer",
                        "minimum": -MAX_PRIORITY,
                        "maximum": MAX_PRIORITY,
                        "default": 0,
                    },
                    "dry_run": {
                        "type": "boolean",
                        "default": False,
                        "description": "answer the count and a sample; record nothing",
                    },
                },
            }
        }
    },
}


def batches_router(
    settings: Settings,
    jobs: JobStore | None = None,
    job_types: Mapping[str, JobType] | None = None,
    revisions: Mapping[str, int] | None = None,
    batches: BatchStore | None = None,
    *,
    plan_soon: Callable[[], None] | None = None,
    recipes: RecipeStore | None = None,
    recipe_types: Mapping[str, RecipeType] | None = None,
) -> APIRouter:
    """Over the stores of the capture service beside them, or over ``settings``' stores (a
    running capture service plans what is recorded within a second)."""
    from fastapi import APIRouter, Body, HTTPException, Query
    from fastapi import Path as PathParam

    from capture.batches import creation, tracking
    from capture.batches.model import parse_request

    router = APIRouter(tags=["batches"])
    state: dict[str, Any] = {}

    def get_jobs() -> JobStore:
        if jobs is not None:
            return jobs
        if "jobs" not in state:
            state["jobs"] = JobStore(settings.path("jobs.db"))
        store: JobStore = state["jobs"]
        return store

    def get_batches() -> BatchStore:
        if batches is not None:
            return batches
        if "batches" not in state:
            state["batches"] = BatchStore(settings.path("batches.db"))
        store: BatchStore = state["batches"]
        return store

    def get_recipes() -> RecipeStore:
        if recipes is not None:
            return recipes
        if "recipes" not in state:
            state["recipes"] = RecipeStore(settings.path("recipes.db"))
        store: RecipeStore = state["recipes"]
        return store

    def get_recipe_types() -> Mapping[str, RecipeType]:
        if recipe_types is not None:
            return recipe_types
        if "recipe_types" not in state:
            from capture.recipes.types import load_recipe_types

            try:
                state["recipe_types"] = load_recipe_types(settings, get_types()[0])
            except ConfigError as exc:
                raise HTTPException(503, f"recipe types cannot be loaded: {exc}") from exc
        types: Mapping[str, RecipeType] = state["recipe_types"]
        return types

    def get_types() -> tuple[Mapping[str, JobType], Mapping[str, int]]:
        if job_types is not None and revisions is not None:
            return job_types, revisions
        if "types" not in state:
            from capture.jobtypes import load_job_types
            from capture.revisions import register_all

            try:
                loaded = load_job_types(settings)
            except ConfigError as exc:
                raise HTTPException(503, f"job types cannot be loaded: {exc}") from exc
            state["types"] = (loaded, register_all(get_jobs().path, loaded))
        types: tuple[Mapping[str, JobType], Mapping[str, int]] = state["types"]
        return types

    @router.post(
        "/batches",
        status_code=201,
        summary="Run a job type or a recipe type again over files of the catalogue (a batch)",
        openapi_extra={"requestBody": BATCH_BODY},
        responses={200: {"description": "a dry run: the count and a sample of the files"}},
    )
    async def create_batch(request: Request, body: Any = Body(...)) -> Any:
        from fastapi.responses import JSONResponse

        index = getattr(request.app.state, "index", None)
        # InvalidInput is the app's 400 {"detail", "field"}.
        req = parse_request(body)
        types, revs = get_types()
        saved = await creation.saved_query(index, req.saved_search) if req.saved_search else None
        out = await creation.create(
            req,
            batches=get_batches(),
            jobs=get_jobs(),
            index=index,  # type: ignore[arg-type]
            job_types=types,
            revisions=revs,
            saved_query=saved,
            recipe_types=get_recipe_types() if req.recipe_type is not None else None,
            recipes=get_recipes(),
        )
        if plan_soon is not None and not req.dry_run:
            plan_soon()
        return JSONResponse(out, status_code=200 if req.dry_run else 201)

    @router.get("/batches")
    def list_batches(
        page: int = Query(default=1, ge=1, le=100_000),
        page_size: int = Query(default=100, ge=1, le=1000),
    ) -> dict[str, Any]:
        found = get_batches().recent(limit=page_size + 1, offset=(page - 1) * page_size)
        return {
            "page": page,
            "page_size": page_size,
            "has_more": len(found) > page_size,
            "results": [tracking.progress(b, get_jobs(), get_recipes()) for b in found[:page_size]],
        }

    @router.get("/batches/{batch_id}")
    def get_batch(
        batch_id: str = PathParam(max_length=MAX_ID, description="the batch's id"),
    ) -> dict[str, Any]:
        batch = get_batches().get(batch_id)
        if batch is None:
            raise HTTPException(404, f"no batch with id {batch_id!r}")
        return tracking.progress(batch, get_jobs(), get_recipes())

    @router.post(
        "/batches/{batch_id}/cancel",
        summary="Cancel a batch: its queued jobs never start",
        responses={409: {"description": "the batch cannot be canceled now", "content": ERROR}},
    )
    def cancel_batch(
        request: Request,
        batch_id: str = PathParam(max_length=MAX_ID, description="the batch's id"),
        kill_running: bool = Query(default=False, description="also cancel its running jobs"),
    ) -> Any:
        user = getattr(request.state, "principal", None)
        by = f"api:{user}" if user else "api"
        try:
            return tracking.cancel(
                batch_id, get_batches(), get_jobs(), by, running=kill_running, recipes=get_recipes()
            )
        except JobError as exc:
            status = 404 if "no batch with id" in str(exc) else 409
            raise HTTPException(status, str(exc)) from exc

    return router
