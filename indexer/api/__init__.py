"""The HTTP API: Scale-style ``/files``, a STAC API and whatever routers other services add."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from seedpipe import __version__
from seedpipe.errors import CatalogError, InvalidInput

if TYPE_CHECKING:
    from indexer.backends.base import FileIndex
    from seedpipe.settings import Settings

log = logging.getLogger(__name__)


def create_app(
    settings: Settings,
    index: FileIndex | None = None,
    extra_routers: Iterable[APIRouter] = (),
) -> FastAPI:
    """The app; it opens (and closes) ``settings.index`` itself unless ``index`` is given."""
    from indexer.api import http, openapi
    from indexer.api.content import router as content_router
    from indexer.api.files import router as files_router
    from indexer.api.stac import router as stac_router

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if index is not None:
            app.state.index = index
            yield
            return
        from indexer.backends import open_index

        async with open_index(settings.index) as opened:
            app.state.index = opened
            yield

    app = FastAPI(
        title="seedpipe",
        version=__version__,
        description="Search file records by place, time and type: Scale-style /files and STAC.",
        lifespan=lifespan,
        openapi_url=None,  # served by indexer.api.openapi (3.0, its own media type)
        docs_url=None,
        redoc_url=None,
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
    for router in extra_routers:
        app.include_router(router)
    openapi.install(app)
    http.install(app, settings)
    return app


async def _healthz(request: Request) -> dict[str, str]:
    """200 once the index answers a query; 503 (the CatalogError handler) when it does not."""
    from indexer.query import Query

    await get_index(request).count(Query(ids=["healthz"]))
    return {"status": "ok", "version": __version__}


async def _invalid_input(request: Request, exc: Exception) -> JSONResponse:
    from indexer.params import PageTooDeep

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


def base_url(request: Request) -> str:
    """The public root of the API (``api.public_url`` behind a proxy, else what was asked)."""
    settings: Settings = request.app.state.settings
    return (settings.api.public_url or str(request.base_url)).rstrip("/")


def link(request: Request, **params: str | int | None) -> str:
    """This request's URL under the public root, with ``params`` replaced (for next/previous);
    a ``None`` value removes that parameter."""
    gone = [name for name, value in params.items() if value is None]
    url = request.url.remove_query_params(gone).include_query_params(
        **{name: value for name, value in params.items() if value is not None}
    )
    query = f"?{url.query}" if url.query else ""
    return f"{base_url(request)}{url.path}{query}"


def get_index(request: Request) -> FileIndex:
    index: FileIndex = request.app.state.index
    return index
