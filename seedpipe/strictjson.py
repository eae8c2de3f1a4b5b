"""JSON from outside parsed as RFC 8259 says: NaN and Infinity refused, with their JSON path."""

from __future__ import annotations

import json
from typing import Any

from seedpipe.errors import InvalidInput


class _NonFinite(ValueError):
    pass


class _Marker:
    __slots__ = ("token",)

    def __init__(self, token: str) -> None:
        self.token = token


def _refuse(token: str) -> Any:
    raise _NonFinite(token)


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
    try:
        return json.loads(text, parse_constant=_refuse)
    except _NonFinite:
        doc = json.loads(text, parse_constant=_Marker)
    found = _path_of_marker(doc, "")
    where, token = found if found else ("", "NaN")
    field = f"{label}: {where}" if label and where else (where or label)
    raise InvalidInput(f"{token} is not a number JSON allows (RFC 8259)", field=field)
