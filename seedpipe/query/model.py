"""The one neutral search model: filters, sort and pagination, compiled per backend and matched."""

from __future__ import annotations

import hashlib
import json
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
from seedpipe.query import tokens
from seedpipe.query.meta import MAX_LIST, MetaFilter, MetaOp, lookup, same_kind
from seedpipe.query.tokens import MAX_TOKEN_CHARS
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
            from seedpipe.query.geometry import query_shape

            query_shape(value, field="intersects")
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
        from seedpipe.query.geometry import bbox_geometry, query_shape

        if self.bbox is not None:
            return bbox_geometry(self.bbox)
        if self.intersects is not None:
            return query_shape(self.intersects, field="intersects")
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

    # ----- pagination tokens (seedpipe.query.tokens), bound to this query's fingerprint -----

    def make_token(self, values: list[Any], last_id: str, *, before: bool = False) -> str:
        """A token for the rows after the row ``(values, last_id)`` in query order, or with
        ``before`` the rows before it (a previous page: its last ``limit`` rows)."""
        return tokens.make_token(self.fingerprint(), values, last_id, before=before)

    @property
    def token_before(self) -> bool:
        """Whether ``token`` asks for the page before its row (a ``prev`` link) rather than
        after it; checked like the rest of the token by ``decode_token``."""
        return tokens.token_before(self.token)

    def decode_token(self) -> tuple[list[Any], str] | None:
        """``(sort values, row id)`` from ``token``; InvalidInput(field='token') if forged."""
        if self.token is None:
            return None
        return tokens.decode_token(self.token, self.fingerprint(), MAX_SORT_KEYS + 1)

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
