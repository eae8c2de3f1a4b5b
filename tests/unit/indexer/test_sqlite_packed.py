"""The packed R*Tree: SQLite's own checker accepts it and it answers as an inserted tree does."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from indexer.backends.sqlite.packed import MAX_CELLS, outward, pack_rtree, read_boxes

PROBE = (
    "SELECT id FROM {} WHERE x0 <= ? AND x1 >= ? AND y0 <= ? AND y1 >= ? AND t0 <= ? AND t1 >= ?"
)


def trees() -> sqlite3.Connection:
    con = sqlite3.connect(":memory:", isolation_level=None)
    for name in ("rt", "ref"):
        con.execute(f"CREATE VIRTUAL TABLE {name} USING rtree (id, x0, x1, y0, y1, t0, t1)")
    return con


def boxes(rng: np.random.Generator, n: int) -> np.ndarray:
    x, y = rng.uniform(-180, 178, n), rng.uniform(-90, 88, n)
    w = rng.uniform(0, 2, n) * (rng.random(n) < 0.3)  # 70% points
    t = rng.uniform(-5, 10, n)
    return np.stack([x, x + w, y, y + w, t, t + rng.uniform(0, 0.1, n)], axis=1)


@pytest.mark.parametrize("n", [0, 1, 47, 48, 49, 51, 52, 2304, 2305, 20_000])
def test_a_packed_tree_passes_rtreecheck_and_finds_what_an_inserted_one_finds(n: int) -> None:
    rng = np.random.default_rng(n)
    con = trees()
    b = boxes(rng, n)
    ids = rng.choice(2**50, n, replace=False).astype(np.int64)
    con.execute("BEGIN")
    depth = pack_rtree(con, "rt", ids, outward(b))
    con.executemany(
        "INSERT INTO ref VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(int(i), *map(float, row)) for i, row in zip(ids, b, strict=True)],
    )
    con.execute("COMMIT")
    assert con.execute("SELECT rtreecheck('rt')").fetchone()[0] == "ok"
    assert depth == (0 if n <= 48 else 1 if n <= 48 * 48 else 2)
    got, coords = read_boxes(con, "rt")
    assert sorted(got.tolist()) == sorted(ids.tolist())
    assert coords.dtype == np.float32
    for _ in range(200):
        qx, qy, d = rng.uniform(-180, 180), rng.uniform(-90, 90), rng.choice([0.0, 1.0, 30.0])
        q = (qx + d, qx, qy + d, qy, rng.uniform(0, 10), rng.uniform(-5, 5))
        mine = sorted(r[0] for r in con.execute(PROBE.format("rt"), q))
        theirs = sorted(r[0] for r in con.execute(PROBE.format("ref"), q))
        assert mine == theirs, q
    # and it stays an ordinary R*Tree: the module's own writes keep it sound
    if n:
        con.execute("DELETE FROM rt WHERE id = ?", (int(ids[0]),))
    con.executemany(
        "INSERT INTO rt VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(2**55 + k, k % 7, k % 7 + 1, 0, 1, 0, 1) for k in range(300)],
    )
    assert con.execute("SELECT rtreecheck('rt')").fetchone()[0] == "ok"
    assert con.execute("SELECT count(*) FROM rt").fetchone()[0] == max(n - 1, 0) + 300


def test_bounds_round_outwards_to_float32() -> None:
    third = 1 / 3
    got = outward(np.array([[third, third, -third, -third, 1e9, 1e9]]))
    assert got.dtype == np.float32
    assert got[0, 0] <= third <= got[0, 1]
    assert got[0, 2] <= -third <= got[0, 3]
    assert got[0, 0] < got[0, 1]  # neither end shrank onto the other
    exact = outward(np.array([[0.5, 1.5, -2.0, 2.0, 0.0, 1.0]]))
    assert exact.tolist() == [[0.5, 1.5, -2.0, 2.0, 0.0, 1.0]]  # representable: unchanged


def test_a_fill_outside_the_nodes_range_is_refused() -> None:
    con = trees()
    for fill in (1, MAX_CELLS + 1):
        with pytest.raises(ValueError, match="fill"):
            pack_rtree(con, "rt", np.empty(0, np.int64), np.empty((0, 6), np.float32), fill=fill)
