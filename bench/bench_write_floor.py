"""Where a bulk load's time goes in SQLite, statement by statement, and its floor.

Usage: .venv/bin/python bench/bench_write_floor.py [--records 100000]

Builds the rows of N records of ``bench_peers.py``'s mix once (timing the Python that turns
records into rows), then writes the same rows, in batches of 5,000, into fresh SQLite files in
five ways: today's incremental upsert statements; a bulk load's (boxes to a plain table, names
and time indexes built at the end, the R*Tree packed); and the bare rows (files, docs, tags)
with no index at all, in WAL and with no journal: what no design on this schema can beat.
Also the cost of binding a row's parameters by column count (sqlite3's executemany, in memory),
with None or with values in half of them.
Prints microseconds per record for each statement.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_peers import peer_record

from indexer.backends.sqlite import bulk, names
from indexer.backends.sqlite.layout import INSERT, SCHEMA
from indexer.backends.sqlite.packed import outward, pack_rtree
from indexer.backends.sqlite.rows import ID_SHIFT, prepare, z_ordered
from indexer.backends.sqlite.writes import insert_files
from seedpipe.gcpause import gc_paused
from seedpipe.query.geometry import clean_records

BATCH = 5000
INDEXES = "".join(f"CREATE INDEX {n} ON {on};" for n, on in bulk.BULK_INDEXES.items())
BARE = (
    SCHEMA.split("CREATE TABLE IF NOT EXISTS tags")[0].replace(" UNIQUE", "")
    + "CREATE TABLE tags (tag TEXT NOT NULL, rid INTEGER NOT NULL, PRIMARY KEY (tag, rid)) "
    "WITHOUT ROWID; CREATE TABLE docs (rid INTEGER PRIMARY KEY, doc TEXT NOT NULL, "
    "nulls INTEGER NOT NULL);"
)


def write(
    label: str,
    schema: str,
    pragmas: list[str],
    parts: list[tuple[str, str | Callable[[sqlite3.Connection, list[Any]], None], list[list[Any]]]],
    n: int,
    end: Callable[[sqlite3.Connection], dict[str, float]] | None = None,
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        con = sqlite3.connect(Path(tmp) / "floor.db", isolation_level=None)
        for pragma in pragmas:
            con.execute(pragma)
        con.executescript(schema)
        took: dict[str, float] = {}
        for b in range((n + BATCH - 1) // BATCH):
            con.execute("BEGIN")
            for name, sql, batches in parts:
                t0 = time.perf_counter()
                if callable(sql):  # the index's own writing of those rows
                    sql(con, batches[b])
                else:
                    con.executemany(sql, batches[b])
                took[name] = took.get(name, 0) + time.perf_counter() - t0
            t0 = time.perf_counter()
            con.execute("COMMIT")
            took["commit"] = took.get("commit", 0) + time.perf_counter() - t0
        if end is not None:
            took.update(end(con))
        con.close()
    total = sum(took.values())
    each = " ".join(f"{k} {1e6 * v / n:.1f}" for k, v in took.items())
    print(f"{label}: {each} | {1e6 * total / n:.1f} µs a record = {n / total:,.0f} records/s")


def batched(rows: list[Any], rid: Callable[[Any], int], n: int) -> list[list[Any]]:
    """Rows split into the batches of the records they belong to (rids 1..n)."""
    out: list[list[Any]] = [[] for _ in range((n + BATCH - 1) // BATCH)]
    for row in rows:
        out[(rid(row) - 1) // BATCH].append(row)
    return out


def finish_bulk(rts: list[tuple[Any, ...]]) -> Callable[[sqlite3.Connection], dict[str, float]]:
    def end(con: sqlite3.Connection) -> dict[str, float]:
        out = {}
        con.execute("BEGIN")
        t0 = time.perf_counter()
        a = np.array([r[1:] for r in rts], dtype=np.float64)
        pack_rtree(con, "rt", np.array([r[0] for r in rts], dtype=np.int64), outward(a))
        out["pack"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        for sql in INDEXES.split(";")[:-1]:
            con.execute(sql)
        out["indexes"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        con.execute("INSERT INTO names (names) VALUES ('rebuild')")
        con.execute("COMMIT")
        out["names+commit"] = time.perf_counter() - t0
        return out

    return end


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    n = parser.parse_args().records
    print(f"cores={os.cpu_count()} records={n:,} load average {os.getloadavg()[0]:.1f}")
    rng = random.Random(5)
    records = [peer_record(rng, i) for i in range(n)]
    with gc_paused():  # as the index's upsert runs it
        t0 = time.perf_counter()
        places = clean_records(records)
        t1 = time.perf_counter()
        rows, docs, rts, tags, _ = prepare(records, places, 1)
        t2 = time.perf_counter()
    print(
        f"Python, records to rows: clean_records {1e6 * (t1 - t0) / n:.1f} + prepare "
        f"{1e6 * (t2 - t1) / n:.1f} µs a record ({len(rts) / n:.2f} boxes, "
        f"{len(tags) / n:.2f} tags a record)"
    )
    wal = ["PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA cache_size=-262144"]
    by_rid = batched(rows, lambda r: r[0], n)
    base = [
        ("files", insert_files, by_rid),
        ("docs", "INSERT INTO docs VALUES (?, ?, ?)", batched(docs, lambda r: r[0], n)),
        ("tags", "INSERT OR IGNORE INTO tags VALUES (?, ?)", batched(tags, lambda r: r[1], n)),
    ]
    boxes = batched(rts, lambda r: r[0] >> ID_SHIFT, n)
    name_rows = [[(r[0], r[5]) for r in batch] for batch in by_rid]
    write(
        "upsert statements (WAL)",
        SCHEMA + names.SCHEMA + INDEXES.replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS"),
        wal,
        [*base, ("names", names.INSERT, name_rows),
         ("rtree", "INSERT INTO rt VALUES (?, ?, ?, ?, ?, ?, ?)", [z_ordered(b) for b in boxes])],
        n,
    )  # fmt: skip
    write(
        "bulk load statements (WAL)",
        SCHEMA + names.SCHEMA,
        wal,
        [*base, ("pending", "INSERT INTO rt_pending VALUES (?, ?, ?, ?, ?, ?, ?)", boxes)],
        n,
        finish_bulk(rts),
    )
    write(
        "bulk load statements, files binding every column, None too (before 'nulls left unbound')",
        SCHEMA + names.SCHEMA,
        wal,
        [("files", INSERT, by_rid), *base[1:],
         ("pending", "INSERT INTO rt_pending VALUES (?, ?, ?, ?, ?, ?, ?)", boxes)],
        n,
    )  # fmt: skip
    write("bare rows, no index (WAL)", BARE, wal, base, n)
    write("bare rows, no index, no journal", BARE, ["PRAGMA journal_mode=OFF",
          "PRAGMA synchronous=OFF", "PRAGMA cache_size=-262144"], base, n)  # fmt: skip
    for columns in (5, 10, 20, 40):
        con = sqlite3.connect(":memory:", isolation_level=None)
        cols = ", ".join(f"c{i}" for i in range(columns - 1))
        con.execute(f"CREATE TABLE t (rid INTEGER PRIMARY KEY, {cols})")
        for other in (None, 7):  # every other column None, or an int
            fake = [[i] + [other if j % 2 else "abcdefgh" for j in range(columns - 1)]
                    for i in range(1, 100_001)]  # fmt: skip
            con.execute("BEGIN")
            t0 = time.perf_counter()
            con.executemany(f"INSERT INTO t VALUES ({', '.join('?' * columns)})", fake)
            took = time.perf_counter() - t0
            con.execute("ROLLBACK")
            print(
                f"binding and inserting a row of {columns} columns in memory, every other "
                f"one {other!r}: {took * 10:.2f} µs"
            )


if __name__ == "__main__":
    main()
