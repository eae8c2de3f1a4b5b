"""The page's routes: ``/ui`` (and ``/`` for browsers), its assets, the basemap, live events."""

from __future__ import annotations

import gzip
from functools import cache
from typing import Any

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, Response, StreamingResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from composition.web import assets
from composition.web.live import LiveFeed, stream
from seedpipe import __version__

IMMUTABLE = "public, max-age=31536000, immutable"
NO_CACHE = "no-cache"
DOWNLOAD_ROUTE = "/files/{file_id}/content"
RECIPES_ROUTE = "/recipes"

router = APIRouter(tags=["web"], include_in_schema=False)


def page_config(app: FastAPI) -> dict[str, Any]:
    settings = app.state.settings
    from indexer.api.http import leaf_routes

    # Included routers are one route each on newer FastAPI: their own routes are looked into.
    paths = {getattr(r, "path", None) for r in leaf_routes(app.routes)}
    return {
        "version": __version__,
        "basemap_url": "/ui/basemap.geojson",
        "tile_url": settings.api.tile_url,
        "tile_attribution": settings.api.tile_attribution,
        # The file download and the recipes panel appear once the API has those routes.
        "download": "/files/{id}/content" if DOWNLOAD_ROUTE in paths else None,
        "recipes": RECIPES_ROUTE in paths,
        "collections": sorted(settings.workspaces),
    }


def page_response(app: FastAPI) -> Response:
    built = assets.built()
    if built is None:
        return HTMLResponse(
            f"<!doctype html><title>seedpipe</title><p>{assets.NOT_BUILT}</p>",
            status_code=503,
            headers={"Cache-Control": NO_CACHE},
        )
    return HTMLResponse(
        assets.page(page_config(app), built),
        headers={"Cache-Control": NO_CACHE, "Vary": "Accept"},
    )


@router.get("/ui")
async def ui(request: Request) -> Response:
    return page_response(request.app)


@router.get("/ui/assets/{name}")
async def asset(name: str) -> Response:
    path = assets.asset_path(name)
    if path is None:
        raise HTTPException(404, f"no asset {name!r}")
    return FileResponse(
        path,
        media_type=assets.TYPES[path.suffix],
        headers={"Cache-Control": IMMUTABLE},
    )


@cache
def _basemap() -> tuple[bytes, bytes, str]:
    from composition.web.basemap import countries_geojson

    body, etag = countries_geojson()
    return body, gzip.compress(body, 6), etag


@router.get("/ui/basemap.geojson")
async def basemap(request: Request) -> Response:
    import asyncio

    body, packed, etag = await asyncio.to_thread(_basemap)
    headers = {"Cache-Control": "public, max-age=86400", "ETag": etag, "Vary": "Accept-Encoding"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        body = packed
    return Response(body, media_type="application/geo+json", headers=headers)


@router.get("/ui/events")
async def live_events(request: Request) -> Response:
    feed: LiveFeed = request.app.state.live
    sub = feed.subscribe()
    if sub is None:
        raise HTTPException(503, "too many live connections")

    async def body() -> Any:
        try:
            async for chunk in stream(feed, sub, request.is_disconnected):
                yield chunk
        finally:
            feed.unsubscribe(sub)

    return StreamingResponse(
        body(),
        media_type="text/event-stream",
        headers={"Cache-Control": NO_CACHE, "X-Accel-Buffering": "no"},
    )


def prefers_html(accept: str) -> bool:
    """Whether an Accept header asks for HTML before JSON (a browser's does; curl's ``*/*``,
    httpx's and a STAC client's do not)."""
    html_q = json_q = 0.0
    for part in accept.split(",")[:50]:
        kind, _, rest = part.strip().partition(";")
        kind = kind.strip().lower()
        q = 1.0
        for param in rest.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if kind in ("text/html", "application/xhtml+xml"):
            html_q = max(html_q, q)
        elif kind in ("application/json", "application/geo+json") or kind.endswith("+json"):
            json_q = max(json_q, q)
    return html_q > 0 and html_q > json_q


class BrowserLanding:
    """``GET /`` from a browser gets the page; every other client the STAC landing page."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/" and scope["method"] in ("GET", "HEAD"):
            accept = ""
            for name, value in scope.get("headers", ()):
                if name == b"accept":
                    accept = value.decode("latin-1")
            if prefers_html(accept):
                response = page_response(scope["app"])
                await response(scope, receive, send)
                return

            async def vary(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message["headers"] = [*message.get("headers", []), (b"vary", b"Accept")]
                await send(message)

            await self.app(scope, receive, vary)
            return
        await self.app(scope, receive, send)
