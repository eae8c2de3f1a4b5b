"""``POST /files/{id}/purge``: capture's purge over HTTP (query: descendants, dry_run, force)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# At module level: FastAPI resolves the routes' annotations against this module's names.
from fastapi import Request

from seedpipe.errors import InvalidInput
from seedpipe.settings import Settings

if TYPE_CHECKING:
    from fastapi import APIRouter

    from seedpipe.bus.base import EventBus

MAX_ID = 128
ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


def purge_router(settings: Settings, bus: EventBus | None = None) -> APIRouter:
    """Over ``bus`` (the capture service's, in ``up``) or a bus opened per request."""
    from fastapi import APIRouter, HTTPException, Query
    from fastapi import Path as PathParam

    from capture.purge import purge
    from seedpipe.workspaces import Workspaces

    router = APIRouter(tags=["files"])

    @router.post(
        "/files/{file_id}/purge",
        summary="Purge a file (with descendants, its products too): bytes and record",
        responses={
            409: {"description": "queued or running work still uses them: force", "content": ERROR}
        },
    )
    async def purge_file(
        request: Request,
        file_id: str = PathParam(max_length=MAX_ID, description="the file's id"),
        descendants: bool = Query(default=False, description="also the products made from it"),
        dry_run: bool = Query(default=False, description="say what would go; change nothing"),
        force: bool = Query(default=False, description="even while its jobs are queued or run"),
    ) -> dict[str, Any]:
        index = request.app.state.index
        user = getattr(request.state, "principal", None)
        by = f"api:{user}" if user else "api"
        kwargs: dict[str, Any] = {
            "descendants": descendants,
            "dry_run": dry_run,
            "force": force,
            "by": by,
        }
        try:
            if bus is not None or dry_run:
                return await purge(settings, index, bus, Workspaces(settings), file_id, **kwargs)
            from seedpipe.bus import open_bus

            async with open_bus(settings.bus) as opened:
                return await purge(settings, index, opened, Workspaces(settings), file_id, **kwargs)
        except InvalidInput as exc:
            if exc.field == "id":
                raise HTTPException(404, str(exc)) from exc
            if exc.field == "force":
                raise HTTPException(409, str(exc)) from exc
            raise  # the app's 400 {"detail", "field"}

    return router
