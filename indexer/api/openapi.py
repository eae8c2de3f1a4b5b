"""The OpenAPI 3.0 document, as the API behaves: typed and described query parameters (the
routes parse them themselves, so FastAPI cannot see them), error answers with their body, the
POST /search body, and FastAPI's 3.1 schemas lowered to 3.0."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, get_args

from fastapi import Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse

from indexer.stac.filter import CRS84, LANGS
from indexer.stac.params import DEFAULT_LIMIT
from seedpipe.query.model import MAX_LIMIT, MAX_LIST, SortField
from seedpipe.query.params import MAX_ASKED, MAX_PAGE, MAX_PAGE_SIZE, SCALE_BOUNDS, SCALE_LISTS

if TYPE_CHECKING:
    from fastapi import FastAPI

OPENAPI_30 = "application/vnd.oai.openapi+json;version=3.0"
SORT_FIELDS = get_args(SortField)
ERROR = {"$ref": "#/components/schemas/Error"}
# NUL never reaches an index (SQLite and Lucene treat it as a terminator): a 400
TEXT = {"type": "string", "maxLength": 1024, "pattern": "^[^\\u0000]*$"}
STRINGS = {"type": "array", "items": TEXT, "maxItems": MAX_LIST}
STAC_SORT = ["datetime", "start_datetime", "end_datetime", "created", "updated", "id", "title"]


def _q(name: str, schema: dict[str, Any], description: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
        **extra,
    }


def _list(name: str, description: str) -> dict[str, Any]:
    # repeatable (x=a&x=b) and comma separated alike
    return _q(name, STRINGS, description, style="form", explode=True)


def _time(fmt: str) -> dict[str, Any]:
    return {"type": "string", "format": fmt, "maxLength": 64}


# any case; an empty value is ignored
FILE_TYPE = "^([Ss][Oo][Uu][Rr][Cc][Ee]|[Pp][Rr][Oo][Dd][Uu][Cc][Tt])?$"
FILES_PARAMS: list[dict[str, Any]] = [
    *[
        _list(name, f"only files whose {target.replace('_', ' ')} is one of these")
        for name, target in sorted(SCALE_LISTS.items())
        if name != "file_type"
    ],
    _q(
        "file_type",
        # repeats and empty values are taken (a value may come twice, in any case)
        {"type": "array", "items": {"type": "string", "pattern": FILE_TYPE}, "maxItems": MAX_LIST},
        "only SOURCE or only PRODUCT files (any case)",
        style="form",
        explode=True,
    ),
    *[
        _q(
            name,
            _time("scale-time"),
            f"{field.replace('_', ' ')} {'at or after' if op == '>=' else 'at or before'} this "
            "ISO 8601 time, or this ISO 8601 duration before now (PT3H: three hours ago); "
            "a file without that time is left out",
        )
        for name, (field, op) in SCALE_BOUNDS.items()
    ],
    _list("file_name", "only files with exactly one of these names"),
    _q("file_name_contains", TEXT, "name holds this (any case)"),
    _q("file_name_starts", TEXT, "name starts so (any case)"),
    _q("file_name_ends", TEXT, "name ends so (any case)"),
    _q("bbox", {"type": "string", "format": "bbox"}, "minx,miny,maxx,maxy in degrees"),
    _q("intersects", {"type": "string", "format": "geojson-geometry"}, "a GeoJSON geometry"),
    _q(
        "datetime",
        {"type": "string", "format": "datetime-interval"},
        "an instant or interval A/B (open ends as ..) compared with time_field's interval",
    ),
    _q(
        "time_field",
        {
            "type": "string",
            "enum": ["data", "source", "created", "last_modified", "data_or_created"],
            "default": "data",
        },
        "the record time datetime compares with",
    ),
    _q(
        "relation",
        {"type": "string", "enum": ["intersects", "within", "contains"], "default": "intersects"},
        "how the record's interval relates to datetime",
    ),
    _q(
        "order",
        {
            "type": "array",
            "items": {"type": "string", "enum": [p + f for f in SORT_FIELDS for p in ("", "-")]},
            "maxItems": 5,
        },
        "sort keys (-: descending), repeatable; a field named again adds nothing; ties break by id",
        style="form",
        explode=True,
    ),
    _q(
        "page",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
        "the page number (pages start at most 100,000 records in: follow next links)",
    ),
    _q(
        "page_size",
        {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_ASKED,
            "default": 100,
            "x-maximum-served": MAX_PAGE_SIZE,
        },
        f"records per page; above {MAX_PAGE_SIZE} it is {MAX_PAGE_SIZE}",
    ),
    _q("cursor", {"type": "string", "format": "cursor"}, "where a next link's page starts"),
    _q(
        "meta",
        {"type": "array", "items": {"type": "string", "format": "meta-filter"}, "maxItems": 64},
        'meta_data comparisons: JSON {"property", "op", "value"} (or a list of them)',
        style="form",
        explode=True,
    ),
    _q(
        "include_superseded",
        {"type": "boolean", "default": False},
        "also files a newer version replaced",
    ),
]

STAC_PARAMS: list[dict[str, Any]] = [
    _q(
        "bbox",
        {"type": "string", "format": "bbox"},
        "minx,miny,maxx,maxy in degrees (minx > maxx crosses the antimeridian)",
    ),
    _q(
        "datetime",
        {"type": "string", "format": "datetime-interval"},
        "an RFC 3339 instant or interval A/B (open ends as .. or empty)",
    ),
    _q("ids", STRINGS, "only these item ids", style="form", explode=False),
    _q("collections", STRINGS, "only these collections", style="form", explode=False),
    _q(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
        f"items per page; above {MAX_LIMIT} it is {MAX_LIMIT}",
    ),
    _q("token", {"type": "string", "format": "cursor"}, "where a next link's page starts"),
    _q(
        "sortby",
        {"type": "string", "format": "stac-sortby"},
        f"comma-separated sort keys with +/- (of {', '.join(STAC_SORT)})",
    ),
    _q("query", {"type": "string", "format": "stac-query"}, "Query extension object (JSON)"),
    _q("filter", {"type": "string", "format": "cql2"}, "a CQL2 filter (text, or JSON)"),
    _q(
        "filter-lang",
        {"type": "string", "enum": list(LANGS), "default": "cql2-text"},
        "the language of filter",
    ),
    _q("filter-crs", {"type": "string", "enum": list(CRS84)}, "the CRS of filter's geometries"),
]
SEARCH_GET_ONLY = [
    _q(
        "intersects",
        {"type": "string", "format": "geojson-geometry"},
        "a GeoJSON geometry (not with bbox)",
    ),
]

SEARCH_BODY = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "bbox": {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 6},
        "intersects": {"type": "object", "description": "a GeoJSON geometry"},
        "datetime": {"type": "string", "format": "datetime-interval"},
        "ids": STRINGS,
        "collections": {"oneOf": [STRINGS, {"type": "string"}]},
        "limit": {"type": "integer", "minimum": 1, "default": DEFAULT_LIMIT},
        "token": {"type": "string", "format": "cursor"},
        "next": {"type": "string", "format": "cursor"},
        "sortby": {
            "type": "array",
            "maxItems": 5,
            "items": {
                "type": "object",
                "required": ["field"],
                "properties": {
                    "field": {"type": "string"},
                    "direction": {"type": "string", "enum": ["asc", "desc"]},
                },
            },
        },
        "query": {"type": "object", "description": "{property: {operator: value}}"},
        "filter": {"description": "CQL2-JSON (an object) or CQL2 text (a string)"},
        "filter-lang": {"type": "string", "enum": list(LANGS)},
        "filter-crs": {"type": "string", "enum": list(CRS84)},
    },
}
# A member given as null is taken as left out (some clients send every member).
for _member in SEARCH_BODY["properties"].values():  # type: ignore[attr-defined]
    _member["nullable"] = True
ERROR_SCHEMA = {
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {"type": "string", "description": "what was wrong"},
        "field": {
            "type": "string",
            "nullable": True,
            "description": "the parameter (or dotted field) at fault",
        },
    },
}
OWN_PARAMS = {
    ("/files", "get"): FILES_PARAMS,
    ("/v6/files/", "get"): FILES_PARAMS,
    ("/search", "get"): STAC_PARAMS + SEARCH_GET_ONLY,
    ("/collections/{collection_id}/items", "get"): STAC_PARAMS,
}


def install(app: FastAPI) -> None:
    """Serve the 3.0 document at /openapi.json (its own media type) and Swagger UI at /docs."""

    def document() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build(app)
        return app.openapi_schema

    app.openapi = document  # type: ignore[method-assign]

    async def openapi_json(request: Request) -> Response:
        import json

        return Response(json.dumps(document()), media_type=OPENAPI_30)

    async def docs(request: Request) -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="openapi.json", title="seedpipe API")

    app.add_api_route("/openapi.json", openapi_json, methods=["GET"], include_in_schema=False)
    app.add_api_route("/docs", docs, methods=["GET"], include_in_schema=False)


def build(app: FastAPI) -> dict[str, Any]:
    doc = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        openapi_version="3.0.3",
    )
    doc.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    doc["components"]["schemas"].pop("HTTPValidationError", None)
    doc["components"]["schemas"].pop("ValidationError", None)
    for path, ops in doc.get("paths", {}).items():
        for method, op in ops.items():
            own = OWN_PARAMS.get((path, method))
            if own is not None:
                kept = [p for p in op.get("parameters", []) if p.get("in") == "path"]
                op["parameters"] = kept + own
            responses = op.setdefault("responses", {})
            responses.pop("422", None)
            if op.get("parameters") or method == "post":
                responses["400"] = _error("a parameter is invalid; field names it")
            if "{" in path:
                responses["404"] = _error("no such record, item or collection")
            if any(p.get("name") == "page" for p in op.get("parameters", [])):
                responses["404"] = _error("a page past what is walked to: follow next links")
            if path != "/openapi.json":
                responses["503"] = _error("the index does not answer")
    post = doc["paths"]["/search"]["post"]
    post["requestBody"] = {
        "required": False,
        "content": {"application/json": {"schema": SEARCH_BODY}},
    }
    return lower_to_30(doc)


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ERROR}}}


def lower_to_30(node: Any) -> Any:
    """JSON Schema 2020-12 (what pydantic writes) in OpenAPI 3.0's dialect."""
    if isinstance(node, list):
        return [lower_to_30(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: lower_to_30(v) for k, v in node.items()}
    for key in ("anyOf", "oneOf"):
        options = out.get(key)
        if isinstance(options, list) and {"type": "null"} in options:
            rest = [o for o in options if o != {"type": "null"}]
            out.pop(key)
            if len(rest) == 1:
                out.update(rest[0] if "$ref" not in rest[0] else {"allOf": rest})
            else:
                out[key] = rest
            out["nullable"] = True
    if isinstance(out.get("type"), list):
        types = [t for t in out["type"] if t != "null"]
        if len(types) < len(out["type"]):
            out["nullable"] = True
        out["type"] = types[0] if len(types) == 1 else out["type"]
    if "const" in out:
        out["enum"] = [out.pop("const")]
    if "examples" in out and isinstance(out["examples"], list):
        examples = out.pop("examples")
        if examples:
            out["example"] = examples[0]
    for bound, flag in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(out.get(bound), int | float) and not isinstance(out[bound], bool):
            out[flag] = out.pop(bound)
            out[bound] = True
    return out
