"""The search-engine mappings and the document a FileRecord becomes (no client needed here)."""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

from pydantic_core import to_json

from seedpipe.query.geometry import CleanGeometry
from seedpipe.query.model import MAX_LIMIT, TimeField
from seedpipe.records import FileRecord

KEYWORD = {"type": "keyword"}
DATE = {"type": "date", "format": "strict_date_optional_time||epoch_millis"}
DATE_RANGE = {"type": "date_range", "format": "strict_date_optional_time||epoch_millis"}
MAX_META_LEAVES = 1000
META_STRING_MAX = 2048  # longer meta strings are stored but not searchable

# The date_range field each neutral time field is compared on.
RANGE_FIELDS: dict[TimeField, str] = {
    "data": "data_time",
    "source": "source_time",
    "created": "created_time",
    "last_modified": "modified_time",
}
# Fields a Query filter names, and the document field that holds them.
TERM_FIELDS = {
    "ids": "id",
    "media_types": "media_type",
    "file_types": "file_type",
    "workspaces": "workspace",
    "job_types": "job_type",
    "job_outputs": "job_output",
    "jobs": "job",
    "recipes": "recipe",
    "recipe_nodes": "recipe_node",
    "batches": "batch",
    "derived_from": "ancestors",
    "countries": "countries",
    "source_sensor_class": "source_sensor_class",
    "source_sensor": "source_sensor",
    "source_collection": "source_collection",
    "source_task": "source_task",
}

# Elasticsearch's type for free-form meta_data (OpenSearch's is flat_object: see the dialect).
FLATTENED: dict[str, Any] = {"type": "flattened", "ignore_above": META_STRING_MAX}

PROPERTIES: dict[str, Any] = {
    "id": KEYWORD,
    "version": {"type": "long"},
    "tombstone": {"type": "boolean"},
    "file_name": KEYWORD,
    "file_name_lc": KEYWORD,
    "file_size": {"type": "long"},
    "media_type": KEYWORD,
    "file_type": KEYWORD,
    "workspace": KEYWORD,
    "job_type": KEYWORD,
    "job_output": KEYWORD,
    "job": KEYWORD,
    "recipe": KEYWORD,
    "recipe_node": KEYWORD,
    "batch": KEYWORD,
    "ancestors": KEYWORD,
    "source_sensor_class": KEYWORD,
    "source_sensor": KEYWORD,
    "source_collection": KEYWORD,
    "source_task": KEYWORD,
    "is_superseded": {"type": "boolean"},
    "is_deleted": {"type": "boolean"},
    "created": DATE,
    "last_modified": DATE,
    "data_started": DATE,
    "data_or_created": DATE,
    "data_ended": DATE,
    "source_started": DATE,
    "source_ended": DATE,
    "data_time": DATE_RANGE,
    "source_time": DATE_RANGE,
    "created_time": DATE_RANGE,
    "modified_time": DATE_RANGE,
    "data_type_tags": KEYWORD,
    "countries": KEYWORD,
    "geometry": {"type": "geo_shape", "orientation": "counterclockwise"},
    "center_point": {"type": "geo_point"},
    # meta_data is free-form: one field type keeps the mapping fixed (the engine's dialect says
    # which); meta_kv holds typed leaves so numbers compare as numbers.
    "meta_data": FLATTENED,
    "meta_kv": {
        "type": "nested",
        "dynamic": "strict",
        "properties": {
            "k": KEYWORD,
            "s": {"type": "keyword", "ignore_above": META_STRING_MAX},
            "n": {"type": "double"},
            "b": {"type": "boolean"},
            "a": {"type": "boolean"},
        },
    },
    "record": {"type": "object", "enabled": False},
}


def files_mapping(meta_data: dict[str, Any] = FLATTENED) -> dict[str, Any]:
    """The files index mapping, with the engine's field type for ``meta_data``."""
    return {"dynamic": "strict", "properties": {**PROPERTIES, "meta_data": meta_data}}


def subscriptions_mapping(meta_data: dict[str, Any] = FLATTENED) -> dict[str, Any]:
    """The percolator index sees the same fields as the files, plus the stored queries."""
    return {
        "dynamic": "strict",
        "properties": {
            **files_mapping(meta_data)["properties"],
            "query": {"type": "percolator"},
            "sub_id": KEYWORD,
            "subscription": {"type": "object", "enabled": False},
        },
    }


FILES_MAPPING: dict[str, Any] = files_mapping()
SUBSCRIPTIONS_MAPPING: dict[str, Any] = subscriptions_mapping()

# A page asks for one record more than its limit (to know whether a next page exists), so the
# engine's result window must take MAX_LIMIT + 1 (its default is 10,000).
RESULT_WINDOW = MAX_LIMIT + 1
SETTINGS: dict[str, Any] = {"index": {"number_of_shards": 1, "max_result_window": RESULT_WINDOW,
    "mapping": {"nested_objects": {"limit": MAX_META_LEAVES}}}}  # fmt: skip


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _range(a: datetime | None, b: datetime | None) -> dict[str, str] | None:
    """A closed range from optional ends; one end alone is an instant (as in the Query)."""
    if a is None and b is None:
        return None
    lo, hi = a or b, b or a
    assert lo is not None and hi is not None
    if lo > hi:
        lo, hi = hi, lo
    return {"gte": lo.isoformat(), "lte": hi.isoformat()}


def meta_leaves(meta: dict[str, Any]) -> list[dict[str, Any]]:
    """Typed (key, value) pairs for every scalar under ``meta`` (dotted keys), arrays flagged."""
    out: list[dict[str, Any]] = []

    def scalar(key: str, value: Any, in_array: bool) -> None:
        entry: dict[str, Any] = {"k": key, "a": in_array}
        if isinstance(value, bool):
            entry["b"] = value
        elif isinstance(value, int | float):
            if not math.isfinite(value):
                return
            entry["n"] = value
        elif isinstance(value, str):
            entry["s"] = value
        else:
            return
        out.append(entry)

    def walk(prefix: str, node: Any) -> None:
        if len(out) >= MAX_META_LEAVES:
            return
        if isinstance(node, dict):
            for k, v in node.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        elif isinstance(node, list):
            for item in node:
                scalar(prefix, item, True)
        else:
            scalar(prefix, node, False)

    walk("", meta)
    return out[:MAX_META_LEAVES]


def to_document(record: FileRecord, clean: CleanGeometry | None) -> dict[str, Any]:
    """The indexed document: filter fields, date ranges, search shape, and the record itself."""
    r = record
    shape = clean.geojson if clean is not None else r.center_point
    return {
        "id": r.id,
        "version": r.version,
        "file_name": r.file_name,
        "file_name_lc": r.file_name.casefold(),
        "file_size": r.file_size,
        "media_type": r.media_type,
        "file_type": r.file_type,
        "workspace": r.workspace.name,
        "job_type": r.job_type.name if r.job_type else None,
        "job_output": r.job_output,
        "job": r.job,
        "recipe": r.recipe,
        "recipe_node": r.recipe_node,
        "batch": r.batch,
        "ancestors": r.ancestors,
        "source_sensor_class": r.source_sensor_class,
        "source_sensor": r.source_sensor,
        "source_collection": r.source_collection,
        "source_task": r.source_task,
        "is_superseded": r.is_superseded,
        "is_deleted": r.is_deleted,
        "created": _iso(r.created),
        "last_modified": _iso(r.last_modified),
        "data_started": _iso(r.data_started),
        "data_or_created": _iso(r.data_started or r.created),
        "data_ended": _iso(r.data_ended),
        "source_started": _iso(r.source_started),
        "source_ended": _iso(r.source_ended),
        "data_time": _range(r.data_started, r.data_ended),
        "source_time": _range(r.source_started, r.source_ended),
        "created_time": _range(r.created, r.created),
        "modified_time": _range(r.last_modified, r.last_modified),
        "data_type_tags": r.data_type_tags,
        "countries": r.countries,
        "geometry": shape,
        "center_point": _lon_lat(r.center_point or (clean.center if clean else None)),
        "meta_data": json.loads(to_json(r.meta_data, inf_nan_mode="null")),
        "meta_kv": meta_leaves(r.meta_data),
        "record": json.loads(r.model_dump_json()),  # NaN/inf become null, as in JSON
    }


def _lon_lat(point: dict[str, Any] | None) -> list[float] | None:
    return None if point is None else list(point["coordinates"][:2])
