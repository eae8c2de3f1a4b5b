"""order_rows (a spatial page ordered in Python) agrees with SQLite's ORDER BY and token filter."""

from __future__ import annotations

import random
import sqlite3
from typing import Any

import pytest

from indexer.backends.sqlite.query import after, order_by, order_rows, sort_columns
from seedpipe.query.model import SortKey

SORTS = [
    (SortKey(field="created", desc=True),),
    (SortKey(field="file_name"),),
    (SortKey(field="data_started", desc=True),),
    (SortKey(field="data_started"), SortKey(field="file_size", desc=True)),
    (SortKey(field="file_size"), SortKey(field="created", desc=True)),
]


def _table(rng: random.Random) -> sqlite3.Connection:
    con = sqlite3.connect(":memory:")
    con.execute(
        "CREATE TABLE files (rid INTEGER PRIMARY KEY, id TEXT, created INTEGER, "
        "file_name TEXT, file_size INTEGER, data_started INTEGER)"
    )
    rows = [
        (
            rid,
            f"id{rng.randrange(1000):03d}-{rid}",
            rng.randrange(5),
            rng.choice(["a.tif", "B.tif", "b.tif", "é.tif", "z"]),
            rng.randrange(4),
            rng.choice([None, 1, 2, 3]),
        )
        for rid in range(1, 60)
    ]
    con.executemany("INSERT INTO files VALUES (?, ?, ?, ?, ?, ?)", rows)
    return con


def _sql(con: sqlite3.Connection, keys: tuple[SortKey, ...], token: Any) -> list[int]:
    where = after(keys, *token) if token else None
    sql = (
        f"SELECT f.rid FROM files f WHERE {where.sql() if where else '1'} ORDER BY {order_by(keys)}"
    )
    return [r[0] for r in con.execute(sql, where.params if where else [])]


@pytest.mark.parametrize("keys", SORTS, ids=lambda k: ",".join(s.field for s in k))
def test_python_order_and_token_filter_match_sql(keys: tuple[SortKey, ...]) -> None:
    rng = random.Random(7)
    con = _table(rng)
    found = con.execute(f"SELECT f.rid, {sort_columns(keys)} FROM files f").fetchall()
    rng.shuffle(found)
    assert [r[0] for r in order_rows(found, keys, None)] == _sql(con, keys, None)
    ordered = order_rows(found, keys, None)
    for row in ordered[::7]:  # tokens made from rows, as pages make them
        token = (list(row[1:-1]), row[-1])
        assert [r[0] for r in order_rows(found, keys, token)] == _sql(con, keys, token)


def test_forged_token_values_of_another_type_order_like_sql() -> None:
    con = _table(random.Random(3))
    keys = (SortKey(field="created", desc=True),)
    found = con.execute(f"SELECT f.rid, {sort_columns(keys)} FROM files f").fetchall()
    for token in ((["text"], "id"), ([2.5], "id500"), ([None], "x"), ([1, 2], "id")):
        got = [r[0] for r in order_rows(found, keys, token)]
        want = _sql(con, keys, token) if len(token[0]) == 1 else []
        assert got == want, token
