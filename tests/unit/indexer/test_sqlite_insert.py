"""files rows inserted with their None columns left unbound: the same table as binding all."""

from __future__ import annotations

import random
import sqlite3
from typing import Any

from indexer.backends.sqlite import layout
from indexer.backends.sqlite.writes import insert_files


def _files_table(con: sqlite3.Connection) -> None:
    con.execute(layout.SCHEMA.split(";")[0])


def test_nullable_is_what_the_schema_leaves_nullable() -> None:
    con = sqlite3.connect(":memory:")
    _files_table(con)
    info = con.execute("PRAGMA table_info(files)").fetchall()
    nullable = {name for _, name, _, notnull, _, pk in info if not notnull and not pk}
    assert {layout.COLUMNS.split(", ")[i] for i in layout.NULLABLE} == nullable
    assert [name for _, name, *_ in info] == layout.COLUMNS.split(", ")


def _row(rng: random.Random, rid: int) -> list[Any]:
    """A files row with None in a random choice of its nullable columns (and values of
    every kind in the others: text, integers, reals, a blob)."""
    row: list[Any] = [
        rid, f"id{rid}", 1, "{}", f"n{rid}", f"n{rid}", rid * 10, "image/tiff", "SOURCE", "ws",
        "job", "out", "j", "r", "node", "b", "cls", "sen", "col", "task", 0, 0, rid, rid,
        rid, rid + 1, rid, rid + 2, rid, rid + 1, rid, rid + 2, 1, 1, 1.5, -2.25, 3, 4.0,
        bytes([rid % 256, 1, 2]), "t\x1fsar",
    ]  # fmt: skip
    for i in layout.NULLABLE:
        if rng.random() < 0.4:
            row[i] = None
    return row


def test_runs_of_any_null_pattern_make_the_table_binding_every_column_does() -> None:
    rng = random.Random(3)
    # a run of one pattern, then patterns changing row by row
    rows = [_row(random.Random(0), rid) for rid in range(1, 40)]
    rows += [_row(rng, rid) for rid in range(40, 400)]
    plain = sqlite3.connect(":memory:")
    ours = sqlite3.connect(":memory:")
    for con in (plain, ours):
        _files_table(con)
    plain.executemany(layout.INSERT, rows)
    insert_files(ours, rows)
    select = "SELECT *, " + ", ".join(f"typeof({c})" for c in layout.COLUMNS.split(", "))
    want = plain.execute(f"{select} FROM files ORDER BY rid").fetchall()
    got = ours.execute(f"{select} FROM files ORDER BY rid").fetchall()
    assert got == want
    assert len(got) == len(rows)


def test_a_row_of_no_nulls_and_one_of_all_nulls() -> None:
    full = _row(random.Random(9), 1)
    full = [v if v is not None else "x" for v in full]
    empty = list(full)
    empty[0] = 2
    empty[1] = "id2"
    for i in layout.NULLABLE:
        empty[i] = None
    con = sqlite3.connect(":memory:")
    _files_table(con)
    insert_files(con, [full, empty])
    columns = layout.COLUMNS.split(", ")
    got = con.execute("SELECT * FROM files ORDER BY rid").fetchall()
    assert got == [tuple(full), tuple(empty)]
    assert {got[1][i] for i in layout.NULLABLE} == {None}
    assert got[0][columns.index("geom")] == full[columns.index("geom")]
