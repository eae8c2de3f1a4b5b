"""RFC 3339 as STAC and OGC API Features require it for ``datetime`` (strict, case-blind T/Z)."""

from __future__ import annotations

import re

from seedpipe.errors import InvalidInput

# full-date "T" full-time, with a required offset (RFC 3339 section 5.6); t and z may be lower case.
RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$", re.ASCII
)


def rfc3339(text: str, *, field: str = "datetime") -> str:
    """``text`` upper-cased when it is an RFC 3339 date-time; InvalidInput naming ``field``."""
    if len(text) > 64 or not RFC3339.match(text):
        raise InvalidInput(
            f"{text[:64]!r} is not an RFC 3339 date-time (like 2020-01-01T00:00:00Z)", field=field
        )
    return text.upper()


def rfc3339_interval(text: str, *, field: str = "datetime") -> str:
    """A STAC ``datetime``: an instant, ``A/B``, ``A/..`` or ``../B`` (an empty end is open)."""
    parts = text.split("/")
    if len(parts) > 2:
        raise InvalidInput(f"{text[:64]!r} has more than one '/'", field=field)
    if len(parts) == 1:
        return rfc3339(text, field=field)
    ends = ["" if p in ("", "..") else rfc3339(p, field=field) for p in parts]
    if not any(ends):
        raise InvalidInput(
            "an interval needs at least one end ('../..' is everything)", field=field
        )
    return "/".join(e or ".." for e in ends)
