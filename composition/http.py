"""The one HTTP app: the indexer's ``/files`` and STAC routes, capture's ``/jobs``, health."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from seedpipe import __version__
from seedpipe.errors import CatalogError, InvalidInput

if TYPE_CHECKING:
    from capture.jobs import JobStore
    from capture.service import CaptureService
    from indexer.backends.base import FileIndex
    from seedpipe.settings import Settings

log = logging.getLogger(__name__)


def create_app(
    settings: Settings, index: FileIndex | None = None, capture: CaptureService | None = None
) -> FastAPI:
    """The app; it opens (and closes) ``settings.index`` itself unless ``index`` is given.

    Jobs and recipes are those of ``capture`` (the service running beside it in ``up``), or,
    without it, read from ``settings``' stores, recipes started through an engine of their own.
    """
    from composition import metrics
    from composition.auth import guard
    from composition.web.live import LiveFeed
    from composition.web.routes import BrowserLanding
    from composition.web.routes import router as web_router
    from indexer.api import http, openapi
    from indexer.api.content import router as content_router
    from indexer.api.files import router as files_router
    from indexer.api.stac import router as stac_router

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            if index is not None:
                app.state.index = index
                yield
                return
            from indexer.backends import open_index

            async with open_index(settings.index) as opened:
                app.state.index = opened
                yield
        finally:
            await app.state.live.close()

    app = FastAPI(
        title="seedpipe",
        version=__version__,
        description="Search file records by place, time and type: Scale-style /files and STAC.",
        lifespan=lifespan,
        openapi_url=None,  # served by indexer.api.openapi (3.0, its own media type)
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(guard(settings.api.auth))],
    )
    app.state.settings = settings
    app.state.summaries = {}  # collection summaries by workspace (indexer.api.stac)
    if index is not None:
        app.state.index = index
    app.add_exception_handler(InvalidInput, _invalid_input)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(CatalogError, _catalog_error)
    app.add_api_route("/healthz", _healthz, methods=["GET"], summary="Ready: the index answers")
    app.include_router(files_router)
    app.include_router(content_router)
    app.include_router(stac_router)
    for router in _capture_routers(settings, index, capture):
        app.include_router(router)
    # Composition-level: the page (files, jobs and recipes together) and operators' metrics.
    app.state.live = LiveFeed(settings)
    app.include_router(web_router)
    app.include_router(metrics.router)
    metrics.watch_jobs(_jobs_for_metrics(settings, capture.store if capture else None))
    app.add_middleware(BrowserLanding)
    app.add_middleware(metrics.SearchTimer)
    openapi.install(app)
    http.install(app, settings)
    return app


def _capture_routers(
    settings: Settings, index: FileIndex | None, capture: CaptureService | None
) -> list[APIRouter]:
    from capture.batches.api import batches_router
    from capture.http.control import control_router
    from capture.http.jobs import jobs_router
    from capture.http.purge import purge_router
    from capture.recipes.api import offline_starter, recipes_router

    if capture is None:
        return [
            control_router(settings),
            batches_router(settings),
            purge_router(settings),
            jobs_router(settings),
            recipes_router(settings, starter=offline_starter(settings)),
        ]
    from capture.recipes.starts import start_with_ids

    service = capture

    async def start_recipe(rtype: str, files: Any, json_inputs: Any) -> Any:
        return await start_with_ids(service.engine, index, rtype, files, json_inputs)

    async def publish_queued(job: Any) -> None:
        from seedpipe.events import JOB_QUEUED

        await service.ctx.publish_job(JOB_QUEUED, job)
        service.wake()

    return [
        control_router(
            settings,
            service.store,
            service.job_types,
            cancel=service.cancel,
            publish=publish_queued,
        ),
        batches_router(
            settings,
            service.store,
            service.job_types,
            service.revisions,
            service.batches,
            plan_soon=service.plan_soon,
            recipes=service.recipes,
            recipe_types=service.recipe_types,
        ),
        purge_router(settings, service.bus),
        jobs_router(settings, service.store),
        recipes_router(
            settings,
            recipes=service.recipes,
            jobs=service.store,
            recipe_types=service.recipe_types,
            starter=start_recipe,
        ),
    ]


def _jobs_for_metrics(settings: Settings, jobs: JobStore | None) -> Callable[[], JobStore | None]:
    opened: list[JobStore] = [jobs] if jobs is not None else []

    def store() -> JobStore | None:
        if not opened:
            from capture.jobs import JobStore

            path = settings.path("jobs.db")
            if not path.exists():  # no capture service has run here: no jobs to count
                return None
            opened.append(JobStore(path))
        return opened[0]

    return store


async def _healthz(request: Request) -> dict[str, str]:
    """200 once the index answers a query; 503 (the CatalogError handler) when it does not."""
    from indexer.api import get_index
    from seedpipe.query.model import Query

    await get_index(request).count(Query(ids=["healthz"]))
    return {"status": "ok", "version": __version__}


async def _invalid_input(request: Request, exc: Exception) -> JSONResponse:
    from seedpipe.query.params import PageTooDeep

    field = getattr(exc, "field", None)
    status = 404 if isinstance(exc, PageTooDeep) else 400
    return JSONResponse({"detail": str(exc), "field": field}, status_code=status)


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    if errors:
        loc = [str(p) for p in errors[0].get("loc", ()) if p not in ("query", "path", "body")]
        field = ".".join(loc) or "request"
        message = f"{field}: {errors[0].get('msg', 'is invalid')}"
    else:
        field, message = "request", "invalid request"
    return JSONResponse({"detail": message, "field": field}, status_code=400)


async def _catalog_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("index failed for %s %s: %s", request.method, request.url.path, exc)
    return JSONResponse({"detail": "the file index is unavailable"}, status_code=503)
