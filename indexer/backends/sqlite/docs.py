"""Stored record documents: compact JSON plus a mask of the fields left out as null.

A document leaves out the record's top-level fields that are null (a third of its size for a
typical record); ``nulls`` says which, so ``search_json`` restores ``to_scale()``'s whole shape
by appending text, without decoding. The bits follow ``NULLABLE``, which depends on the record
model: an index file remembers the model's fields (``FIELDS``), and a file written for other
fields is rebuilt like one of another layout.
"""

from __future__ import annotations

import functools
import json
import operator

from pydantic_core import to_json

from seedpipe.gcpause import gc_paused
from seedpipe.records import FileRecord
from seedpipe.views import FileView, decode_view

PLACE = frozenset({"geometry", "center_point"})  # always written, cleaned, null or not
NULLABLE = tuple(
    name
    for name, info in FileRecord.model_fields.items()
    if info.default is None and name not in PLACE
)
FIELDS = json.dumps(list(FileRecord.model_fields))


def compact(record: FileRecord, geometry: object, center: object) -> tuple[str, int]:
    """The record's document (top-level nulls left out) and its null mask."""
    mask, absent = _exclusion(tuple(map(operator.is_, _nullable(record.__dict__), _NONES)))
    doc = record.__pydantic_serializer__.to_json(record, exclude=absent).decode()
    geo = _js(geometry)
    # a point's center is often its geometry itself (clean_many): one serialization for both
    cen = geo if center is geometry else _js(center)
    return f'{doc[:-1]},"geometry":{geo},"center_point":{cen}}}', mask


# The nullable fields' values, straight from the model's __dict__ (what getattr reads).
_nullable = operator.itemgetter(*NULLABLE)
_NONES = (None,) * len(NULLABLE)


@functools.lru_cache(maxsize=1024)
def _exclusion(nulls: tuple[bool, ...]) -> tuple[int, set[str]]:
    """The mask and the fields to leave out for which of ``NULLABLE`` are None: a batch has
    few such patterns, so each record's document skips building its own set. (The set is
    shared: only read, as ``exclude``, never changed.)"""
    mask = 0
    absent = set(PLACE)
    for bit, (name, null) in enumerate(zip(NULLABLE, nulls, strict=True)):
        if null:
            mask |= 1 << bit
            absent.add(name)
    return mask, absent


@functools.lru_cache(maxsize=1024)
def _tail(mask: int) -> str:
    return "".join(f',"{name}":null' for bit, name in enumerate(NULLABLE) if mask >> bit & 1)


def whole(doc: str, mask: int) -> str:
    """The document with its null fields back: the JSON of ``to_scale()``."""
    return f"{doc[:-1]}{_tail(mask)}}}" if mask else doc


def _js(value: object) -> str:
    return "null" if value is None else to_json(value).decode()


def decode_records(docs: list[str]) -> list[FileRecord]:
    """Stored documents back to records (about twice as fast with collection paused)."""
    with gc_paused():
        return [FileRecord.model_validate_json(doc) for doc in docs]


def decode_views(docs: list[str]) -> list[FileView]:
    """Stored documents as read-only views (msgspec, ~4x cheaper than ``decode_records``)."""
    with gc_paused():
        return [decode_view(doc) for doc in docs]
