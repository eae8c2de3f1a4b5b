"""The one neutral search model: filters, sort and pagination, compiled per backend and matched."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from seedpipe.errors import InvalidInput
from seedpipe.query.meta import MAX_LIST, MetaFilter, MetaOp, lookup, same_kind
from seedpipe.query.values import (
    TimeInterval,
    check_bbox,
    parse_bbox,
    parse_datetime,
    parse_datetime_interval,
    to_micros,
)

# Re-exported: callers import the whole query vocabulary from here.
__all__ = [
    "MAX_LIMIT",
    "MAX_LIST",
    "MetaFilter",
    "MetaOp",
    "Query",
    "SortKey",
    "TimeBound",
    "TimeField",
    "TimeInterval",
    "check_bbox",
    "lookup",
    "parse_bbox",
    "parse_datetime",
    "parse_datetime_interval",
    "parse_sort",
    "same_kind",
    "to_micros",
]

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

    from seedpipe.records import FileRecord

MAX_LIMIT = 10_000
MAX_ALTERNATIVES = 16
MAX_SORT_KEYS = 5
MAX_TOKEN_CHARS = 4096

# "data_or_created": the data interval, else (a record without data time) its created time; the
# time a STAC item shows as its datetime.
TimeField = Literal["data", "source", "created", "last_modified", "data_or_created"]
# Query list fields that ``not_in`` may exclude values of (a record with no value is kept).
ExcludableField = Literal[
    "ids",
    "media_types",
    "workspaces",
    "job_types",
    "job_outputs",
    "jobs",
    "recipes",
    "recipe_nodes",
    "batches",
    "source_sensor_class",
    "source_sensor",
    "source_collection",
    "source_task",
]
TimeRelation = Literal["intersects", "within", "contains"]
SortField = Literal[
    "id",
    "file_name",
    "file_size",
    "created",
    "last_modified",
    "data_started",
    "data_ended",
    "source_started",
    "source_ended",
    "data_or_created",
]
SORT_TIME_FIELDS = frozenset(
    {
        "created",
        "last_modified",
        "data_started",
        "data_ended",
        "source_started",
        "source_ended",
        "data_or_created",
    }
)


# NUL never reaches a backend: SQLite and Lucene both treat it as a terminator.
def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Text = Annotated[str, StringConstraints(max_length=1024), AfterValidator(_no_nul)]
TextList = Annotated[list[Text], Field(max_length=MAX_LIST)]
Scalar = str | bool | int | float


BoundField = Literal[
    "data_started", "data_ended", "source_started", "source_ended", "created", "last_modified"
]


class TimeBound(BaseModel):
    """One record time field compared with an instant (Scale's ``data_started`` is
    ``data_started >= t``); a record without that time never matches."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: BoundField
    op: Literal[">=", "<="]
    value: datetime

    @field_validator("value")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    def holds(self, actual: datetime | None) -> bool:
        if actual is None:
            return False
        return actual >= self.value if self.op == ">=" else actual <= self.value


class SortKey(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    field: SortField
    desc: bool = False


DEFAULT_SORT = (SortKey(field="created", desc=True),)


def parse_sort(text: str, *, field: str = "sort") -> list[SortKey]:
    """``"-created,file_name"`` (``-`` descending, ``+`` or nothing ascending)."""
    keys: list[SortKey] = []
    seen: set[str] = set()
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        desc = part.startswith("-")
        name = part.lstrip("+-")
        if name in seen:
            continue  # a later key on the same field orders nothing more (as SQL's ORDER BY)
        seen.add(name)
        try:
            keys.append(SortKey.model_validate({"field": name, "desc": desc}))
        except ValidationError as exc:
            raise InvalidInput(
                f"cannot sort by {name!r}; use one of {', '.join(get_args(SortField))}",
                field=field,
            ) from exc
    return keys


class Query(BaseModel):
    """What to find. Empty lists and ``None`` mean "no filter"; all filters must hold (AND).

    Spatial filters match a record whose geometry (or center point when it has none) intersects
    ``bbox`` or ``intersects``. ``datetime`` compares with the record's interval of ``time_field``
    (data: data_started..data_ended; one end alone is an instant) under ``time_relation``:
    intersects (overlap), within (record inside the query), contains (record covers the query).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    ids: TextList = Field(default_factory=list)
    bbox: tuple[float, float, float, float] | None = None
    intersects: dict[str, Any] | None = None
    datetime: TimeInterval | None = None
    time_field: TimeField = "data"
    time_relation: TimeRelation = "intersects"
    data_types_all: TextList = Field(default_factory=list)
    data_types_any: TextList = Field(default_factory=list)
    data_types_none: TextList = Field(default_factory=list)
    media_types: TextList = Field(default_factory=list)
    file_types: Annotated[list[Literal["SOURCE", "PRODUCT"]], Field(max_length=2)] = Field(
        default_factory=list
    )
    workspaces: TextList = Field(default_factory=list)
    job_types: TextList = Field(default_factory=list, description="job type names")
    job_outputs: TextList = Field(default_factory=list)
    jobs: TextList = Field(default_factory=list, description="ids of the jobs that made them")
    recipes: TextList = Field(default_factory=list, description="recipe ids")
    recipe_nodes: TextList = Field(default_factory=list)
    batches: TextList = Field(default_factory=list, description="batch ids")
    derived_from: TextList = Field(
        default_factory=list, description="any of these file ids is among the record's ancestors"
    )
    file_name_contains: Text | None = Field(default=None, description="case-insensitive")
    file_name_starts: Text | None = Field(default=None, description="case-insensitive prefix")
    file_name_ends: Text | None = Field(default=None, description="case-insensitive suffix")
    file_names: TextList = Field(default_factory=list, description="exactly one of these names")
    not_in: dict[ExcludableField, TextList] = Field(
        default_factory=dict, description="values the field must not hold (missing is kept)"
    )
    countries: TextList = Field(default_factory=list, description="any of (ISO alpha-3)")
    source_sensor_class: TextList = Field(default_factory=list)
    source_sensor: TextList = Field(default_factory=list)
    source_collection: TextList = Field(default_factory=list)
    source_task: TextList = Field(default_factory=list)
    meta: Annotated[list[MetaFilter], Field(max_length=64)] = Field(default_factory=list)
    bounds: Annotated[list[TimeBound], Field(max_length=16)] = Field(default_factory=list)
    meta_missing: Annotated[list[Text], Field(max_length=16)] = Field(
        default_factory=list, description="meta_data paths that hold no value (or null)"
    )
    any_of: Annotated[
        list[Annotated[list[Query], Field(min_length=1, max_length=MAX_ALTERNATIVES)]],
        Field(max_length=8),
    ] = Field(
        default_factory=list,
        description="groups of alternatives: each group needs one alternative that matches "
        "(filters only; no place, sort or paging inside)",
    )
    include_superseded: bool = False
    include_deleted: bool = False
    sort: Annotated[list[SortKey], Field(max_length=MAX_SORT_KEYS)] = Field(default_factory=list)
    limit: int = Field(default=100, ge=1, le=MAX_LIMIT)
    token: Annotated[str, StringConstraints(max_length=MAX_TOKEN_CHARS)] | None = None

    @field_validator("bbox", mode="before")
    @classmethod
    def _bbox(cls, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, str):
            return parse_bbox(value)
        return check_bbox(value)

    @field_validator("intersects")
    @classmethod
    def _check_intersects(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            from seedpipe.query.geometry import clean_geometry

            clean_geometry(value, field="intersects")
        return value

    @field_validator("datetime", mode="before")
    @classmethod
    def _interval(cls, value: Any) -> Any:
        if isinstance(value, str):
            return parse_datetime_interval(value)
        return value

    @field_validator("sort", mode="before")
    @classmethod
    def _sort(cls, value: Any) -> Any:
        return parse_sort(value) if isinstance(value, str) else value

    @field_validator("meta_missing")
    @classmethod
    def _paths(cls, value: list[str]) -> list[str]:
        for path in value:
            MetaFilter.model_validate({"property": path, "op": "==", "value": 0})
        return value

    @field_validator("any_of")
    @classmethod
    def _alternatives(cls, value: list[list[Query]]) -> list[list[Query]]:
        for group in value:
            for alt in group:
                if alt.bbox or alt.intersects or alt.sort or alt.token or alt.any_of:
                    raise ValueError(
                        "an alternative holds filters only: no place, sort, token or any_of"
                    )
        return value

    @model_validator(mode="after")
    def _checks(self) -> Query:
        if self.bbox is not None and self.intersects is not None:
            raise ValueError("give bbox or intersects, not both")
        fields = [k.field for k in self.sort]
        if len(set(fields)) != len(fields):
            raise ValueError("sort names a field twice")
        if self.token is not None:
            self.decode_token()
        return self

    @classmethod
    def parse(cls, data: Any, **overrides: Any) -> Query:
        """Validate a dict from outside; raise InvalidInput naming the first bad field."""
        if not isinstance(data, dict):
            raise InvalidInput("a query must be a JSON object", field="query")
        try:
            return cls.model_validate({**data, **overrides})
        except InvalidInput:
            raise
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "query"
            cause = err.get("ctx", {}).get("error")
            if isinstance(cause, InvalidInput):
                text, field = str(cause), cause.field or where
                text = text.removeprefix(f"{cause.field}: ") if cause.field else text
                raise InvalidInput(text, field=field) from exc
            raise InvalidInput(err["msg"], field=where) from exc

    # ----- derived forms the backends share -----

    @property
    def sort_keys(self) -> tuple[SortKey, ...]:
        """The effective order; ``id`` ascending always breaks ties (so tokens are stable)."""
        return tuple(k for k in (self.sort or DEFAULT_SORT) if k.field != "id")

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Query:
        """A copy; the shapes derived from the filters are derived again, not copied (a copy
        with another ``bbox`` or ``intersects`` must not filter by the old one)."""
        copy = super().model_copy(update=update, deep=deep)
        for name in ("_geometry", "_boxes"):  # the cached_property values below
            copy.__dict__.pop(name, None)
        return copy

    @cached_property
    def _geometry(self) -> BaseGeometry | None:
        from seedpipe.query.geometry import bbox_geometry, clean_geometry

        if self.bbox is not None:
            return bbox_geometry(self.bbox)
        if self.intersects is not None:
            return clean_geometry(self.intersects, field="intersects").shape
        return None

    def geometry(self) -> BaseGeometry | None:
        """The spatial filter as one shapely geometry (split at the antimeridian), or None."""
        return self._geometry

    @cached_property
    def _boxes(self) -> list[tuple[float, float, float, float]] | None:
        from seedpipe.query.geometry import exact_boxes

        geom = self._geometry
        return None if geom is None else exact_boxes(geom)

    def boxes(self) -> list[tuple[float, float, float, float]] | None:
        """The spatial filter as axis-aligned boxes when it is exactly that, else None."""
        return self._boxes

    def fingerprint(self) -> str:
        """A short hash of everything but limit and token: a token only fits its own query."""
        body = self.model_dump(mode="json", exclude={"limit", "token"})
        raw = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(raw).hexdigest()[:16]

    # ----- pagination tokens: base64url JSON of the last row's sort values and id -----

    def make_token(self, values: list[Any], last_id: str, *, before: bool = False) -> str:
        """A token for the rows after the row ``(values, last_id)`` in query order, or with
        ``before`` the rows before it (a previous page: its last ``limit`` rows)."""
        body: dict[str, Any] = {"f": self.fingerprint(), "k": values, "id": last_id}
        if before:
            body["d"] = "b"
        raw = json.dumps(body, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @property
    def token_before(self) -> bool:
        """Whether ``token`` asks for the page before its row (a ``prev`` link) rather than
        after it; checked like the rest of the token by ``decode_token``."""
        if self.token is None:
            return False
        try:
            raw = base64.urlsafe_b64decode(self.token + "=" * (-len(self.token) % 4))
            body = json.loads(raw)
        except (binascii.Error, ValueError):
            return False
        return isinstance(body, dict) and body.get("d") == "b"

    def decode_token(self) -> tuple[list[Any], str] | None:
        """``(sort values, last id)`` from ``token``; InvalidInput(field='token') if forged."""
        if self.token is None:
            return None
        bad = InvalidInput("is not a token this query produced", field="token")
        try:
            raw = base64.urlsafe_b64decode(self.token + "=" * (-len(self.token) % 4))
            body = json.loads(raw)
        except (binascii.Error, ValueError) as exc:
            raise bad from exc
        if not isinstance(body, dict) or set(body) - {"d"} != {"f", "k", "id"}:
            raise bad
        if body.get("d", "b") != "b":
            raise bad
        values, last_id = body["k"], body["id"]
        if body["f"] != self.fingerprint() or not isinstance(last_id, str) or len(last_id) > 128:
            raise bad
        if not isinstance(values, list) or len(values) > MAX_SORT_KEYS + 1:
            raise bad
        for v in values:
            if v is not None and (isinstance(v, bool) or not isinstance(v, int | float | str)):
                raise bad
            if isinstance(v, str) and len(v) > 2048:
                raise bad
            if isinstance(v, float) and not math.isfinite(v):
                raise bad
        return values, last_id

    def sort_values(self, record: FileRecord) -> list[Any]:
        """The neutral sort values of a record (times as epoch microseconds, None if missing)."""
        out: list[Any] = []
        for key in self.sort_keys:
            if key.field == "data_or_created":
                value = record.data_started or record.created
            else:
                value = getattr(record, key.field)
            out.append(to_micros(value) if isinstance(value, datetime) else value)
        return out

    # ----- the same semantics, evaluated in Python on one record -----

    def matches(self, record: FileRecord) -> bool:
        """Whether ``record`` satisfies every filter (sort, limit and token do not apply)."""
        r = record
        if not self.include_deleted and r.is_deleted:
            return False
        if not self.include_superseded and r.is_superseded:
            return False
        if self.ids and r.id not in self.ids:
            return False
        tags = set(r.data_type_tags)
        if self.data_types_all and not set(self.data_types_all) <= tags:
            return False
        if self.data_types_any and tags.isdisjoint(self.data_types_any):
            return False
        if self.data_types_none and not tags.isdisjoint(self.data_types_none):
            return False
        pairs: list[tuple[list[str], str | None]] = [
            (self.media_types, r.media_type),
            (list(self.file_types), r.file_type),
            (self.workspaces, r.workspace.name),
            (self.job_types, r.job_type.name if r.job_type else None),
            (self.job_outputs, r.job_output),
            (self.jobs, r.job),
            (self.recipes, r.recipe),
            (self.recipe_nodes, r.recipe_node),
            (self.batches, r.batch),
            (self.source_sensor_class, r.source_sensor_class),
            (self.source_sensor, r.source_sensor),
            (self.source_collection, r.source_collection),
            (self.source_task, r.source_task),
        ]
        for wanted, actual in pairs:
            if wanted and actual not in wanted:
                return False
        for name, unwanted in self.not_in.items():
            value = r.id if name == "ids" else _excludable(r, name)
            if value is not None and value in unwanted:
                return False
        if self.file_names and r.file_name not in self.file_names:
            return False
        folded = r.file_name.casefold()
        if self.file_name_starts and not folded.startswith(self.file_name_starts.casefold()):
            return False
        if self.file_name_ends and not folded.endswith(self.file_name_ends.casefold()):
            return False
        if self.countries and set(r.countries).isdisjoint(self.countries):
            return False
        if self.derived_from and set(r.ancestors).isdisjoint(self.derived_from):
            return False
        if self.file_name_contains and (
            self.file_name_contains.casefold() not in r.file_name.casefold()
        ):
            return False
        if self.datetime is not None and not self._time_matches(r):
            return False
        if any(not m.matches(r.meta_data) for m in self.meta):
            return False
        if any(not b.holds(getattr(r, b.field)) for b in self.bounds):
            return False
        for path in self.meta_missing:
            found, value = lookup(r.meta_data, path)
            if found and value is not None:
                return False
        if any(not any(alt.matches(r) for alt in group) for group in self.any_of):
            return False
        return self._place_matches(r)

    def _time_matches(self, r: FileRecord) -> bool:
        span = record_interval(r, self.time_field)
        if span is None or self.datetime is None:
            return False
        return interval_relation(
            span, self.datetime.start_us, self.datetime.end_us, self.time_relation
        )

    def _place_matches(self, r: FileRecord) -> bool:
        geom = self._geometry
        if geom is None:
            return True
        from seedpipe.query.geometry import record_shape

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
