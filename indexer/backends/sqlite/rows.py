"""Rows the SQLite index writes for a batch of records: files, docs, R*Tree and tags."""

from __future__ import annotations

import functools
import json
import operator
import zlib
from collections.abc import Iterable, Sequence
from itertools import repeat
from typing import Any

import numpy as np
import shapely
from pydantic_core import to_json

from indexer.backends.base import UpsertResult
from indexer.backends.sqlite.docs import compact
from indexer.backends.sqlite.query import ANCESTOR, COUNTRY, DATA_TYPE
from seedpipe.query.geometry import RecordPlace
from seedpipe.query.model import to_micros
from seedpipe.records import FileRecord

PARTS = 8  # at most this many R*Tree rows per record (one per part's box)
# An R*Tree id is (rid << ID_SHIFT) | (signature << 3) | part. The signature is a small Bloom
# filter of the record's data types (two hashed bits each), so a data-type filter drops most
# spatial candidates on the R*Tree scan itself, before any other row is read; types that hash
# alike only let a few more through to the exact tag test that follows. rid keeps 40 bits.
SIG_BITS = 20
ID_SHIFT = SIG_BITS + 3
# The R*Tree's third axis counts units of 50 weeks (about a year): ten years span ~10 units
# against 360° of longitude, so the tree splits mostly on place and only its smallest nodes on
# time. In weeks (layout 3) it split on time as much as on place, and a probe with no time
# window (a point: "what covers this place") visited every time slice of its place: 215 µs
# against 24 µs now at 1M records, while a bbox + one-year probe got faster too (4.4 -> 3.0 ms;
# bench/README.md, "Beside PostGIS"). In seconds, time would dominate every split.
TIME_UNIT_US = 50 * 7 * 86400 * 1e6
ALWAYS = 1e9  # time units: the time extent of records without data time
TAG_SEP = "\x1e"
GEOM = 38  # the geom column's place in a files row
D0, D1 = 28, 29  # and the data interval's
NAME_LC = 5  # and the casefolded file name's


def join_keys(keys: list[str]) -> str:
    """A row's tag keys as stored in ``files.tagkeys``: joined by TAG_SEP, or as a JSON list
    when a key holds TAG_SEP itself (a tag from outside may: joined, it would split into other
    keys). A joined form never starts with "[" (every key starts with its prefix)."""
    if any(TAG_SEP in k for k in keys):
        return json.dumps(keys)
    return TAG_SEP.join(keys)


def split_keys(tagkeys: str) -> list[str]:
    """``join_keys`` undone."""
    if tagkeys.startswith("["):
        keys: list[str] = json.loads(tagkeys)
        return keys
    return tagkeys.split(TAG_SEP) if tagkeys else []


@functools.lru_cache(maxsize=4096)
def type_bits(tag: str) -> int:
    """The two signature bits of one data type (crc32: stable across processes and versions)."""
    h = zlib.crc32(tag.encode("utf-8"))
    a = h % SIG_BITS
    b = (h // SIG_BITS) % (SIG_BITS - 1)
    return (1 << a) | (1 << (b + (b >= a)))


def signature(tags: Iterable[str]) -> int:
    sig = 0
    for tag in tags:
        sig |= type_bits(tag)
    return sig


def rt_ids(rid: int, sig: int, nparts: int) -> list[int]:
    """The R*Tree ids of a record's parts."""
    base = (rid << ID_SHIFT) | (sig << 3)
    return [base | p for p in range(nparts)]


# A files row's fields as the model holds them (its __dict__, what getattr reads), in one call.
_FIELDS = operator.itemgetter(
    "id", "version", "meta_data", "file_name", "file_size", "media_type", "file_type",
    "workspace", "job_type", "is_superseded", "is_deleted", "created", "last_modified",
    "data_started", "data_ended", "source_started", "source_ended", "data_type_tags",
    "countries", "ancestors",
)  # fmt: skip
_PLAIN = operator.itemgetter(  # and the ones it stores as they are, in its column order
    "job_output", "job", "recipe", "recipe_node", "batch", "source_sensor_class",
    "source_sensor", "source_collection", "source_task",
)  # fmt: skip
NO_BOX = (None, None, None, None)


def _span(a: int | None, b: int | None) -> tuple[int | None, int | None]:
    """A closed interval from optional ends (one end alone is an instant), as in the Query."""
    if a is None:
        return b, b
    if b is None:
        return a, a
    return (a, b) if a <= b else (b, a)


def prepare(
    records: list[FileRecord], places: list[RecordPlace], rid: int
) -> tuple[list[Any], list[Any], list[Any], list[Any], list[UpsertResult]]:
    """Rows for files, docs, rt and tags from records and their cleaned places (see
    ``clean_records``), numbered from rid."""
    rows: list[list[Any]] = []
    rt_rows: list[tuple[Any, ...]] = []
    tag_rows: list[tuple[str, int]] = []
    doc_rows: list[tuple[int, str, int]] = []
    shapes: list[Any] = []
    done: list[UpsertResult] = []
    # A batch has few distinct lists of data types: signature and tag keys once for each.
    by_types: dict[tuple[str, ...], tuple[int, list[str], str]] = {}
    for r, place in zip(records, places, strict=True):
        c, center, geo_error = place.clean, place.center, place.error
        d = r.__dict__
        (fid, version, meta, name, size, media, ftype, ws, job_type, superseded, deleted,
         created, modified, ds, de, ss, se, types, countries, ancestors) = _FIELDS(d)  # fmt: skip
        if c is not None:
            doc, nulls = compact(r, c.geojson, center)
            boxes = c.boxes
            isbox = c.is_box
            shapes.append(c.shape)
        else:
            doc, nulls = compact(r, None, center)
            if center is not None:
                x, y = center["coordinates"][:2]
                boxes = [(x, y, x, y)]
                shapes.append(shapely.Point(x, y))
            else:
                boxes = []
                shapes.append(None)
            isbox = bool(boxes)
        if ds is not None:
            ds = to_micros(ds)
        if de is not None:
            de = to_micros(de)
        if ss is not None:
            ss = to_micros(ss)
        if se is not None:
            se = to_micros(se)
        d0, d1 = _span(ds, de)
        s0, s1 = _span(ss, se)
        if d0 is not None and d1 is not None:
            t0, t1 = d0 / TIME_UNIT_US, d1 / TIME_UNIT_US
        else:
            t0, t1 = -ALWAYS, ALWAYS
        tkey = tuple(types)
        known = by_types.get(tkey)
        if known is None:
            type_keys = [DATA_TYPE + t for t in tkey]
            known = by_types[tkey] = (signature(tkey) << 3, type_keys, join_keys(type_keys))
        sig, keys, tagkeys = known
        if countries or ancestors:
            keys = keys.copy()
            if countries:
                keys += [COUNTRY + code for code in dict.fromkeys(countries)]
            if ancestors:
                keys += [ANCESTOR + a for a in dict.fromkeys(ancestors)]
            tagkeys = join_keys(keys)
        tag_rows.extend(zip(keys, repeat(rid)))
        base = (rid << ID_SHIFT) | sig
        nparts = len(boxes)
        if nparts == 1:
            b = boxes[0]
            rt_rows.append((base, b[0], b[2], b[1], b[3], t0, t1))
        else:
            if nparts > PARTS:
                nparts = PARTS
            for p in range(nparts):
                b = boxes[p]
                rt_rows.append((base | p, b[0], b[2], b[1], b[3], t0, t1))
        if type(meta) is dict and not meta:
            meta_json = "{}"  # what to_json makes of any empty dict
        else:
            meta_json = to_json(meta, inf_nan_mode="null").decode()
        doc_rows.append((rid, doc, nulls))
        rows.append([
            rid, fid, version, meta_json, name, name.casefold(), size, media, ftype, ws.name,
            job_type.name if job_type else None, *_PLAIN(d),
            int(superseded), int(deleted), to_micros(created), to_micros(modified),
            ds, de, ss, se, d0, d1, s0, s1, nparts,
            int(isbox), *(boxes[0] if isbox else NO_BOX), None, tagkeys,
        ])  # fmt: skip
        done.append(UpsertResult(fid, version, "written", None, geo_error))
        rid += 1
    geo_idx = [k for k, g in enumerate(shapes) if g is not None]
    if geo_idx:
        blobs = shapely.to_wkb(np.array([shapes[k] for k in geo_idx], dtype=object))
        for k, blob in zip(geo_idx, blobs, strict=True):
            rows[k][GEOM] = blob
    return rows, doc_rows, rt_rows, tag_rows, done


def _spread(v: np.ndarray) -> np.ndarray:
    """Put a zero bit between each of the low 16 bits (for interleaving)."""
    v = (v | (v << 8)) & 0x00FF00FF
    v = (v | (v << 4)) & 0x0F0F0F0F
    v = (v | (v << 2)) & 0x33333333
    return (v | (v << 1)) & 0x55555555


def z_ordered(rows: Sequence[Sequence[Any]]) -> Sequence[Sequence[Any]]:
    """R*Tree rows in Z-order of their centres: neighbours are inserted together, so a batch
    touches few tree nodes (random order touches a new node for nearly every row)."""
    if len(rows) < 64:
        return rows
    a = np.array([(r[1], r[2], r[3], r[4]) for r in rows], dtype=float)
    x = ((a[:, 0] + a[:, 1]) / 2 + 180) * (65535 / 360)
    y = ((a[:, 2] + a[:, 3]) / 2 + 90) * (65535 / 180)
    key = _spread(np.clip(x, 0, 65535).astype(np.int64)) | (
        _spread(np.clip(y, 0, 65535).astype(np.int64)) << 1
    )
    return [rows[i] for i in np.argsort(key, kind="stable")]
