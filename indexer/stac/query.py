"""The STAC API Query extension (``query: {property: {op: value}}``) onto the neutral ``Query``.

Only what the query model can answer exactly is accepted; any other property or operator is a
400 naming ``query.<property>.<op>``, never silently ignored. A number given as a string
(``{"lt": "10"}``, what command-line clients send) compares as the number.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from pydantic import ValidationError

from indexer.stac.time import rfc3339
from seedpipe.errors import InvalidInput
from seedpipe.query.model import MAX_LIST, MetaFilter, TimeInterval, parse_datetime

META_PREFIX = "seedpipe:meta_data."
# Item properties holding one string -> Query field (eq: that value; in: any of a list).
SCALARS = {
    "seedpipe:file_type": "file_types",
    "seedpipe:media_type": "media_types",
    "seedpipe:job_type": "job_types",
    "seedpipe:job_output": "job_outputs",
    "seedpipe:job": "jobs",
    "seedpipe:recipe": "recipes",
    "seedpipe:recipe_node": "recipe_nodes",
    "seedpipe:batch": "batches",
    "seedpipe:source_sensor_class": "source_sensor_class",
    "seedpipe:source_sensor": "source_sensor",
    "seedpipe:source_collection": "source_collection",
    "seedpipe:source_task": "source_task",
    "id": "ids",
    "collection": "workspaces",
}
# Item properties holding a list of strings -> Query field for "has any of".
ARRAYS = {
    "seedpipe:data_types": "data_types_any",
    "seedpipe:countries": "countries",
    "seedpipe:ancestors": "derived_from",
}
# STAC comparison operators -> the meta_data comparison of the query model.
META_OPS = {
    "eq": "==",
    "neq": "!=",
    "lt": "<",
    "lte": "<=",
    "gt": ">",
    "gte": ">=",
    "in": "in",
    "contains": "contains",
}
TITLE_OPS = {"contains", "startsWith", "endsWith", "eq", "in"}
DATETIME_OPS = {"eq", "lt", "lte", "gt", "gte"}
QUERYABLE = sorted(
    [*SCALARS, *ARRAYS, "title", "datetime", META_PREFIX + "<path>", "<prefix>:<name>"]
)
NUMBER = re.compile(r"^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$", re.ASCII)
MICROSECOND = timedelta(microseconds=1)


def is_meta_name(prop: str) -> bool:
    """A namespaced name (``eo:cloud_cover``) of a top-level meta_data key shown as a property."""
    return ":" in prop and not prop.startswith("seedpipe:") and "." not in prop


def _strings(value: Any, field: str, *, many: bool) -> list[str]:
    values = value if many else [value]
    if many and not isinstance(value, list):
        raise InvalidInput("must be a list of strings", field=field)
    if not all(isinstance(v, str) for v in values):
        raise InvalidInput("must be a string" + ("s" if many else ""), field=field)
    if not values or len(values) > MAX_LIST:
        raise InvalidInput(f"takes 1 to {MAX_LIST} values", field=field)
    return list(values)


def _number(value: Any) -> Any:
    if isinstance(value, str) and NUMBER.match(value.strip()):
        number = float(value)
        if math.isfinite(number):
            return int(number) if number.is_integer() and abs(number) <= 2**53 else number
    return value


def _term(prop: str, ops: Mapping[str, Any], fields: dict[str, Any]) -> None:
    base = f"query.{prop}"
    if len(ops) != 1:
        raise InvalidInput("give one operator (eq, neq or in) for this property", field=base)
    (op, value), target = next(iter(ops.items())), SCALARS.get(prop) or ARRAYS[prop]
    field = f"{base}.{op}"
    if op == "neq" and prop == "seedpipe:data_types":
        fields["data_types_none"] = _strings(value, field, many=False)
        return
    if op == "neq" and prop == "seedpipe:file_type":
        other = {"SOURCE": "PRODUCT", "PRODUCT": "SOURCE"}.get(str(value).upper())
        if other is None:
            raise InvalidInput("must be SOURCE or PRODUCT", field=field)
        fields[target] = [other]
        return
    if op == "neq" and prop in SCALARS:
        fields.setdefault("not_in", {})[target] = _strings(value, field, many=False)
        return
    if op not in ("eq", "in"):
        allowed = "eq or in" if prop in ARRAYS and prop != "seedpipe:data_types" else "eq, neq, in"
        raise InvalidInput(f"{op!r} is not supported here; use {allowed}", field=field)
    values = _strings(value, field, many=op == "in")
    if prop == "seedpipe:file_type":
        values = [v.upper() for v in values]
    fields[target] = values


def _title(ops: Mapping[str, Any], fields: dict[str, Any]) -> None:
    targets = {
        "contains": "file_name_contains",
        "startsWith": "file_name_starts",
        "endsWith": "file_name_ends",
    }
    for op, value in ops.items():
        field = f"query.title.{op}"
        if op not in TITLE_OPS:
            raise InvalidInput(f"use one of {', '.join(sorted(TITLE_OPS))}", field=field)
        if op in targets:
            fields[targets[op]] = _strings(value, field, many=False)[0]
        else:
            fields["file_names"] = _strings(value, field, many=op == "in")


def _datetime(ops: Mapping[str, Any]) -> TimeInterval:
    start = end = None
    for op, value in ops.items():
        field = f"query.datetime.{op}"
        if op not in DATETIME_OPS:
            raise InvalidInput(f"use one of {', '.join(sorted(DATETIME_OPS))}", field=field)
        if not isinstance(value, str):
            raise InvalidInput("must be an RFC 3339 date-time string", field=field)
        t = parse_datetime(rfc3339(value, field=field), field=field)
        if op in ("eq", "gte", "gt"):
            low = t + MICROSECOND if op == "gt" else t
            start = low if start is None else max(start, low)
        if op in ("eq", "lte", "lt"):
            high = t - MICROSECOND if op == "lt" else t
            end = high if end is None else min(end, high)
    if start is not None and end is not None and start > end:
        raise InvalidInput(
            "selects no time (its lower bound is above its upper)", field="query.datetime"
        )
    return TimeInterval(start=start, end=end)


def _meta(path: str, prop: str, ops: Mapping[str, Any], meta: list[dict[str, Any]]) -> None:
    for op, raw in ops.items():
        field = f"query.{prop}.{op}"
        if op not in META_OPS:
            raise InvalidInput(
                f"{op!r} is not supported; use one of {', '.join(META_OPS)}", field=field
            )
        if op == "in" and isinstance(raw, list):
            value: Any = []
            for v in raw:
                value += [v, _number(v)] if _number(v) is not v else [v]
        elif op == "eq" and _number(raw) is not raw:
            op, value = "in", [raw, _number(raw)]  # the string "10" or the number 10
        else:
            value = _number(raw) if op != "contains" else raw
        entry = {"property": path, "op": META_OPS[op], "value": value}
        try:
            MetaFilter.model_validate(entry)
        except ValidationError as exc:
            reason = exc.errors()[0]["msg"].removeprefix("Value error, ")
            raise InvalidInput(reason, field=field) from None
        meta.append(entry)


def query_fields(query: Any) -> dict[str, Any]:
    """Query-model fields for a STAC ``query`` object; a bad entry names ``query.<prop>.<op>``."""
    if not isinstance(query, Mapping):
        raise InvalidInput("must be an object of {property: {operator: value}}", field="query")
    fields: dict[str, Any] = {}
    meta: list[dict[str, Any]] = []
    for prop, ops in query.items():
        if not isinstance(ops, Mapping) or not ops:
            raise InvalidInput("must be an object of {operator: value}", field=f"query.{prop}")
        if prop in SCALARS or prop in ARRAYS:
            _term(prop, ops, fields)
        elif prop == "title":
            _title(ops, fields)
        elif prop == "datetime":
            fields["datetime"] = _datetime(ops)
        elif isinstance(prop, str) and prop.startswith(META_PREFIX):
            _meta(prop[len(META_PREFIX) :], prop, ops, meta)
        elif isinstance(prop, str) and is_meta_name(prop):
            _meta(prop, prop, ops, meta)
        else:
            raise InvalidInput(
                f"is not a queryable property; queryable: {', '.join(QUERYABLE)}",
                field=f"query.{prop}",
            )
    if meta:
        fields["meta"] = meta
    return fields
