"""The STAC API: landing page, conformance, a collection per workspace, item search."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, HTTPException, Path, Request

from indexer.api import base_url, get_index, link
from indexer.stac.items import CONFORMANCE, STAC_VERSION, to_collection, to_item
from indexer.stac.params import STAC_GET_PARAMS, stac_get_body, stac_query
from seedpipe.errors import InvalidInput
from seedpipe.query.params import parse_json

router = APIRouter(tags=["stac"])
GEOJSON = "application/geo+json"
MAX_BODY_BYTES = 8 * 1024 * 1024


def _id() -> Any:
    # A fresh Path() per parameter: FastAPI binds a shared one to the first name it sees.
    return Path(min_length=1, max_length=128)


def _params(request: Request) -> dict[str, list[str]]:
    return {k: request.query_params.getlist(k) for k in request.query_params}


def _documented(names: frozenset[str]) -> dict[str, Any]:
    return {
        "parameters": [
            {"name": n, "in": "query", "required": False, "schema": {"type": "string"}}
            for n in sorted(names)
        ]
    }


@router.get("/", summary="STAC landing page")
async def landing(request: Request) -> dict[str, Any]:
    root = base_url(request)
    settings = request.app.state.settings
    links = [
        {"rel": "self", "type": "application/json", "href": f"{root}/"},
        {"rel": "root", "type": "application/json", "href": f"{root}/"},
        {"rel": "conformance", "type": "application/json", "href": f"{root}/conformance"},
        {"rel": "data", "type": "application/json", "href": f"{root}/collections"},
        {"rel": "search", "type": GEOJSON, "href": f"{root}/search", "method": "GET"},
        {"rel": "search", "type": GEOJSON, "href": f"{root}/search", "method": "POST"},
        {
            "rel": "service-desc",
            "type": "application/vnd.oai.openapi+json;version=3.0",
            "href": f"{root}/openapi.json",
        },
        {"rel": "service-doc", "type": "text/html", "href": f"{root}/docs"},
    ]
    links += [
        {"rel": "child", "type": "application/json", "href": f"{root}/collections/{name}"}
        for name in sorted(settings.workspaces)
    ]
    return {
        "type": "Catalog",
        "stac_version": STAC_VERSION,
        "id": "seedpipe",
        "title": "seedpipe",
        "description": "File records found by place, time and type",
        "conformsTo": CONFORMANCE,
        "links": links,
    }


@router.get("/conformance", summary="Conformance classes")
async def conformance() -> dict[str, Any]:
    return {"conformsTo": CONFORMANCE}


@router.get("/collections", summary="One collection per workspace")
async def collections(request: Request) -> dict[str, Any]:
    root = base_url(request)
    names = sorted(request.app.state.settings.workspaces)
    return {
        "collections": [to_collection(n, root) for n in names],
        "links": [
            {"rel": "self", "type": "application/json", "href": f"{root}/collections"},
            {"rel": "root", "type": "application/json", "href": f"{root}/"},
        ],
    }


def _known(request: Request, collection_id: str) -> None:
    if collection_id not in request.app.state.settings.workspaces:
        raise HTTPException(status_code=404, detail=f"no collection {collection_id!r}")


@router.get("/collections/{collection_id}", summary="One collection")
async def collection(request: Request, collection_id: str = _id()) -> dict[str, Any]:
    _known(request, collection_id)
    return to_collection(collection_id, base_url(request))


@router.get(
    "/collections/{collection_id}/items",
    summary="Items of one collection",
    openapi_extra=_documented(frozenset({"bbox", "datetime", "limit", "token"})),
)
async def items(request: Request, collection_id: str = _id()) -> dict[str, Any]:
    _known(request, collection_id)
    params = _params(request)
    for name in params:
        if name not in ("bbox", "datetime", "limit", "token"):
            raise InvalidInput("is not a supported items parameter", field=name)
    body = stac_get_body(params)
    body["collections"] = [collection_id]
    return await _search(request, body, method="GET")


@router.get("/collections/{collection_id}/items/{item_id}", summary="One item")
async def item(
    request: Request, collection_id: str = _id(), item_id: str = _id()
) -> dict[str, Any]:
    _known(request, collection_id)
    record = await get_index(request).get(item_id)
    if record is None or record.workspace.name != collection_id:
        raise HTTPException(status_code=404, detail=f"no item {item_id!r} in {collection_id!r}")
    return to_item(record, base_url(request))


@router.get("/search", summary="Item search (GET)", openapi_extra=_documented(STAC_GET_PARAMS))
async def search_get(request: Request) -> dict[str, Any]:
    return await _search(request, stac_get_body(_params(request)), method="GET")


@router.post(
    "/search",
    summary="Item search (POST)",
    openapi_extra={
        "requestBody": {
            "required": False,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
async def search_post(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise InvalidInput(f"is over {MAX_BODY_BYTES} bytes", field="body")
    try:
        text = raw.decode("utf-8") if raw else "{}"
    except UnicodeDecodeError as exc:
        raise InvalidInput("is not UTF-8", field="body") from exc
    body = parse_json(text or "{}", "body")
    if not isinstance(body, dict):
        raise InvalidInput("must be a JSON object", field="body")
    return await _search(request, body, method="POST")


async def _search(request: Request, body: dict[str, Any], *, method: str) -> dict[str, Any]:
    query = stac_query(body)
    found = await get_index(request).search(query)
    root = base_url(request)
    links: list[dict[str, Any]] = [
        {"rel": "root", "type": "application/json", "href": f"{root}/"},
    ]
    if found.next_token is not None:
        if method == "GET":
            href = link(request, token=found.next_token)
            links.append({"rel": "next", "type": GEOJSON, "href": href, "method": "GET"})
        else:
            next_body = {k: v for k, v in body.items() if k != "next"}
            next_body["token"] = found.next_token
            links.append(
                {
                    "rel": "next",
                    "type": GEOJSON,
                    "href": f"{root}/search",
                    "method": "POST",
                    "body": json.loads(json.dumps(next_body)),
                    "merge": False,
                }
            )
    return {
        "type": "FeatureCollection",
        "features": [to_item(r, root) for r in found.records],
        "links": links,
        "numberMatched": found.total,
        "numberReturned": len(found.records),
    }
