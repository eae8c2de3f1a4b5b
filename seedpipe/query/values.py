"""Time and bbox filter values: RFC 3339 instants and intervals, bboxes in degrees."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from seedpipe.errors import InvalidInput

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def to_micros(value: datetime) -> int:
    """Microseconds since the epoch (UTC): the one integer form of a time the backends compare."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - EPOCH) // MICROSECOND


def parse_datetime(text: str, *, field: str = "datetime") -> datetime:
    """An RFC 3339 date-time (a bare date means its midnight UTC; no offset means UTC)."""
    if not isinstance(text, str) or not text.strip() or len(text) > 64:
        raise InvalidInput(f"{text!r} is not an RFC 3339 date-time", field=field)
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise InvalidInput(f"{text!r} is not an RFC 3339 date-time ({exc})", field=field) from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class TimeInterval(BaseModel):
    """A closed interval of time; a missing end is open (unbounded)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: datetime | None = None
    end: datetime | None = None

    @field_validator("start", "end")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value

    @model_validator(mode="after")
    def _ordered(self) -> TimeInterval:
        if self.start and self.end and self.start > self.end:
            raise ValueError("start is after end")
        return self

    @property
    def start_us(self) -> int | None:
        return None if self.start is None else to_micros(self.start)

    @property
    def end_us(self) -> int | None:
        return None if self.end is None else to_micros(self.end)


def parse_datetime_interval(text: str, *, field: str = "datetime") -> TimeInterval:
    """``A/B``, ``A/..``, ``../B`` or a single instant ``A`` (STAC/OGC ``datetime``)."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput("must be an RFC 3339 date-time or interval A/B", field=field)
    parts = text.strip().split("/")
    if len(parts) > 2:
        raise InvalidInput(f"{text!r} has more than one '/'", field=field)
    if len(parts) == 1:
        instant = parse_datetime(parts[0], field=field)
        return TimeInterval(start=instant, end=instant)
    ends = [None if p in ("", "..") else parse_datetime(p, field=field) for p in parts]
    if ends[0] is None and ends[1] is None:
        raise InvalidInput(
            "an interval needs at least one end ('../..' is everything)", field=field
        )
    if ends[0] and ends[1] and ends[0] > ends[1]:
        raise InvalidInput(f"{text!r}: start is after end", field=field)
    return TimeInterval(start=ends[0], end=ends[1])


def check_bbox(values: Any, *, field: str = "bbox") -> tuple[float, float, float, float]:
    """Validate (minx, miny, maxx, maxy) in degrees; minx > maxx crosses the antimeridian."""
    if not isinstance(values, list | tuple) or len(values) not in (4, 6):
        raise InvalidInput("must be 4 numbers: minx,miny,maxx,maxy", field=field)
    if len(values) == 6:  # a 3D bbox: drop the heights
        values = [values[0], values[1], values[3], values[4]]
    out: list[float] = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | float | str):
            raise InvalidInput(f"{v!r} is not a number", field=field)
        try:
            f = float(v)
        except ValueError as exc:
            raise InvalidInput(f"{v!r} is not a number", field=field) from exc
        if not math.isfinite(f):
            raise InvalidInput(f"{v!r} is not a finite number", field=field)
        out.append(f)
    minx, miny, maxx, maxy = out
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180):
        raise InvalidInput("longitudes must lie in [-180, 180]", field=field)
    if not (-90 <= miny <= 90 and -90 <= maxy <= 90):
        raise InvalidInput("latitudes must lie in [-90, 90]", field=field)
    if miny > maxy:
        raise InvalidInput("miny is greater than maxy", field=field)
    return (minx, miny, maxx, maxy)


def parse_bbox(text: str, *, field: str = "bbox") -> tuple[float, float, float, float]:
    """``"minx,miny,maxx,maxy"`` as four checked floats."""
    if not isinstance(text, str) or len(text) > 256:
        raise InvalidInput("must be minx,miny,maxx,maxy", field=field)
    return check_bbox([p.strip() for p in text.split(",")], field=field)
