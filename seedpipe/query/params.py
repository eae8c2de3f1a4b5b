"""Scale ``/files`` parameters translated into the neutral ``Query``, and shared helpers."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from seedpipe import strictjson
from seedpipe.errors import InvalidInput
from seedpipe.query.model import MAX_LIST, MAX_SORT_KEYS, Query, parse_bbox, parse_datetime

# Scale's own page size limit; STAC's limit may go up to the query model's.
MAX_PAGE_SIZE = 1000
MAX_PAGE = 1_000_000
# Scale's page N is reached by walking tokens; deeper than this, narrow the filters instead.
MAX_OFFSET = 100_000
MAX_PARAM_CHARS = 1_000_000
MAX_ASKED = 10**18  # the largest page size asked for that is clamped (larger: a 400)

# Scale list parameters (repeatable, or comma separated) -> Query field.
SCALE_LISTS: dict[str, str] = {
    "source_sensor_class": "source_sensor_class",
    "source_sensor": "source_sensor",
    "source_collection": "source_collection",
    "source_task": "source_task",
    "job_type_name": "job_types",
    "job_output": "job_outputs",
    "job_id": "jobs",
    "recipe_id": "recipes",
    "recipe_node": "recipe_nodes",
    "batch_id": "batches",
    "derived_from": "derived_from",
    "countries": "countries",
    "media_type": "media_types",
    "file_type": "file_types",
    "data_type": "data_types_any",
    "data_type_any": "data_types_any",
    "data_type_all": "data_types_all",
    "data_type_none": "data_types_none",
    "workspace": "workspaces",
    "id": "ids",
}
# Scale's time parameters: each compares one record time with an instant (AND together).
SCALE_BOUNDS = {
    "data_started": ("data_started", ">="),
    "data_ended": ("data_ended", "<="),
    "source_started": ("source_started", ">="),
    "source_ended": ("source_ended", "<="),
    "created_started": ("created", ">="),
    "created_ended": ("created", "<="),
    "modified_started": ("last_modified", ">="),
    "modified_ended": ("last_modified", "<="),
}
DURATION = re.compile(
    r"^P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$",
    re.ASCII,
)


SCALE_SINGLE = {
    "file_name_contains",
    "file_name_starts",
    "file_name_ends",
    "bbox",
    "intersects",
    "datetime",
    "relation",
    "time_field",
    "order",
    "page",
    "page_size",
    "cursor",
    "meta",
    "include_superseded",
}
SCALE_PARAMS = frozenset(SCALE_LISTS) | frozenset(SCALE_BOUNDS) | SCALE_SINGLE | {"file_name"}
Params = Mapping[str, Sequence[str]]


def one(params: Params, name: str) -> str | None:
    values = params.get(name) or []
    if len(values) > 1:
        raise InvalidInput("may be given only once", field=name)
    if not values:
        return None
    value = values[0]
    if len(value) > MAX_PARAM_CHARS:
        raise InvalidInput(f"is longer than {MAX_PARAM_CHARS} characters", field=name)
    return value


def many(params: Params, name: str) -> list[str]:
    """Repeated values and comma-separated values alike (``a,b`` or ``x=a&x=b``)."""
    out: list[str] = []
    given = params.get(name) or []
    if len(given) > MAX_LIST:
        raise InvalidInput(f"takes at most {MAX_LIST} values", field=name)
    count = 0
    for value in given:
        parts = value.split(",")
        count += len(parts)  # empty values are ignored, but they count towards the limit
        if count > MAX_LIST:
            raise InvalidInput(f"takes at most {MAX_LIST} values", field=name)
        out.extend(p.strip() for p in parts if p.strip())
    return out


def integer(text: str | None, name: str, low: int, high: int, default: int) -> int:
    if text is None or text == "":
        return default
    try:
        value = int(text.strip())
    except ValueError as exc:
        raise InvalidInput(f"{text[:40]!r} is not an integer", field=name) from exc
    if not low <= value <= high:
        raise InvalidInput(f"must lie between {low} and {high}", field=name)
    return value


def _bool(text: str | None, name: str) -> bool:
    if text is None:
        return False
    lowered = text.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no", ""):
        return False
    raise InvalidInput("must be true or false", field=name)


def parse_json(text: str, name: str) -> Any:
    """JSON from a parameter; NaN and Infinity are refused (they are not JSON)."""

    try:
        return strictjson.loads(text, name)
    except InvalidInput as exc:  # NaN or Infinity, at exc.field inside the parameter
        raise InvalidInput(f"is not valid JSON ({exc})", field=name) from exc
    except (ValueError, RecursionError) as exc:
        raise InvalidInput(f"is not valid JSON ({str(exc)[:120]})", field=name) from exc


def parse_meta(texts: Sequence[str], name: str = "meta") -> list[dict[str, Any]]:
    """``meta`` filters: each a JSON ``{"property", "op", "value"}`` or a JSON list of them."""
    out: list[dict[str, Any]] = []
    for text in texts:
        value = parse_json(text, name)
        items = value if isinstance(value, list) else [value]
        for item in items:
            if not isinstance(item, dict):
                raise InvalidInput('each filter must be {"property", "op", "value"}', field=name)
            out.append(item)
    return out


def build(fields: dict[str, Any], rename: Mapping[str, str] | None = None) -> Query:
    """``Query.parse`` with errors renamed to the caller's parameter names."""
    try:
        return Query.parse(fields)
    except InvalidInput as exc:
        field = (exc.field or "query").split(".")[0]
        name = (rename or {}).get(field, field)
        message = str(exc)
        prefix = f"{exc.field}: "
        if message.startswith(prefix):
            message = message[len(prefix) :]
        raise InvalidInput(message, field=name) from exc


def scale_time(text: str, name: str, now: datetime | None = None) -> datetime:
    """An ISO 8601 date-time, or a duration before now (``PT3H``: three hours ago), as Scale
    reads its time parameters."""
    value = text.strip()
    if value.upper().startswith("P"):
        match = DURATION.match(value.upper())
        if not match or value.upper() in ("P", "PT") or value.upper().endswith("T"):
            raise InvalidInput(
                f"{value[:40]!r} is not an ISO 8601 duration of weeks, days, hours, minutes "
                "and seconds (like PT3H or P1DT12H)",
                field=name,
            )
        parts = {k: float(v) for k, v in match.groupdict().items() if v}
        try:
            ago = timedelta(
                weeks=parts.get("w", 0),
                days=parts.get("d", 0),
                hours=parts.get("h", 0),
                minutes=parts.get("m", 0),
                seconds=parts.get("s", 0),
            )
            return (now or datetime.now(UTC)) - ago
        except OverflowError as exc:
            raise InvalidInput(f"{value[:40]!r} reaches before year 1", field=name) from exc
    return parse_datetime(value, field=name)


def _time_range(params: Params, fields: dict[str, Any], rename: dict[str, str]) -> None:
    bounds = []
    for name, (target, op) in SCALE_BOUNDS.items():
        text = one(params, name)
        if text:
            bounds.append({"field": target, "op": op, "value": scale_time(text, name)})
            rename.setdefault("bounds", name)
    for start_name, end_name in (
        ("data_started", "data_ended"),
        ("source_started", "source_ended"),
        ("created_started", "created_ended"),
        ("modified_started", "modified_ended"),
    ):
        low, high = one(params, start_name), one(params, end_name)
        if low and high and scale_time(low, start_name) > scale_time(high, end_name):
            raise InvalidInput(f"is after {end_name}", field=start_name)
    if bounds:
        fields["bounds"] = bounds
    # The interval overlap (or within/contains) of one time field: datetime + time_field.
    interval = one(params, "datetime")
    time_field = one(params, "time_field")
    if interval is not None:
        fields["datetime"] = interval
    if time_field is not None:
        fields["time_field"] = time_field
    relation = one(params, "relation")
    if relation is not None:
        fields["time_relation"] = relation
        rename["time_relation"] = "relation"


def _spatial(params: Params, fields: dict[str, Any]) -> None:
    bbox = one(params, "bbox")
    intersects = one(params, "intersects")
    if bbox is not None and intersects is not None:
        raise InvalidInput("give bbox or intersects, not both", field="intersects")
    if bbox is not None:
        fields["bbox"] = parse_bbox(bbox)
    if intersects is not None:
        fields["intersects"] = parse_json(intersects, "intersects")


class PageTooDeep(InvalidInput):
    """A page number past what is walked to (a 404, like Scale's pages past the end)."""


def files_query(params: Params) -> tuple[Query, int, int]:
    """Scale ``GET /files`` parameters -> (Query without paging, page, page_size).

    Unknown parameters are refused so a misspelt filter never silently widens a search.
    """
    for name in params:
        if name not in SCALE_PARAMS:
            raise InvalidInput("is not a /files parameter", field=name)
    fields: dict[str, Any] = {}
    rename: dict[str, str] = {v: k for k, v in SCALE_LISTS.items()}
    rename["data_types_any"] = "data_type"
    for name, target in SCALE_LISTS.items():
        values = many(params, name)
        if values:
            fields[target] = [*fields.get(target, []), *values]
            rename[target] = name
    if "file_types" in fields:
        fields["file_types"] = sorted({v.upper() for v in fields["file_types"]})
    if "countries" in fields:
        fields["countries"] = [v.upper() for v in fields["countries"]]
    _time_range(params, fields, rename)
    _spatial(params, fields)
    # Scale's file_name: exactly one of these names (repeatable); the substring has its own name
    names = params.get("file_name") or []
    if names:
        if len(names) > MAX_LIST:
            raise InvalidInput(f"takes at most {MAX_LIST} values", field="file_name")
        fields["file_names"] = list(names)
        rename["file_names"] = "file_name"
    for name in ("file_name_contains", "file_name_starts", "file_name_ends"):
        value = one(params, name)
        if value:
            fields[name] = value
    meta = params.get("meta") or []
    if meta:
        fields["meta"] = parse_meta(meta)
    fields["include_superseded"] = _bool(one(params, "include_superseded"), "include_superseded")
    order = many(params, "order")
    if len(order) > MAX_SORT_KEYS:
        raise InvalidInput(f"takes at most {MAX_SORT_KEYS} sort keys", field="order")
    if order:
        fields["sort"] = ",".join(order)
        rename["sort"] = "order"
    page = integer(one(params, "page"), "page", 1, MAX_PAGE, 1)
    # Scale clamps page_size at its maximum rather than refusing it
    page_size = min(integer(one(params, "page_size"), "page_size", 1, 10**9, 100), MAX_PAGE_SIZE)
    # A cursor (from a ``next`` link) says where the page starts, so it is not walked to:
    # following next links reaches every record, however deep.
    cursor = one(params, "cursor")
    if cursor is not None:
        fields["token"] = cursor
        rename["token"] = "cursor"  # noqa: S105 (a parameter name, not a secret)
    elif (page - 1) * page_size > MAX_OFFSET:
        raise PageTooDeep(
            f"pages start at most {MAX_OFFSET} records in; follow the next links (they carry "
            "a cursor) or narrow the filters",
            field="page",
        )
    return build(fields, rename), page, page_size
