"""The query's semantics evaluated in Python on one record: what a saved search, a trigger
and the conformance suite check records against, and what every backend must agree with."""

from __future__ import annotations

from typing import TYPE_CHECKING

from seedpipe.query.geometry import record_shape
from seedpipe.query.meta import lookup
from seedpipe.query.model import Query, TimeField, TimeRelation
from seedpipe.query.values import to_micros

if TYPE_CHECKING:
    from seedpipe.records import FileRecord


def matches(q: Query, record: FileRecord) -> bool:
    """Whether ``record`` satisfies every filter (sort, limit and token do not apply)."""
    r = record
    if not q.include_deleted and r.is_deleted:
        return False
    if not q.include_superseded and r.is_superseded:
        return False
    if q.ids and r.id not in q.ids:
        return False
    tags = set(r.data_type_tags)
    if q.data_types_all and not set(q.data_types_all) <= tags:
        return False
    if q.data_types_any and tags.isdisjoint(q.data_types_any):
        return False
    if q.data_types_none and not tags.isdisjoint(q.data_types_none):
        return False
    pairs: list[tuple[list[str], str | None]] = [
        (q.media_types, r.media_type),
        (list(q.file_types), r.file_type),
        (q.workspaces, r.workspace.name),
        (q.job_types, r.job_type.name if r.job_type else None),
        (q.job_outputs, r.job_output),
        (q.jobs, r.job),
        (q.recipes, r.recipe),
        (q.recipe_nodes, r.recipe_node),
        (q.batches, r.batch),
        (q.source_sensor_class, r.source_sensor_class),
        (q.source_sensor, r.source_sensor),
        (q.source_collection, r.source_collection),
        (q.source_task, r.source_task),
    ]
    for wanted, actual in pairs:
        if wanted and actual not in wanted:
            return False
    for name, unwanted in q.not_in.items():
        value = r.id if name == "ids" else _excludable(r, name)
        if value is not None and value in unwanted:
            return False
    if q.file_names and r.file_name not in q.file_names:
        return False
    folded = r.file_name.casefold()
    if q.file_name_starts and not folded.startswith(q.file_name_starts.casefold()):
        return False
    if q.file_name_ends and not folded.endswith(q.file_name_ends.casefold()):
        return False
    if q.countries and set(r.countries).isdisjoint(q.countries):
        return False
    if q.derived_from and set(r.ancestors).isdisjoint(q.derived_from):
        return False
    if q.file_name_contains and (q.file_name_contains.casefold() not in r.file_name.casefold()):
        return False
    if q.datetime is not None and not _time_matches(q, r):
        return False
    if any(not m.matches(r.meta_data) for m in q.meta):
        return False
    if any(not b.holds(getattr(r, b.field)) for b in q.bounds):
        return False
    for path in q.meta_missing:
        found, value = lookup(r.meta_data, path)
        if found and value is not None:
            return False
    if any(not any(matches(alt, r) for alt in group) for group in q.any_of):
        return False
    return _place_matches(q, r)


def _time_matches(q: Query, r: FileRecord) -> bool:
    span = record_interval(r, q.time_field)
    if span is None or q.datetime is None:
        return False
    return interval_relation(span, q.datetime.start_us, q.datetime.end_us, q.time_relation)


def _place_matches(q: Query, r: FileRecord) -> bool:
    geom = q.geometry()
    if geom is None:
        return True

    shape = record_shape(r)
    return shape is not None and bool(geom.intersects(shape))


_EXCLUDABLE_ATTRS = {
    "media_types": "media_type",
    "workspaces": "workspace",
    "job_types": "job_type",
    "job_outputs": "job_output",
    "jobs": "job",
    "recipes": "recipe",
    "recipe_nodes": "recipe_node",
    "batches": "batch",
    "source_sensor_class": "source_sensor_class",
    "source_sensor": "source_sensor",
    "source_collection": "source_collection",
    "source_task": "source_task",
}


def _excludable(r: FileRecord, name: str) -> str | None:
    value = getattr(r, _EXCLUDABLE_ATTRS[name])
    if value is None or isinstance(value, str):
        return value
    return str(value.name)  # workspace and job type references


def record_interval(r: FileRecord, time_field: TimeField) -> tuple[int, int] | None:
    """The record's closed interval (epoch µs) for a time field; one end alone is an instant."""
    if time_field == "data_or_created":
        return record_interval(r, "data") or record_interval(r, "created")
    if time_field == "created":
        t = to_micros(r.created)
        return t, t
    if time_field == "last_modified":
        t = to_micros(r.last_modified)
        return t, t
    a, b = (
        (r.data_started, r.data_ended)
        if time_field == "data"
        else (r.source_started, r.source_ended)
    )
    if a is None and b is None:
        return None
    start = to_micros(a if a is not None else b)  # type: ignore[arg-type]
    end = to_micros(b if b is not None else a)  # type: ignore[arg-type]
    return (start, end) if start <= end else (end, start)


def interval_relation(
    span: tuple[int, int], qs: int | None, qe: int | None, relation: TimeRelation
) -> bool:
    """Closed-interval relation of a record span to a query interval with open ends."""
    rs, re_ = span
    if relation == "intersects":
        return (qe is None or rs <= qe) and (qs is None or re_ >= qs)
    if relation == "within":
        return (qs is None or rs >= qs) and (qe is None or re_ <= qe)
    # contains: the record covers the whole query interval; an open end is never covered
    return qs is not None and qe is not None and rs <= qs and re_ >= qe
