"""The STAC API: landing page, conformance, a collection per workspace, item search."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Path, Request, Response

from indexer.api import base_url, get_index, link
from indexer.api.content import public_url
from indexer.api.http import with_etag
from indexer.backends.base import CollectionSummary
from indexer.stac.items import (
    CONFORMANCE,
    STAC_VERSION,
    collection_href,
    encode_json,
    to_collection,
    to_item,
)
from indexer.stac.params import STAC_GET_PARAMS, stac_get_body, stac_query
from indexer.stac.queryables import QUERYABLES_REL, SCHEMA_JSON, queryables
from seedpipe.errors import InvalidInput
from seedpipe.query.params import parse_json
from seedpipe.views import AnyRecord

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
        {"rel": QUERYABLES_REL, "type": SCHEMA_JSON, "href": f"{root}/queryables"},
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


@router.get(
    "/queryables",
    summary="Properties a filter may name (JSON Schema)",
    response_class=Response,
    responses={200: {"content": {SCHEMA_JSON: {}}, "description": "Queryables"}},
)
async def all_queryables(request: Request) -> Response:
    href = f"{base_url(request)}/queryables"
    return _schema(queryables(href, sorted(request.app.state.settings.workspaces)))


@router.get(
    "/collections/{collection_id}/queryables",
    summary="Properties a filter of this collection's items may name (JSON Schema)",
    response_class=Response,
    responses={200: {"content": {SCHEMA_JSON: {}}, "description": "Queryables"}},
)
async def collection_queryables(request: Request, collection_id: str = _id()) -> Response:
    _known(request, collection_id)
    href = f"{collection_href(base_url(request), collection_id)}/queryables"
    return _schema(queryables(href, [collection_id]))


def _schema(body: dict[str, Any]) -> Response:
    return Response(json.dumps(body, separators=(",", ":")), media_type=SCHEMA_JSON)


@router.get("/conformance", summary="Conformance classes")
async def conformance() -> dict[str, Any]:
    return {"conformsTo": CONFORMANCE}


@router.get("/collections", summary="One collection per workspace")
async def collections(request: Request) -> dict[str, Any]:
    root = base_url(request)
    names = sorted(request.app.state.settings.workspaces)
    return {
        "collections": [await _collection(request, n) for n in names],
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
    return await _collection(request, collection_id)


SUMMARY_TTL_S = 30.0


async def _collection(request: Request, name: str) -> dict[str, Any]:
    """The collection from a summary of its records, kept ``SUMMARY_TTL_S`` seconds (it walks
    every record of the workspace)."""
    cache: dict[str, tuple[float, CollectionSummary]] = request.app.state.summaries
    now = time.monotonic()
    kept = cache.get(name)
    if kept is None or now - kept[0] > SUMMARY_TTL_S:
        kept = (now, await get_index(request).summarize(name))
        cache[name] = kept
    settings = request.app.state.settings
    return to_collection(name, base_url(request), kept[1], settings.api.license)


@router.get(
    "/collections/{collection_id}/items",
    summary="Items of one collection",
    openapi_extra=_documented(STAC_GET_PARAMS - {"intersects"}),
    response_class=Response,
)
async def items(request: Request, collection_id: str = _id()) -> Response:
    _known(request, collection_id)
    params = _params(request)
    if "intersects" in params:
        raise InvalidInput("is not an items parameter; use /search", field="intersects")
    body = stac_get_body(params)
    # pystac-client's Collection.get_items() sends collections=<this one>: the page holds
    # what both select.
    asked = body.get("collections")
    if asked is not None and collection_id not in asked:
        return _page(request, body, PageOf([], 0, None), method="GET", collection=collection_id)
    body["collections"] = [collection_id]
    return await _search(request, body, method="GET", collection=collection_id)


@router.get(
    "/collections/{collection_id}/items/{item_id}",
    summary="One item",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}, "description": "A STAC Item"}},
)
async def item(request: Request, collection_id: str = _id(), item_id: str = _id()) -> Response:
    _known(request, collection_id)
    record = await get_index(request).get(item_id)
    if record is None or record.workspace.name != collection_id:
        raise HTTPException(status_code=404, detail=f"no item {item_id!r} in {collection_id!r}")
    return with_etag(request, encode_json(_item(request, record, base_url(request))), GEOJSON)


@router.get(
    "/search",
    summary="Item search (GET)",
    openapi_extra=_documented(STAC_GET_PARAMS),
    response_class=Response,
)
async def search_get(request: Request) -> Response:
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
    response_class=Response,
)
async def search_post(request: Request) -> Response:
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


def _item(request: Request, record: AnyRecord, root: str) -> dict[str, Any]:
    return to_item(record, root, public_url(request.app.state.settings, record, root))


@dataclass(frozen=True, slots=True)
class PageOf:
    records: Sequence[AnyRecord]
    total: int
    next_token: str | None
    prev_token: str | None = None


async def _search(
    request: Request, body: dict[str, Any], *, method: str, collection: str | None = None
) -> Response:
    query = stac_query(body, sorted(request.app.state.settings.workspaces))
    found = await get_index(request).search_views(query)
    page = PageOf(list(found.records), found.total, found.next_token, found.prev_token)
    return _page(request, body, page, method=method, collection=collection)


def _page(
    request: Request,
    body: dict[str, Any],
    found: PageOf,
    *,
    method: str,
    collection: str | None = None,
) -> Response:
    root = base_url(request)
    links: list[dict[str, Any]] = [
        {"rel": "root", "type": "application/json", "href": f"{root}/"},
    ]
    if method == "GET":
        links.append({"rel": "self", "type": GEOJSON, "href": link(request)})
    else:
        links.append({"rel": "self", "type": GEOJSON, "href": f"{root}/search", "method": "POST"})
    if collection is not None:
        href = collection_href(root, collection)
        links.append({"rel": "collection", "type": "application/json", "href": href})
        links.append({"rel": "parent", "type": "application/json", "href": href})
    for rel, token in (("next", found.next_token), ("prev", found.prev_token)):
        if token is None:
            continue
        if method == "GET":
            href = link(request, token=token)
            links.append({"rel": rel, "type": GEOJSON, "href": href, "method": "GET"})
        else:
            again = {k: v for k, v in body.items() if k != "next"}
            again["token"] = token
            links.append(
                {
                    "rel": rel,
                    "type": GEOJSON,
                    "href": f"{root}/search",
                    "method": "POST",
                    "body": json.loads(json.dumps(again)),
                    "merge": False,
                }
            )
    page = {
        "type": "FeatureCollection",
        "features": [_item(request, r, root) for r in found.records],
        "links": links,
        "numberMatched": found.total,
        "numberReturned": len(found.records),
        "timeStamp": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
    }
    return Response(encode_json(page), media_type=GEOJSON)
