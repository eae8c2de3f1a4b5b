"""Scale-style ``GET /files`` and ``GET /files/{id}`` with Scale's parameter names."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, HTTPException, Path, Request, Response

from indexer.api import base_url, get_index, link
from indexer.api.content import public_url, with_public_url
from indexer.api.http import with_etag
from indexer.backends.base import FileIndex, JsonPage
from seedpipe.query.model import MAX_LIMIT, Query
from seedpipe.query.params import MAX_OFFSET, SCALE_PARAMS, files_query

router = APIRouter(tags=["files"])


def _documented(names: frozenset[str]) -> list[dict[str, Any]]:
    # Parameters are parsed by seedpipe.query.params (so errors are 400s naming them); listed
    # here only so the OpenAPI document shows them.
    return [
        {"name": n, "in": "query", "required": False, "schema": {"type": "string"}}
        for n in sorted(names)
    ]


async def page_of(index: FileIndex, query: Query, page: int, page_size: int) -> JsonPage:
    """Scale's page N: where the query's cursor says, else walked to through stable tokens."""
    if query.token is not None:
        return await index.search_json(query.model_copy(update={"limit": page_size}))
    skip = (page - 1) * page_size
    token: str | None = None
    total = -1
    while skip > 0:
        step = min(skip, MAX_LIMIT)
        found = await index.search_json(query.model_copy(update={"limit": step, "token": token}))
        total = found.total
        if found.next_token is None:
            return JsonPage(docs=[], total=total, next_token=None)
        token, skip = found.next_token, skip - step
    return await index.search_json(query.model_copy(update={"limit": page_size, "token": token}))


@router.get(
    "/files",
    summary="Search file records (Scale's /files parameters plus place, time and type filters)",
    openapi_extra={"parameters": _documented(SCALE_PARAMS)},
    response_class=Response,
    responses={200: {"content": {"application/json": {}}, "description": "Scale's page shape"}},
)
async def list_files(request: Request) -> Response:
    params = {k: request.query_params.getlist(k) for k in request.query_params}
    query, page, page_size = files_query(params)
    found = await page_of(get_index(request), query, page, page_size)
    after = found.next_token
    # next carries a cursor (no walk, no depth limit); previous is walked to, when it may be
    back = page > 1 and (page - 2) * page_size <= MAX_OFFSET
    head = {
        "count": found.total,
        "next": link(request, page=page + 1, cursor=after) if after else None,
        "previous": link(request, page=page - 1, cursor=None) if back else None,
    }
    # The records' stored JSON goes out as it is: no decoding and re-encoding of each record
    # (for a page of 1,000 that is most of the time a request takes).
    head_json = json.dumps(head, separators=(",", ":"))
    settings, root = request.app.state.settings, base_url(request)
    docs = [with_public_url(settings, doc, root) for doc in found.docs]
    body = f'{head_json[:-1]},"results":[{",".join(docs)}]}}'
    return Response(content=body, media_type="application/json")


@router.get("/files/{file_id}", summary="One file record", response_class=Response)
async def get_file(request: Request, file_id: str = Path(min_length=1, max_length=128)) -> Response:
    record = await get_index(request).get(file_id)
    if record is None:
        raise HTTPException(status_code=404, detail=f"no file {file_id!r}")
    data = record.to_scale()
    data["url"] = public_url(request.app.state.settings, record, base_url(request))
    body = json.dumps(data, separators=(",", ":")).encode()
    return with_etag(request, body, "application/json")


# Scale serves these under its REST version, with trailing slashes: the same routes there.
router.add_api_route(
    "/v6/files/",
    list_files,
    methods=["GET"],
    summary="Scale v6 alias of GET /files",
    response_class=Response,
)
router.add_api_route(
    "/v6/files/{file_id}/",
    get_file,
    methods=["GET"],
    summary="Scale v6 alias of GET /files/{file_id}",
    response_class=Response,
)
