"""Pagination tokens: base64url JSON of one row's sort values and id, bound to their query.

A token names a row and a direction: the rows after it (``next``) or before it (``prev``). It
carries the query's fingerprint, so a token only fits the query that made it; anything else
that comes back is refused as a forged token naming ``token``.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from typing import Any

from seedpipe.errors import InvalidInput

MAX_TOKEN_CHARS = 4096
MAX_TOKEN_ID = 128
MAX_TOKEN_TEXT = 2048


def make_token(fingerprint: str, values: list[Any], row_id: str, *, before: bool = False) -> str:
    body: dict[str, Any] = {"f": fingerprint, "k": values, "id": row_id}
    if before:
        body["d"] = "b"
    raw = json.dumps(body, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _body(token: str) -> Any:
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    return json.loads(raw)


def token_before(token: str | None) -> bool:
    """Whether ``token`` asks for the rows before its row (a ``prev`` link)."""
    if token is None:
        return False
    try:
        body = _body(token)
    except (binascii.Error, ValueError):
        return False
    return isinstance(body, dict) and body.get("d") == "b"


def decode_token(token: str, fingerprint: str, max_values: int) -> tuple[list[Any], str]:
    """``(sort values, row id)``; InvalidInput(field='token') for anything this query's
    ``make_token`` could not have made."""
    bad = InvalidInput("is not a token this query produced", field="token")
    try:
        body = _body(token)
    except (binascii.Error, ValueError) as exc:
        raise bad from exc
    if not isinstance(body, dict) or set(body) - {"d"} != {"f", "k", "id"}:
        raise bad
    if body.get("d", "b") != "b":
        raise bad
    values, row_id = body["k"], body["id"]
    if body["f"] != fingerprint or not isinstance(row_id, str) or len(row_id) > MAX_TOKEN_ID:
        raise bad
    if not isinstance(values, list) or len(values) > max_values:
        raise bad
    for v in values:
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | float | str)):
            raise bad
        if isinstance(v, str) and len(v) > MAX_TOKEN_TEXT:
            raise bad
        if isinstance(v, float) and not math.isfinite(v):
            raise bad
    return values, row_id
