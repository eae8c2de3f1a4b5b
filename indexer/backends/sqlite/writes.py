"""Writes to the SQLite file index: versioned upserts and tombstoned deletes, each batch in one
transaction (the rows of a record: files, docs, the R*Tree, tags and the name index)."""

from __future__ import annotations

import json
import sqlite3

from indexer.backends.base import UpsertResult
from indexer.backends.sqlite import bulk, names
from indexer.backends.sqlite.layout import INSERT
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
    with transaction(con):
        ids = json.dumps(list(newest))
        known = {
            row[0]: row[1:]
            for row in con.execute(
                "SELECT id, version, rid, nparts, tagkeys FROM files "
                "WHERE id IN (SELECT value FROM json_each(?))",
                (ids,),
            )
        }
        tombs = dict(
            con.execute(
                "SELECT id, version FROM tombstones WHERE id IN (SELECT value FROM json_each(?))",
                (ids,),
            ).fetchall()
        )
        todo: list[int] = []
        for file_id, i in newest.items():
            r = records[i]
            floor = max(known.get(file_id, (0,))[0], tombs.get(file_id, 0))
            if r.version <= floor:
                results[i] = UpsertResult(
                    id=r.id, version=r.version, status="stale",
                    reason=f"version {floor} is already indexed",
                )  # fmt: skip
            else:
                todo.append(i)
        old = [known[records[i].id] for i in todo if records[i].id in known]
        loading = bulk.mode(con)
        _remove(con, [(o[1], o[2], o[3]) for o in old], loading)
        _insert(
            con,
            [records[i] for i in todo],
            [places[i] for i in todo],
            [(i, results) for i in todo],
            loading,
        )
    return [r for r in results if r is not None]


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


def _insert(
    con: sqlite3.Connection,
    records: list[FileRecord],
    places: list[RecordPlace],
    slots: list[tuple[int, list[UpsertResult | None]]],
    loading: str | None,
) -> None:
    if not records:
        return
    rid = (con.execute("SELECT max(rid) FROM files").fetchone()[0] or 0) + 1
    rows, doc_rows, rt_rows, tag_rows, done = prepare(records, places, rid)
    spans = [r[D1] - r[D0] for r in rows if r[D0] is not None]
    if spans:
        con.execute(
            "UPDATE state SET value = CAST(max(CAST(value AS INTEGER), ?) AS TEXT) "
            "WHERE key = 'data_span'",
            (max(spans),),
        )
    con.executemany(INSERT, rows)
    con.executemany("INSERT INTO docs VALUES (?, ?, ?)", doc_rows)
    if loading != bulk.ALL:  # else the load's end indexes the names
        con.executemany(names.INSERT, [(row[0], row[NAME_LC]) for row in rows])
    if loading:  # the load's end puts the boxes into rt
        con.executemany(f"INSERT INTO {bulk.PENDING} VALUES (?, ?, ?, ?, ?, ?, ?)", rt_rows)  # noqa: S608
    else:
        con.executemany("INSERT INTO rt VALUES (?, ?, ?, ?, ?, ?, ?)", z_ordered(rt_rows))
    con.executemany("INSERT OR IGNORE INTO tags VALUES (?, ?)", tag_rows)
    types = {t for r in records for t in r.data_type_tags}
    con.executemany("INSERT OR IGNORE INTO data_types VALUES (?)", [(t,) for t in types])
    for (index, results), result in zip(slots, done, strict=True):
        results[index] = result


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
