"""STAC ``/search`` parameters (GET and POST) translated into the neutral ``Query``."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from indexer.stac.filter import CRS84, and_fields, filter_fields, parse_filter
from indexer.stac.query import query_fields
from indexer.stac.time import rfc3339_interval
from seedpipe.errors import InvalidInput
from seedpipe.query.model import (
    MAX_LIMIT,
    MAX_LIST,
    Query,
    TimeInterval,
    parse_bbox,
    parse_datetime_interval,
)
from seedpipe.query.params import Params, build, many, one, parse_json

STAC_GET_PARAMS = frozenset(
    {
        "bbox",
        "intersects",
        "datetime",
        "ids",
        "collections",
        "limit",
        "token",
        "sortby",
        "query",
        "filter",
        "filter-lang",
        "filter-crs",
    }
)
STAC_POST_FIELDS = STAC_GET_PARAMS | {"next"}
DEFAULT_LIMIT = 10
# STAC sortby names that differ from FileRecord's.
STAC_SORT_NAMES = {
    "datetime": "data_or_created",
    "properties.datetime": "data_or_created",
    "start_datetime": "data_started",
    "properties.start_datetime": "data_started",
    "end_datetime": "data_ended",
    "properties.end_datetime": "data_ended",
    "created": "created",
    "properties.created": "created",
    "updated": "last_modified",
    "properties.updated": "last_modified",
    "title": "file_name",
    "properties.title": "file_name",
}


def _stac_sort(value: Any) -> str:
    """STAC ``sortby``: ``-created,+id`` (GET) or ``[{"field", "direction"}]`` (POST)."""
    if isinstance(value, str):
        items = [(p.lstrip("+-"), "desc" if p.startswith("-") else "asc") for p in value.split(",")]
    elif isinstance(value, list):
        items = []
        for item in value:
            if not isinstance(item, dict) or not isinstance(item.get("field"), str):
                raise InvalidInput('each entry must be {"field", "direction"}', field="sortby")
            direction = item.get("direction", "asc")
            if direction not in ("asc", "desc"):
                raise InvalidInput("direction must be asc or desc", field="sortby")
            items.append((item["field"], direction))
    else:
        raise InvalidInput("must be a string or a list", field="sortby")
    parts = []
    for name, direction in items:
        name = STAC_SORT_NAMES.get(name.strip(), name.strip().removeprefix("properties."))
        if name:
            parts.append(("-" if direction == "desc" else "") + name)
    return ",".join(parts)


def stac_query(body: Mapping[str, Any], collections: Sequence[str] = ()) -> Query:
    """A STAC item search (POST body, or GET parameters already split) -> Query;
    ``collections`` are the known ones (a CQL2 ordering of ``collection`` needs them)."""
    for name in body:
        if name not in STAC_POST_FIELDS:
            raise InvalidInput("is not a supported search parameter", field=name)
    fields: dict[str, Any] = {}
    rename = {"workspaces": "collections", "any_of": "filter", "meta_missing": "filter"}
    for name, target in (("ids", "ids"), ("collections", "workspaces")):
        value = body.get(name)
        if value is None:
            continue
        if name == "collections" and isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]  # what some clients send
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InvalidInput("must be a list of strings", field=name)
        if len(value) > MAX_LIST:
            raise InvalidInput(f"takes at most {MAX_LIST} values", field=name)
        fields[target] = value
    for name in ("bbox", "intersects", "datetime"):
        if body.get(name) is not None:
            fields[name] = body[name]
    if "bbox" in fields and "intersects" in fields:
        raise InvalidInput("give bbox or intersects, not both", field="intersects")
    if fields.get("bbox") is not None and not isinstance(fields["bbox"], list):
        raise InvalidInput("must be an array of 4 (or 6) numbers", field="bbox")
    if isinstance(fields.get("bbox"), list) and any(
        isinstance(v, float) and not math.isfinite(v) for v in fields["bbox"]
    ):
        raise InvalidInput("must hold finite numbers", field="bbox")
    if "datetime" in fields:
        if not isinstance(fields["datetime"], str):
            raise InvalidInput("must be an RFC 3339 date-time or interval A/B", field="datetime")
        fields["datetime"] = rfc3339_interval(fields["datetime"])
        # An item without data time shows its created time as datetime: it is found by it.
        fields["time_field"] = "data_or_created"
    if "intersects" in fields and not isinstance(fields["intersects"], dict):
        raise InvalidInput("must be a GeoJSON geometry object", field="intersects")
    fields["limit"] = clamp_limit(body.get("limit", DEFAULT_LIMIT))
    token = body.get("token", body.get("next"))
    if token is not None:
        if not isinstance(token, str):
            raise InvalidInput("must be a string", field="token")
        fields["token"] = token
    if body.get("sortby") is not None:
        fields["sort"] = _stac_sort(body["sortby"])
        rename["sort"] = "sortby"
        if not fields["sort"] and isinstance(body["sortby"], str):
            raise InvalidInput("names no field to sort by", field="sortby")
    if body.get("query") is not None:
        extra = query_fields(body["query"])
        if "datetime" in extra:
            fields["time_field"] = "data_or_created"
            if "datetime" in fields:
                extra["datetime"] = _both(fields["datetime"], extra["datetime"])
        fields.update(extra)
    if body.get("filter") is not None:
        fields = _with_filter(body, fields, collections)
    elif body.get("filter-lang") is not None or body.get("filter-crs") is not None:
        parse_filter("true", body.get("filter-lang"))  # checks the language
        _check_crs(body.get("filter-crs"))
    return build(fields, rename)


def _check_crs(crs: Any) -> None:
    if crs is not None and crs not in CRS84:
        raise InvalidInput(f"only {CRS84[0]} is supported", field="filter-crs")


def _with_filter(
    body: Mapping[str, Any], fields: dict[str, Any], collections: Sequence[str]
) -> dict[str, Any]:
    """The search's fields AND the CQL2 filter's."""
    _check_crs(body.get("filter-crs"))
    tree = parse_filter(body["filter"], body.get("filter-lang"))
    extra = filter_fields(tree, collections)
    if isinstance(fields.get("datetime"), str):
        fields["datetime"] = parse_datetime_interval(fields["datetime"])
    if "bbox" in fields and ("bbox" in extra or "intersects" in extra):
        raise InvalidInput("give bbox or a spatial filter, not both", field="filter")
    if "intersects" in fields and ("bbox" in extra or "intersects" in extra):
        raise InvalidInput("give intersects or a spatial filter, not both", field="filter")
    return and_fields(fields, extra)


def _both(text: str, other: TimeInterval) -> TimeInterval:
    """``datetime`` and ``query.datetime`` together: the time both select."""
    first = parse_datetime_interval(text)
    starts = [t for t in (first.start, other.start) if t is not None]
    ends = [t for t in (first.end, other.end) if t is not None]
    start, end = (max(starts) if starts else None), (min(ends) if ends else None)
    if start is not None and end is not None and start > end:
        raise InvalidInput("selects no time together with query.datetime", field="datetime")
    return TimeInterval(start=start, end=end)


def stac_get_body(params: Params) -> dict[str, Any]:
    """STAC ``GET /search`` parameters as the equivalent POST body."""
    body: dict[str, Any] = {}
    for name in params:
        if name not in STAC_GET_PARAMS:
            raise InvalidInput("is not a supported search parameter", field=name)
    for name in ("ids", "collections"):
        if params.get(name):
            body[name] = many(params, name)
    bbox = one(params, "bbox")
    if bbox is not None:
        body["bbox"] = list(parse_bbox(bbox))
    intersects = one(params, "intersects")
    if intersects is not None:
        body["intersects"] = parse_json(intersects, "intersects")
    for name in ("datetime", "token", "sortby", "filter", "filter-lang", "filter-crs"):
        value = one(params, name)
        if value is not None:
            body[name] = value
    query = one(params, "query")
    if query is not None:
        body["query"] = parse_json(query, "query")
    limit = one(params, "limit")
    if limit is not None:
        body["limit"] = clamp_limit(limit)
    return body


def clamp_limit(value: Any) -> int:
    """A page size of at least 1; above the maximum it is the maximum (OGC API Features: an
    over-maximum limit is not an error)."""
    if isinstance(value, str):
        text = value.strip()
        if not text.isascii() or not text.lstrip("+-").isdigit() or len(text) > 20:
            raise InvalidInput(f"{value[:40]!r} is not an integer", field="limit")
        value = int(text)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"must be an integer from 1 to {MAX_LIMIT}", field="limit")
    if value < 1:
        raise InvalidInput(f"must be an integer from 1 to {MAX_LIMIT}", field="limit")
    return min(value, MAX_LIMIT)
