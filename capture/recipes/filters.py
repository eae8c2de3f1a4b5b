"""Scale's data filters, the test a condition node applies to its inputs.

A filter names one input, a type, a condition and values. File filters (``filename``,
``media-type``, ``data-type``, ``meta-data``) judge each file's record; ``all_files`` asks every
file to pass (default: one is enough). ``fields`` are key paths into meta-data or a JSON object,
each with its own entry of ``values``; ``all_fields`` (default true) asks every field to pass.
The filter list passes when all filters pass (``all``, the default) or when any one does.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from capture.recipes.definition import DataFilter, Filter
from capture.recipes.interfaces import Param
from seedpipe.records import FileRecord

FILE_TYPES = frozenset({"filename", "media-type", "data-type", "meta-data"})
STRING_TYPES = frozenset({"string", "filename", "media-type", "data-type"})
NUMBER_TYPES = frozenset({"integer", "number"})
OBJECT_TYPES = frozenset({"meta-data", "object"})
CONDITIONS_BY_TYPE: dict[str, frozenset[str]] = {
    **dict.fromkeys(STRING_TYPES, frozenset({"==", "!=", "in", "not in", "contains"})),
    **dict.fromkeys(
        NUMBER_TYPES, frozenset({"<", "<=", ">", ">=", "==", "!=", "between", "in", "not in"})
    ),
    "boolean": frozenset({"==", "!="}),
    "array": frozenset({"==", "!=", "in", "not in", "contains"}),
    **dict.fromkeys(OBJECT_TYPES, frozenset({"subset of", "superset of"})),
}
# The filter types a JSON input of each type can be judged by.
JSON_FILTERS: dict[str, frozenset[str]] = {
    "string": frozenset({"string"}),
    "integer": NUMBER_TYPES,
    "number": NUMBER_TYPES,
    "boolean": frozenset({"boolean"}),
    "array": frozenset({"array"}),
    "object": frozenset({"object"}),
}
NEGATIVE = frozenset({"!=", "not in"})


@dataclass(frozen=True)
class Files:
    """A file input's value: the records of its files (as updated upstream)."""

    records: tuple[FileRecord, ...]


def _first(values: Sequence[Any]) -> Any:
    return values[0] if values else None


def _ordered(op: Callable[[Any, Any], bool]) -> Callable[[Any, Sequence[Any]], bool]:
    def check(item: Any, values: Sequence[Any]) -> bool:
        if not values or isinstance(item, bool) or not isinstance(item, int | float):
            return False
        try:
            return op(item, values[0])
        except TypeError:
            return False

    return check


def _equal(item: Any, values: Sequence[Any]) -> bool:
    return bool(values) and _same(item, values[0])


def _same(a: Any, b: Any) -> bool:
    # JSON's true is not 1: keep booleans apart from numbers.
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    return bool(a == b)


def _between(item: Any, values: Sequence[Any]) -> bool:
    if len(values) < 2 or isinstance(item, bool) or not isinstance(item, int | float):
        return False
    try:
        return bool(values[0] <= item <= values[1])
    except TypeError:
        return False


def _in(item: Any, values: Sequence[Any]) -> bool:
    """Equal to one of the values, or contained in one (a substring, a list member)."""
    if item is None:
        return False
    for value in values:
        if _same(item, value):
            return True
        if isinstance(value, str) and isinstance(item, str) and item in value:
            return True
        if isinstance(value, list) and any(_same(item, v) for v in value):
            return True
    return False


def _contains(item: Any, values: Sequence[Any]) -> bool:
    if isinstance(item, str):
        return any(isinstance(v, str) and v in item for v in values)
    if isinstance(item, list):
        return any(any(_same(i, v) for i in item) for v in values)
    return False


def _subset(item: Any, values: Sequence[Any]) -> bool:
    ref = _first(values)
    if not isinstance(item, dict) or not isinstance(ref, dict):
        return False
    return all(k in ref and _same(ref[k], v) for k, v in item.items())


def _superset(item: Any, values: Sequence[Any]) -> bool:
    ref = _first(values)
    if not isinstance(item, dict) or not isinstance(ref, dict):
        return False
    return all(k in item and _same(item[k], v) for k, v in ref.items())


CONDITIONS: dict[str, Callable[[Any, Sequence[Any]], bool]] = {
    "<": _ordered(lambda a, b: a < b),
    "<=": _ordered(lambda a, b: a <= b),
    ">": _ordered(lambda a, b: a > b),
    ">=": _ordered(lambda a, b: a >= b),
    "==": _equal,
    "!=": lambda item, values: bool(values) and not _same(item, values[0]),
    "between": _between,
    "in": _in,
    "not in": lambda item, values: not _in(item, values),
    "contains": _contains,
    "subset of": _subset,
    "superset of": _superset,
}


def _nested(data: Any, path: Sequence[str]) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _numbers(f: Filter) -> list[Any]:
    """The filter's values as numbers for ``integer``/``number`` filters (Scale converts)."""
    if f.type not in NUMBER_TYPES:
        return list(f.values)
    out: list[Any] = []
    for v in f.values:
        if isinstance(v, bool):
            out.append(v)
        elif f.type == "integer":
            out.append(int(v))
        else:
            out.append(float(v))
    return out


def _file_value(f: Filter, record: FileRecord) -> Any:
    if f.type == "filename":
        return record.file_name
    if f.type == "media-type":
        return record.media_type
    if f.type == "data-type":
        return list(record.data_type_tags)
    return record.meta_data


def _fields_pass(f: Filter, obj: Any) -> bool:
    assert f.fields is not None
    check = CONDITIONS[f.condition]
    results = [
        check(_nested(obj, path), _as_list(value))
        for path, value in zip(f.fields, f.values, strict=False)
    ]
    return all(results) if f.all_fields else any(results)


def _file_passes(f: Filter, record: FileRecord) -> bool:
    value = _file_value(f, record)
    check = CONDITIONS[f.condition]
    if f.type == "meta-data":
        return _fields_pass(f, value) if f.fields else check(value, f.values)
    if f.type == "data-type":
        # A file's tags pass when the list does (contains) or when its tags do: any tag for a
        # positive condition, every tag for a negative one (no tag may be the excluded one).
        per_tag = [check(tag, f.values) for tag in value]
        if f.condition in NEGATIVE:
            return all(per_tag)
        return check(value, f.values) or any(per_tag)
    return check(value, f.values)


def filter_passes(f: Filter, value: Any) -> bool:
    """One filter against one input's value (a Files or a JSON value); missing fails."""
    if f.type in FILE_TYPES:
        if not isinstance(value, Files) or not value.records:
            return False
        results = [_file_passes(f, r) for r in value.records]
        return all(results) if f.all_files else any(results)
    if value is None or isinstance(value, Files):
        return False
    if f.type == "object" and f.fields:
        return _fields_pass(f, value)
    try:
        values = _numbers(f)
    except (TypeError, ValueError):
        return False
    if f.type in NUMBER_TYPES and isinstance(value, float) and math.isnan(value):
        return False
    return CONDITIONS[f.condition](value, values)


def is_accepted(data_filter: DataFilter, data: Mapping[str, Any]) -> bool:
    """Whether the data passes: every filter (``all``), or at least one. No filters: accepted."""
    if not data_filter.filters:
        return True
    results = (filter_passes(f, data.get(f.name)) for f in data_filter.filters)
    return all(results) if data_filter.all else any(results)


def filter_problems(
    data_filter: DataFilter, params: Mapping[str, Param], where: str
) -> list[tuple[str, str]]:
    """Every way the filter does not fit the condition's interface, by JSON path."""
    problems: list[tuple[str, str]] = []
    for i, f in enumerate(data_filter.filters):
        at = f"{where}.filters[{i}]"
        param = params.get(f.name)
        if param is None:
            problems.append((f"{at}.name", f"the condition's interface has no input {f.name!r}"))
        elif param.kind == "file" and f.type not in FILE_TYPES:
            problems.append(
                (f"{at}.type", f"{f.name!r} is a file input: use one of {sorted(FILE_TYPES)}")
            )
        elif param.kind == "json" and f.type not in JSON_FILTERS.get(param.json_type or "", ()):
            allowed = sorted(JSON_FILTERS.get(param.json_type or "", ()))
            problems.append(
                (f"{at}.type", f"{f.name!r} is JSON {param.json_type}: use one of {allowed}")
            )
        allowed_conditions = CONDITIONS_BY_TYPE[f.type]
        if f.condition not in allowed_conditions and not (f.type in OBJECT_TYPES and f.fields):
            problems.append(
                (
                    f"{at}.condition",
                    f"{f.condition!r} does not apply to type {f.type!r} "
                    f"(use one of {sorted(allowed_conditions)}"
                    + (", or give fields" if f.type in OBJECT_TYPES else "")
                    + ")",
                )
            )
        if f.fields is not None:
            if f.type not in OBJECT_TYPES:
                problems.append((f"{at}.fields", "only meta-data and object filters have fields"))
            elif len(f.fields) != len(f.values):
                problems.append(
                    (f"{at}.values", "needs one entry per field (fields and values pair up)")
                )
        if f.condition == "between" and not f.fields and len(f.values) < 2:
            problems.append((f"{at}.values", "between needs two values, low and high"))
        if f.type in NUMBER_TYPES:
            try:
                _numbers(f)
            except (TypeError, ValueError):
                problems.append((f"{at}.values", f"must be numbers for a {f.type} filter"))
    return problems
