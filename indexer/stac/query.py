"""The STAC API Query extension (``query: {property: {op: value}}``) onto the neutral ``Query``.

Only what the query model can answer exactly is accepted; any other property or operator is a
400 naming ``query.<property>.<op>``, never silently ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from seedpipe.errors import InvalidInput
from seedpipe.query.model import MAX_LIST, MetaFilter

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
QUERYABLE = sorted([*SCALARS, *ARRAYS, "title", META_PREFIX + "<path>"])


def _strings(value: Any, field: str, *, many: bool) -> list[str]:
    values = value if many else [value]
    if many and not isinstance(value, list):
        raise InvalidInput("must be a list of strings", field=field)
    if not all(isinstance(v, str) for v in values):
        raise InvalidInput("must be a string" + ("s" if many else ""), field=field)
    if not values or len(values) > MAX_LIST:
        raise InvalidInput(f"takes 1 to {MAX_LIST} values", field=field)
    return list(values)


def _term(prop: str, ops: Mapping[str, Any], fields: dict[str, Any]) -> None:
    base = f"query.{prop}"
    if len(ops) != 1:
        raise InvalidInput("give one of eq or in for this property", field=base)
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
    if op not in ("eq", "in"):
        raise InvalidInput(f"{op!r} is not supported here; use eq or in", field=field)
    values = _strings(value, field, many=op == "in")
    if prop == "seedpipe:file_type":
        values = [v.upper() for v in values]
    fields[target] = values


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
            if set(ops) != {"contains"} or not isinstance(ops["contains"], str):
                raise InvalidInput("takes only contains (a string)", field="query.title")
            fields["file_name_contains"] = ops["contains"]
        elif isinstance(prop, str) and prop.startswith(META_PREFIX):
            for op, value in ops.items():
                if op not in META_OPS:
                    raise InvalidInput(
                        f"{op!r} is not supported; use one of {', '.join(META_OPS)}",
                        field=f"query.{prop}.{op}",
                    )
                entry = {"property": prop[len(META_PREFIX) :], "op": META_OPS[op], "value": value}
                try:
                    MetaFilter.model_validate(entry)
                except ValidationError as exc:
                    reason = exc.errors()[0]["msg"].removeprefix("Value error, ")
                    raise InvalidInput(reason, field=f"query.{prop}.{op}") from None
                meta.append(entry)
        else:
            raise InvalidInput(
                f"is not a queryable property; queryable: {', '.join(QUERYABLE)}",
                field=f"query.{prop}",
            )
    if meta:
        fields["meta"] = meta
    return fields
