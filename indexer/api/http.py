"""HTTP as clients expect it: CORS, gzip, HEAD and OPTIONS on every route, ETags on records."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from fastapi import FastAPI

    from seedpipe.settings import Settings

GZIP_MIN_BYTES = 1024
# uvicorn's h11 drops a request whose head is over 16 KiB; a GET of 10,000 ids is longer
MAX_REQUEST_HEAD = 2 * 1024 * 1024
EXPOSED = ["ETag", "Content-Disposition", "Content-Range", "Accept-Ranges", "Link"]


def install(app: FastAPI, settings: Settings) -> None:
    """Wrap ``app`` in gzip, CORS (when ``api.cors_origins`` names any) and HEAD/OPTIONS."""
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MIN_BYTES)
    if settings.api.cors_origins:
        origins = settings.api.cors_origins
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "HEAD", "POST", "OPTIONS"],
            allow_headers=["*"],
            expose_headers=EXPOSED,
            allow_credentials=False,
            max_age=600,
        )
    app.add_middleware(HeadOptionsMiddleware)


class HeadOptionsMiddleware:
    """``HEAD`` is a ``GET`` without its body; ``OPTIONS`` answers 204 with the path's ``Allow``.

    A CORS preflight (``Origin`` + ``Access-Control-Request-Method``) is left to the CORS
    middleware inside, when there is one.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if method == "HEAD":
            await self.app({**scope, "method": "GET"}, receive, _bodiless(send))
            return
        if method == "OPTIONS" and not _preflight(scope):
            await self._options(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _options(self, scope: Scope, receive: Receive, send: Send) -> None:
        methods = allowed_methods(scope)
        if not methods:
            response = Response(status_code=404)
        else:
            allow = ", ".join(sorted(methods | {"HEAD", "OPTIONS"}))
            response = Response(status_code=204, headers={"Allow": allow})
        await response(scope, receive, send)


def _preflight(scope: Scope) -> bool:
    headers = {k.lower(): v for k, v in scope.get("headers", [])}
    if b"origin" not in headers or b"access-control-request-method" not in headers:
        return False
    app = scope.get("app")
    settings = getattr(getattr(app, "state", None), "settings", None)
    return bool(settings is not None and settings.api.cors_origins)


def allowed_methods(scope: Scope) -> set[str]:
    """The methods the app's routes answer at this path (empty when none matches)."""
    app = scope.get("app")
    methods: set[str] = set()
    probe = {**scope, "method": "GET"}
    for route in leaf_routes(getattr(app, "routes", [])):
        match, _ = route.matches(probe)
        if match != Match.NONE:
            methods |= set(getattr(route, "methods", None) or {"GET"})
    return methods


def leaf_routes(routes: Any) -> Any:
    """The routes an app answers with, included routers' own routes in their place."""
    # FastAPI keeps an included router as one route holding the router (all ours are included
    # without a prefix, so their own paths match).
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from leaf_routes(inner.routes)
        else:
            yield route


def _bodiless(send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.body":
            if message.get("more_body", False):
                return
            message = {"type": "http.response.body", "body": b"", "more_body": False}
        await send(message)

    return wrapped


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def with_etag(request: Request, body: bytes, media_type: str, **headers: Any) -> Response:
    """The body with its ETag; 304 when ``If-None-Match`` already names it."""
    tag = etag_of(body)
    wanted = request.headers.get("if-none-match", "")
    tags = {t.strip().removeprefix("W/") for t in wanted.split(",")}
    if tag in tags or "*" in tags:
        return Response(status_code=304, headers={"ETag": tag})
    return Response(content=body, media_type=media_type, headers={"ETag": tag, **headers})
