"""Downloads: ``GET /files/{id}/content`` streams a file (Range, Content-Disposition) or, for a
workspace that is not on local disk, redirects to a URL it can be fetched from (presigned)."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, HTTPException, Path, Request, Response
from fastapi.responses import FileResponse, RedirectResponse

from indexer.api import get_index
from seedpipe.errors import SeedpipeError, WorkspaceFileNotFound
from seedpipe.workspaces import Workspaces

if TYPE_CHECKING:
    from seedpipe.settings import Settings
    from seedpipe.views import AnyRecord

log = logging.getLogger(__name__)
router = APIRouter(tags=["files"])
NOT_THERE = "the file's content is not in its workspace"


def content_href(root: str, file_id: str) -> str:
    return f"{root.rstrip('/')}/files/{file_id}/content"


def public_url(settings: Settings, record: AnyRecord, root: str) -> str:
    """Where a client downloads the file: the stored url when its workspace has a public
    ``base_url``, else this API's content route."""
    ws = settings.workspaces.get(record.workspace.name)
    if ws is not None and ws.base_url and record.url:
        return record.url
    return content_href(root, record.id)


def with_public_url(settings: Settings, doc: str, root: str) -> str:
    """A record's stored JSON with its ``url`` made :func:`public_url` (no decoding when its
    workspace is public; one splice of the value otherwise)."""
    name_at = doc.find('"workspace":{"name":')
    if name_at >= 0:
        name, _ = json.JSONDecoder().raw_decode(doc, name_at + len('"workspace":{"name":'))
        ws = settings.workspaces.get(name)
        if ws is not None and ws.base_url:
            return doc
    key = '"url":'
    at = doc.find(key)
    # An unescaped '"url":' is always a key, but meta_data may hold one too: splice only when
    # the record's own key is the only one, else decode the record.
    if at < 0 or doc.find(key, at + 1) >= 0 or '"id":' not in doc[:16]:
        data = json.loads(doc)
        data["url"] = content_href(root, data["id"])
        return json.dumps(data, separators=(",", ":"))
    file_id, _ = json.JSONDecoder().raw_decode(doc, doc.index('"id":') + len('"id":'))
    _, end = json.JSONDecoder().raw_decode(doc, at + len(key))
    return doc[: at + len(key)] + json.dumps(content_href(root, file_id)) + doc[end:]


def workspaces(request: Request) -> Workspaces:
    state = request.app.state
    if getattr(state, "workspaces", None) is None:
        state.workspaces = Workspaces(state.settings)
    opened: Workspaces = state.workspaces
    return opened


@router.get(
    "/files/{file_id}/content",
    summary="The file itself (Range requests; a redirect to a presigned URL for S3)",
    response_class=Response,
    responses={
        200: {"description": "The file's bytes, with its media type", "content": {"*/*": {}}},
        206: {"description": "The requested byte range", "content": {"*/*": {}}},
        307: {"description": "Fetch it from the Location (a presigned or public URL)"},
        416: {"description": "The Range lies outside the file"},
    },
)
async def file_content(
    request: Request, file_id: str = Path(min_length=1, max_length=128)
) -> Response:
    record = await get_index(request).get(file_id)
    if record is None:
        raise HTTPException(status_code=404, detail=f"no file {file_id!r}")
    settings = request.app.state.settings
    if record.workspace.name not in settings.workspaces:
        raise HTTPException(status_code=404, detail=f"{NOT_THERE} (no such workspace)")
    ws = workspaces(request)[record.workspace.name]
    try:
        local = ws.local_path(record.file_path)
        if local is None:
            url = await asyncio.to_thread(_fetchable, ws, record.file_path)
            return RedirectResponse(url, status_code=307)
        await asyncio.to_thread(ws.stat, record.file_path)
    except WorkspaceFileNotFound:
        raise HTTPException(status_code=404, detail=NOT_THERE) from None
    except SeedpipeError as exc:
        log.warning("content of %s: %s", record.id, exc)
        raise HTTPException(status_code=404, detail=NOT_THERE) from None
    return FileResponse(
        local,
        media_type=record.media_type,
        filename=record.file_name,
        content_disposition_type="attachment",
    )


def _fetchable(ws: Any, path: str) -> str:
    ws.stat(path)  # a missing object is a 404 here, not a presigned URL that fails later
    url: str | None = ws.url_for(path)
    if not url:
        raise WorkspaceFileNotFound(f"{path}: no URL to fetch it from")
    return url
