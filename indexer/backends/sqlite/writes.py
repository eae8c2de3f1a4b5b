"""Writes to the SQLite file index: versioned upserts and tombstoned deletes, each batch in one
transaction (the rows of a record: files, docs, the R*Tree, tags and the name index)."""

from __future__ import annotations

import json
import operator
import sqlite3
from collections.abc import Sequence
from itertools import groupby
from typing import Any

from indexer.backends.base import UpsertResult
from indexer.backends.sqlite import bulk, names
from indexer.backends.sqlite.layout import NULLABLE, insert_binding
from indexer.backends.sqlite.query import DATA_TYPE
from indexer.backends.sqlite.rows import (
    D0,
    D1,
    NAME_LC,
    prepare,
    rt_ids,
    signature,
    split_keys,
    z_ordered,
)
from seedpipe.query.geometry import RecordPlace
from seedpipe.records import FileRecord
from seedpipe.sqlite import transaction

# S608: SQL text is joined only from constant fragments; every value is a bound parameter.


def upsert_batch(
    con: sqlite3.Connection, records: list[FileRecord], places: list[RecordPlace]
) -> list[UpsertResult]:
    """Write the newest version of each record in one transaction; stale ones are answered."""
    results, newest = newest_of(records)
    with transaction(con):
        ids = list(newest)
        floors, rid, loading = claim(con, ids, [records[newest[i]].version for i in ids])
        todo = written(records, newest, floors, results)
        if todo:
            rows, doc_rows, rt_rows, tag_rows, done = prepare(
                [records[i] for i in todo], [places[i] for i in todo], rid
            )
            write_rows(con, rows, doc_rows, rt_rows, tag_rows, loading)
            note_batch(con, longest_span(rows), types_of([records[i] for i in todo]))
            for i, result in zip(todo, done, strict=True):
                results[i] = result
    return [r for r in results if r is not None]


def newest_of(records: list[FileRecord]) -> tuple[list[UpsertResult | None], dict[str, int]]:
    """Each id's newest record in the batch (its index), and the answers of the older ones."""
    results: list[UpsertResult | None] = [None] * len(records)
    newest: dict[str, int] = {}
    for i, r in enumerate(records):
        j = newest.get(r.id)
        if j is None or r.version > records[j].version:
            newest[r.id] = i
    for i, r in enumerate(records):
        if newest[r.id] != i:
            results[i] = UpsertResult(
                id=r.id, version=r.version, status="stale", reason="newer in the same batch"
            )
    return results, newest


def claim(
    con: sqlite3.Connection, ids: list[str], versions: list[int]
) -> tuple[list[int], int, str | None]:
    """Inside a batch's write transaction: the version each id must beat (indexed or
    tombstoned, 0 for none), with the rows of every id whose version beats it removed; the
    first free rid; and the bulk load's mode (see bulk.py)."""
    known: dict[str, tuple[int, int, int, str]] = {}
    tombs: dict[str, int] = {}
    if ids:
        doc = json.dumps(ids)
        known = {
            row[0]: row[1:]
            for row in con.execute(
                "SELECT id, version, rid, nparts, tagkeys FROM files "
                "WHERE id IN (SELECT value FROM json_each(?))",
                (doc,),
            )
        }
        tombs = dict(
            con.execute(
                "SELECT id, version FROM tombstones WHERE id IN (SELECT value FROM json_each(?))",
                (doc,),
            ).fetchall()
        )
    floors = [max(known.get(file_id, (0,))[0], tombs.get(file_id, 0)) for file_id in ids]
    old = [
        known[file_id][1:]
        for file_id, version, floor in zip(ids, versions, floors, strict=True)
        if version > floor and file_id in known
    ]
    loading = bulk.mode(con)
    _remove(con, old, loading)
    rid = (con.execute("SELECT max(rid) FROM files").fetchone()[0] or 0) + 1
    return floors, rid, loading


def written(
    records: list[FileRecord],
    newest: dict[str, int],
    floors: list[int],
    results: list[UpsertResult | None],
) -> list[int]:
    """The batch's records to write (indexes into ``records``), given ``claim``'s floors in
    ``newest``'s order; the others are answered stale in ``results``."""
    todo: list[int] = []
    for i, floor in zip(newest.values(), floors, strict=True):
        r = records[i]
        if r.version <= floor:
            results[i] = UpsertResult(
                id=r.id, version=r.version, status="stale",
                reason=f"version {floor} is already indexed",
            )  # fmt: skip
        else:
            todo.append(i)
    return todo


def _remove(con: sqlite3.Connection, old: list[tuple[int, int, str]], loading: str | None) -> None:
    """Remove rows (rid, nparts, tagkeys); ``loading``: the bulk load's mode (see bulk.py), whose
    boxes may still be pending and whose end may rebuild the name index."""
    if not old:
        return
    if loading != bulk.ALL:
        con.execute(names.DELETE, (json.dumps([o[0] for o in old]),))
    con.executemany("DELETE FROM files WHERE rid = ?", [(o[0],) for o in old])
    con.executemany("DELETE FROM docs WHERE rid = ?", [(o[0],) for o in old])
    boxes = [(i,) for o in old for i in rt_ids(o[0], _stored_signature(o[2]), o[1])]
    con.executemany("DELETE FROM rt WHERE id = ?", boxes)
    if loading:
        con.executemany(f"DELETE FROM {bulk.PENDING} WHERE id = ?", boxes)  # noqa: S608
    con.executemany(
        "DELETE FROM tags WHERE tag = ? AND rid = ?",
        [(tag, o[0]) for o in old for tag in split_keys(o[2])],
    )


def write_rows(
    con: sqlite3.Connection,
    rows: Sequence[Sequence[Any]],
    doc_rows: Sequence[Sequence[Any]],
    rt_rows: Sequence[Sequence[Any]],
    tag_rows: Sequence[Sequence[Any]],
    loading: str | None,
) -> None:
    """Insert ``prepare``'s rows (rids from ``claim``); ``loading`` as there."""
    insert_files(con, rows)
    con.executemany("INSERT INTO docs VALUES (?, ?, ?)", doc_rows)
    if loading != bulk.ALL:  # else the load's end indexes the names
        con.executemany(names.INSERT, [(row[0], row[NAME_LC]) for row in rows])
    if loading:  # the load's end puts the boxes into rt
        con.executemany(f"INSERT INTO {bulk.PENDING} VALUES (?, ?, ?, ?, ?, ?, ?)", rt_rows)  # noqa: S608
    else:
        con.executemany("INSERT INTO rt VALUES (?, ?, ?, ?, ?, ?, ?)", z_ordered(rt_rows))
    con.executemany("INSERT OR IGNORE INTO tags VALUES (?, ?)", tag_rows)


_nullable = operator.itemgetter(*NULLABLE)


def _kinds(row: Sequence[Any]) -> tuple[type, ...]:
    return tuple(map(type, _nullable(row)))


def insert_files(con: sqlite3.Connection, rows: Sequence[Sequence[Any]]) -> None:
    """``files`` rows, each run of rows with None in the same columns by one statement that
    leaves those columns out (they default to NULL). CPython's sqlite3 binds a None through its
    adaptation lookup (two failed attribute lookups, ~0.3 µs), and a row holds ~20 of them:
    binding only the values cuts the insert from 17.9 to 10.6 µs a row (bench/README.md,
    "unbound-nulls round")."""
    for kinds, run in groupby(rows, key=_kinds):
        sql, values = insert_binding(kinds)
        con.executemany(sql, map(values, run))


def longest_span(rows: Sequence[Sequence[Any]]) -> int | None:
    """The longest data interval among ``files`` rows (None when none has data time)."""
    spans = [r[D1] - r[D0] for r in rows if r[D0] is not None]
    return max(spans) if spans else None


def types_of(records: list[FileRecord]) -> list[str]:
    return sorted({t for r in records for t in r.data_type_tags})


def note_batch(con: sqlite3.Connection, span: int | None, types: list[str]) -> None:
    """What a batch's rows add to the index's state: its longest data interval (the state's
    'data_span' never shrinks) and its data types."""
    if span is not None:
        con.execute(
            "UPDATE state SET value = CAST(max(CAST(value AS INTEGER), ?) AS TEXT) "
            "WHERE key = 'data_span'",
            (span,),
        )
    con.executemany("INSERT OR IGNORE INTO data_types VALUES (?)", [(t,) for t in types])


def delete(con: sqlite3.Connection, file_id: str, version: int) -> UpsertResult:
    """A tombstone at ``version``, unless a newer version is indexed or tombstoned."""
    with transaction(con):
        row = con.execute(
            "SELECT version, rid, nparts, tagkeys FROM files WHERE id = ?", (file_id,)
        ).fetchone()
        tomb = con.execute("SELECT version FROM tombstones WHERE id = ?", (file_id,)).fetchone()
        floor = max(row[0] if row else 0, tomb[0] if tomb else 0)
        if version < floor or (tomb and version <= tomb[0]):
            con.execute("ROLLBACK")
            return UpsertResult(
                id=file_id, version=version, status="stale",
                reason=f"version {floor} is newer",
            )  # fmt: skip
        if row:
            _remove(con, [(row[1], row[2], row[3])], bulk.mode(con))
        con.execute("INSERT OR REPLACE INTO tombstones VALUES (?, ?)", (file_id, version))
    return UpsertResult(id=file_id, version=version, status="written")


def _stored_signature(tagkeys: str) -> int:
    """The data-type signature a stored row's R*Tree ids carry, from its tag keys."""
    n = len(DATA_TYPE)
    return signature(k[n:] for k in split_keys(tagkeys) if k.startswith(DATA_TYPE))
