"""Compiles the neutral Query into a search-engine query body, sort and search_after."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import shapely

from indexer.backends.elastic.mapping import RANGE_FIELDS, TERM_FIELDS
from seedpipe.query.model import MetaFilter, Query, SortKey

MATCH_NONE: dict[str, Any] = {"match_none": {}}
_WILDCARD_SPECIAL = str.maketrans({"*": "\\*", "?": "\\?", "\\": "\\\\"})


def _kind_field(value: Any) -> str:
    if isinstance(value, bool):
        return "b"
    return "n" if isinstance(value, int | float) else "s"


def _nested(
    prop: str, *clauses: dict[str, Any], negate: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    inner: dict[str, Any] = {"filter": [{"term": {"meta_kv.k": prop}}, *clauses]}
    if negate:
        inner["must_not"] = negate
    return {"nested": {"path": "meta_kv", "query": {"bool": inner}}}


def compile_meta(m: MetaFilter) -> dict[str, Any]:
    """One meta comparison over the typed ``meta_kv`` leaves (same kinds rule as Python)."""
    v = m.value
    scalar = {"term": {"meta_kv.a": False}}
    if m.op == "contains":
        if isinstance(v, str):
            text = {"wildcard": {"meta_kv.s": {"value": f"*{v.translate(_WILDCARD_SPECIAL)}*"}}}
            element = {
                "bool": {"filter": [{"term": {"meta_kv.a": True}}, {"term": {"meta_kv.s": v}}]}
            }
            either = [{"bool": {"filter": [scalar, text]}}, element]
            return _nested(m.property, {"bool": {"should": either, "minimum_should_match": 1}})
        field = f"meta_kv.{_kind_field(v)}"
        return _nested(m.property, {"term": {"meta_kv.a": True}}, {"term": {field: v}})
    if m.op == "in":
        by_kind: dict[str, list[Any]] = {}
        for item in v:
            by_kind.setdefault(_kind_field(item), []).append(item)
        terms = [{"terms": {f"meta_kv.{k}": items}} for k, items in sorted(by_kind.items())]
        if not terms:
            return MATCH_NONE
        return _nested(m.property, scalar, {"bool": {"should": terms, "minimum_should_match": 1}})
    kind = _kind_field(v[0] if m.op == "between" else v)
    field = f"meta_kv.{kind}"
    if kind == "b" and m.op not in ("==", "!="):
        return MATCH_NONE  # booleans have no order
    if m.op == "==":
        return _nested(m.property, scalar, {"term": {field: v}})
    if m.op == "!=":
        return _nested(
            m.property, scalar, {"exists": {"field": field}}, negate=[{"term": {field: v}}]
        )
    if m.op == "between":
        return _nested(m.property, scalar, {"range": {field: {"gte": v[0], "lte": v[1]}}})
    bound = {"<": "lt", "<=": "lte", ">": "gt", ">=": "gte"}[m.op]
    return _nested(m.property, scalar, {"range": {field: {bound: v}}})


MS = timedelta(milliseconds=1)


def _ms_floor(t: datetime) -> datetime:
    return t - timedelta(microseconds=t.microsecond % 1000)


def _ms_ceil(t: datetime) -> datetime:
    down = _ms_floor(t)
    return down if down == t else down + MS


def _at_or_after(t: datetime) -> str:
    """``>= t`` on the engine's millisecond dates: a time with microseconds goes up to the next
    millisecond (the engine truncates it, so ``> t``, which the query model makes ``>= t + 1 µs``,
    would match ``t`` itself)."""
    return _ms_ceil(t).isoformat()


def compile_time(q: Query) -> dict[str, Any] | None:
    if q.datetime is None:
        return None
    if q.time_field == "data_or_created":
        data = compile_time(q.model_copy(update={"time_field": "data"}))
        created = compile_time(q.model_copy(update={"time_field": "created"}))
        no_data = {"bool": {"must_not": [{"exists": {"field": RANGE_FIELDS["data"]}}]}}
        either = [data, {"bool": {"filter": [no_data, created]}}]
        return {"bool": {"should": either, "minimum_should_match": 1}}
    field = RANGE_FIELDS[q.time_field]
    start, end = q.datetime.start, q.datetime.end
    if q.time_relation == "contains":
        if start is None or end is None:
            return MATCH_NONE  # an open end is never contained in a record's closed interval
        # a record [r0, r1] of whole milliseconds holds [a, b] when r0 <= floor(a), r1 >= ceil(b)
        window = {"gte": _ms_floor(start).isoformat(), "lte": _ms_ceil(end).isoformat()}
        return {"range": {field: {"relation": "CONTAINS", **window}}}
    # intersects and within: r1 >= ceil(a), r0 <= floor(b) (the engine floors b itself)
    low = None if start is None else _ms_ceil(start)
    high = None if end is None else _ms_floor(end)
    relation = q.time_relation.upper()
    if low is not None and high is not None and low > high:  # a and b inside one millisecond
        if relation == "WITHIN":
            return MATCH_NONE  # no whole-millisecond interval fits
        # the engine refuses an inverted range: the two halves of the intersection apart
        after = {"range": {field: {"relation": "INTERSECTS", "gte": low.isoformat()}}}
        before = {"range": {field: {"relation": "INTERSECTS", "lte": high.isoformat()}}}
        return {"bool": {"filter": [after, before]}}
    bounds: dict[str, Any] = {"relation": relation}
    if low is not None:
        bounds["gte"] = low.isoformat()
    if end is not None:
        bounds["lte"] = end.isoformat()
    return {"range": {field: bounds}}


def compile_query(q: Query) -> dict[str, Any]:
    """The ``query`` part of a search body; every value goes in as data, never as syntax."""
    filters: list[dict[str, Any]] = [{"bool": {"must_not": [{"term": {"tombstone": True}}]}}]
    must_not: list[dict[str, Any]] = []
    if not q.include_deleted:
        must_not.append({"term": {"is_deleted": True}})
    if not q.include_superseded:
        must_not.append({"term": {"is_superseded": True}})
    for name, field in TERM_FIELDS.items():
        values = getattr(q, name)
        if values:
            filters.append({"terms": {field: list(dict.fromkeys(values))}})
    if q.data_types_all:  # one clause whatever the count (max_clause_count); needs painless
        tags = list(dict.fromkeys(q.data_types_all))
        every = {"terms": tags, "minimum_should_match_script": {"source": "params.num_terms"}}
        filters.append({"terms_set": {"data_type_tags": every}})
    if q.data_types_any:
        filters.append({"terms": {"data_type_tags": list(dict.fromkeys(q.data_types_any))}})
    if q.data_types_none:
        must_not.append({"terms": {"data_type_tags": list(dict.fromkeys(q.data_types_none))}})
    if q.file_name_contains:
        needle = q.file_name_contains.casefold().translate(_WILDCARD_SPECIAL)
        filters.append({"wildcard": {"file_name_lc": {"value": f"*{needle}*"}}})
    if q.file_name_starts:
        filters.append({"prefix": {"file_name_lc": {"value": q.file_name_starts.casefold()}}})
    if q.file_name_ends:
        needle = q.file_name_ends.casefold().translate(_WILDCARD_SPECIAL)
        filters.append({"wildcard": {"file_name_lc": {"value": f"*{needle}"}}})
    if q.file_names:
        filters.append({"terms": {"file_name": list(dict.fromkeys(q.file_names))}})
    for name, values in q.not_in.items():
        must_not.append({"terms": {TERM_FIELDS[name]: list(dict.fromkeys(values))}})
    time = compile_time(q)
    if time is not None:
        filters.append(time)
    for b in q.bounds:
        side = {"gte": _at_or_after(b.value)} if b.op == ">=" else {"lte": b.value.isoformat()}
        filters.append({"range": {b.field: side}})
    geom = q.geometry()
    if geom is not None:
        shape = json.loads(shapely.to_geojson(geom))
        filters.append({"geo_shape": {"geometry": {"shape": shape, "relation": "intersects"}}})
    filters.extend(compile_meta(m) for m in q.meta)
    for path in q.meta_missing:
        must_not.append(_nested(path, {"exists": {"field": "meta_kv.k"}}))
    for group in q.any_of:
        either = [compile_query(alt) for alt in group]
        filters.append({"bool": {"should": either, "minimum_should_match": 1}})
    body: dict[str, Any] = {"filter": filters}
    if must_not:
        body["must_not"] = must_not
    return {"bool": body}


def compile_sort(keys: tuple[SortKey, ...], *, reverse: bool = False) -> list[dict[str, Any]]:
    """Sort clauses: missing values last in either direction, ``id`` breaking ties; with
    ``reverse`` exactly the reverse (a previous page reads back from its anchor)."""
    up, down = ("desc", "asc") if reverse else ("asc", "desc")
    missing = "_first" if reverse else "_last"
    sort: list[dict[str, Any]] = [
        {k.field: {"order": down if k.desc else up, "missing": missing}} for k in keys
    ]
    sort.append({"id": {"order": up}})
    return sort


def compile_search(q: Query) -> dict[str, Any]:
    """The whole search body: query, sort, size (one extra to see if more follow), search_after."""
    body: dict[str, Any] = {
        "query": compile_query(q),
        "sort": compile_sort(q.sort_keys, reverse=q.token_before),
        "size": q.limit + 1,
        "track_total_hits": True,
        "_source": ["record"],
    }
    token = q.decode_token()
    if token is not None:
        values, last_id = token
        body["search_after"] = [*values, last_id]
    return body
