"""JSON from outside parsed as RFC 8259 says: NaN and Infinity refused, with their JSON path."""

from __future__ import annotations

import json
from typing import Any

from seedpipe.errors import InvalidInput

# digits -> "1", e/E -> "2", everything else -> "0": two bytes.find calls then tell whether a
# number could overflow a float (it has an exponent, or 300 digits in a row).
_SHAPE = bytes(
    ord("1") if chr(b).isdigit() else ord("2") if chr(b) in "eE" else ord("0") for b in range(256)
)


def _may_overflow(raw: bytes) -> bool:
    shape = raw.translate(_SHAPE)
    return shape.find(b"12") >= 0 or shape.find(b"1" * 300) >= 0


class _NonFinite(ValueError):
    pass


class _Marker:
    __slots__ = ("token",)

    def __init__(self, token: str) -> None:
        self.token = token


def _refuse(token: str) -> Any:
    raise _NonFinite(token)


def _finite(text: str) -> float:
    # 1e400 is valid JSON syntax that Python reads as infinity: refused like Infinity itself.
    value = float(text)
    if value - value != 0.0:
        raise _NonFinite(text)
    return value


def _marked_float(text: str) -> Any:
    value = float(text)
    return value if value - value == 0.0 else _Marker(text)


def _path_of_marker(value: Any, path: str) -> tuple[str, str] | None:
    # Only walked once a non-finite number is known to be there: the common path pays nothing.
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, _Marker):
            return where, node.token
        if isinstance(node, dict):
            items = [(v, f"{where}.{k}" if where else str(k)) for k, v in node.items()]
            stack.extend(reversed(items))
        elif isinstance(node, list):
            stack.extend(reversed([(v, f"{where}[{i}]") for i, v in enumerate(node)]))
    return None


def loads(text: str | bytes, label: str) -> Any:
    """Parse ``text``; a NaN or Infinity raises InvalidInput naming ``label`` and the JSON path
    (``label: properties.cloud``). Syntax errors propagate as ``json.JSONDecodeError``."""
    raw = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    # Only a number with an exponent or 300 digits can overflow to infinity; without one the
    # C parser reads floats itself (a Python float hook costs ~60% on a big sidecar).
    hook = _finite if _may_overflow(raw) else None
    try:
        return json.loads(text, parse_constant=_refuse, parse_float=hook)
    except _NonFinite:
        doc = json.loads(text, parse_constant=_Marker, parse_float=_marked_float)
    found = _path_of_marker(doc, "")
    where, token = found if found else ("", "NaN")
    field = f"{label}: {where}" if label and where else (where or label)
    shown = token if len(token) <= 40 else token[:20] + "…" + token[-8:]
    raise InvalidInput(
        f"{shown} is not a finite number (NaN, Infinity and overflowing numbers are refused)",
        field=field,
    )
