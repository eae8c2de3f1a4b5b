"""Comparisons on meta_data properties with Scale's recipe-condition operators."""

from __future__ import annotations

import math
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

MAX_LIST = 10_000
MetaOp = Literal["==", "!=", "<", "<=", ">", ">=", "between", "in", "contains"]
# A meta_data property path: dot-separated keys; the charset keeps JSON paths unambiguous.
META_PATH = re.compile(r"^[A-Za-z0-9_:@\-]{1,128}(\.[A-Za-z0-9_:@\-]{1,128}){0,15}$")


class MetaFilter(BaseModel):
    """A comparison on a ``meta_data`` property (dotted path), with Scale's condition operators.

    ``between`` takes ``[low, high]`` (inclusive), ``in`` a list, ``contains`` a substring of a
    string property or an element of an array property. Values of another type never match.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    property: str
    op: MetaOp
    value: Any

    @field_validator("property")
    @classmethod
    def _path(cls, value: str) -> str:
        if not META_PATH.match(value):
            raise ValueError(
                "must be a dotted path of keys made of letters, digits and _ : @ - (at most 16)"
            )
        return value

    @model_validator(mode="after")
    def _value_fits_op(self) -> MetaFilter:
        v = self.value
        if self.op == "between":
            if not isinstance(v, list | tuple) or len(v) != 2:
                raise ValueError("between takes [low, high]")
            for item in v:
                _check_scalar(item)
            if _kind(v[0]) != _kind(v[1]):
                raise ValueError("between needs two values of the same type")
        elif self.op == "in":
            if not isinstance(v, list | tuple) or len(v) > MAX_LIST:
                raise ValueError(f"in takes a list of at most {MAX_LIST} values")
            for item in v:
                _check_scalar(item)
        else:
            _check_scalar(v)
        if isinstance(v, tuple):
            object.__setattr__(self, "value", list(v))
        return self

    def matches(self, meta: dict[str, Any]) -> bool:
        found, actual = lookup(meta, self.property)
        if not found:
            return False
        v = self.value
        if self.op == "contains":
            if isinstance(actual, str):
                return isinstance(v, str) and v in actual
            if isinstance(actual, list):
                return any(same_kind(a, v) and a == v for a in actual)
            return False
        if self.op == "in":
            return any(same_kind(actual, item) and actual == item for item in v)
        if self.op == "between":
            return (
                same_kind(actual, v[0]) and not isinstance(actual, bool) and v[0] <= actual <= v[1]
            )
        if not same_kind(actual, v):
            return False
        if self.op == "==":
            return bool(actual == v)
        if self.op == "!=":
            return bool(actual != v)
        if isinstance(actual, bool):
            return False  # booleans have no order
        return bool(_ORDER[self.op](actual, v))


_ORDER = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _check_scalar(value: Any) -> None:
    if isinstance(value, str):
        if len(value) > 1024:
            raise ValueError("string values are limited to 1024 characters")
        return
    if isinstance(value, bool | int):
        if not isinstance(value, bool) and abs(value) > 2**53:
            raise ValueError("integers must lie within ±2**53")
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("numbers must be finite")
        return
    raise ValueError(f"{value!r} is not a string, number or boolean")


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "other"


def same_kind(a: Any, b: Any) -> bool:
    """Meta comparisons only match values of one kind: string, number (int or float), boolean."""
    return _kind(a) == _kind(b) != "other"


def lookup(meta: Any, path: str) -> tuple[bool, Any]:
    """``(found, value)`` at a dotted path inside nested dicts."""
    node = meta
    for key in path.split("."):
        if not isinstance(node, dict) or key not in node:
            return False, None
        node = node[key]
    return True, node
