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


def purge_router(settings: Settings, bus: EventBus | None = None) -> APIRouter:
    """Over ``bus`` (the capture service's, in ``up``) or a bus opened per request."""
    from fastapi import APIRouter, HTTPException

    from capture.purge import purge
    from seedpipe.workspaces import Workspaces

    router = APIRouter(tags=["files"])

    @router.post("/files/{file_id}/purge")
    async def purge_file(
        file_id: str,
        request: Request,
        descendants: bool = False,
        dry_run: bool = False,
        force: bool = False,
    ) -> dict[str, Any]:
        if len(file_id) > MAX_ID:
            raise HTTPException(400, "file_id: too long")
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
            status = 404 if exc.field == "id" else 409 if exc.field == "force" else 400
            raise HTTPException(status, str(exc)) from exc

    return router
