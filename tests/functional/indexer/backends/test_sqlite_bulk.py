"""Bulk loads into the SQLite index (sqlite/bulk.py): the same answers as record-by-record
upserts once finished, a sound R*Tree, and nothing lost when a loader dies."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from indexer.backends.base import FileIndex
from indexer.backends.sqlite import bulk
from indexer.backends.sqlite.index import SqliteIndex
from seedpipe.query.model import Query
from seedpipe.records import FileRecord

T0 = datetime(2020, 1, 1, tzinfo=UTC)
TYPES = ["optical", "sar", "ais", "weather", "elevation"]


def record(rng: random.Random, i: int, version: int = 1) -> FileRecord:
    x, y = rng.uniform(-179, 178), rng.uniform(-85, 84)
    kind = rng.random()
    geometry: dict[str, Any] | None
    if kind < 0.6:
        geometry = {"type": "Point", "coordinates": [x, y]}
    elif kind < 0.85:
        w = rng.uniform(0.1, 2)
        ring = [[x, y], [x + w, y], [x + w, y + w], [x, y + w], [x, y]]
        geometry = {"type": "Polygon", "coordinates": [ring]}
    elif kind < 0.9:  # across the antimeridian
        ring = [[179.5, y], [-179.5, y], [-179.5, y + 1], [179.5, y + 1], [179.5, y]]
        geometry = {"type": "Polygon", "coordinates": [ring]}
    else:
        geometry = None
    start = T0 + timedelta(days=rng.uniform(0, 3 * 365))
    timed = rng.random() < 0.9
    return FileRecord(
        id=f"r{i:06d}",
        file_name=f"scene_{i}_{rng.choice(['north', 'south', 'east'])}.tif",
        workspace={"name": rng.choice(["raw", "products"])},
        file_path=f"in/{i}.tif",
        data_type_tags=rng.sample(TYPES, rng.randint(1, 3)),
        geometry=geometry,
        data_started=start if timed else None,
        data_ended=start + timedelta(hours=rng.uniform(0, 200)) if timed else None,
        created=T0 + timedelta(seconds=i),
        version=version,
    )


def queries(rng: random.Random, n: int) -> list[Query]:
    out = []
    for _ in range(n):
        x, y = rng.uniform(-180, 150), rng.uniform(-85, 50)
        t = T0 + timedelta(days=rng.uniform(0, 3 * 365))
        shape = rng.choice(["bbox", "point", "time", "name", "types", "all"])
        q: dict[str, Any] = {"limit": 10_000}
        if shape in ("bbox", "all"):
            q["bbox"] = [x, y, x + 30, y + 30]
        if shape == "point":
            q["intersects"] = {"type": "Point", "coordinates": [x, y]}
            q.pop("limit")
        if shape in ("time", "all"):
            q["datetime"] = f"{t.isoformat()}/{(t + timedelta(days=200)).isoformat()}"
        if shape in ("types", "all"):
            q["data_types_any"] = [rng.choice(TYPES)]
        if shape == "name":
            q["file_name_contains"] = rng.choice(["_12", "north", "SCENE_3"])
        out.append(Query.parse(q))
    return out


async def answers(index: FileIndex, qs: list[Query]) -> list[tuple[list[str], int]]:
    out = []
    for q in qs:
        page = await index.search(q)
        out.append(([r.id for r in page.records], page.total))
    return out


def check(path: Path) -> sqlite3.Connection:
    """The file left by a finished load: a sound tree, no pending box, every index back."""
    con = sqlite3.connect(path)
    assert con.execute("SELECT rtreecheck('rt')").fetchone()[0] == "ok"
    assert con.execute("SELECT count(*) FROM rt_pending").fetchone()[0] == 0
    assert not bulk.active(con)
    indexes = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert set(bulk.BULK_INDEXES) <= indexes
    assert con.execute("INSERT INTO names (names) VALUES ('integrity-check')").rowcount != 0
    return con


async def test_a_bulk_load_answers_as_record_by_record_upserts_do(tmp_path: Path) -> None:
    rng = random.Random(16)
    records = [record(rng, i) for i in range(6000)]
    updates = [record(random.Random(i), i, version=2) for i in range(0, 6000, 7)]
    qs = queries(random.Random(1), 120)
    plain, loaded = tmp_path / "plain.db", tmp_path / "bulk.db"
    async with SqliteIndex(f"sqlite:///{plain}") as index:
        for k in range(0, len(records), 1000):
            await index.upsert(records[k : k + 1000])
        await index.upsert(updates)
        await index.delete("r000003", 5)
        expected = await answers(index, qs)
    async with SqliteIndex(f"sqlite:///{loaded}") as index:
        async with index.bulk():
            for k in range(0, len(records), 1000):
                await index.upsert(records[k : k + 1000])
            await index.upsert(updates)  # updates of records whose boxes are still pending
            await index.delete("r000003", 5)
            assert await answers(index, qs) == expected  # exact during the load
        assert await answers(index, qs) == expected  # and after it
    check(loaded).close()
    async with SqliteIndex(f"sqlite:///{loaded}") as index:  # and from a fresh connection
        assert await answers(index, qs) == expected
    assert sum(total for _, total in expected) > 1000  # the queries do find things


async def test_a_small_load_into_a_big_index_inserts_its_boxes_into_the_tree(
    tmp_path: Path,
) -> None:
    rng = random.Random(3)
    records = [record(rng, i) for i in range(4000)]
    path = tmp_path / "index.db"
    qs = queries(random.Random(2), 60)
    async with SqliteIndex(f"sqlite:///{path}") as index:
        async with index.bulk():  # packed
            await index.upsert(records[:3900])
        con = sqlite3.connect(path)
        leaves_before = con.execute("SELECT count(DISTINCT nodeno) FROM rt_rowid").fetchone()[0]
        async with index.bulk():  # 100 boxes against 3,900: inserted one by one
            await index.upsert(records[3900:])
        leaves_after = con.execute("SELECT count(DISTINCT nodeno) FROM rt_rowid").fetchone()[0]
        con.close()
        got = await answers(index, qs)
    async with SqliteIndex(f"sqlite:///{tmp_path / 'plain.db'}") as index:
        await index.upsert(records)
        assert got == await answers(index, qs)
    check(path).close()
    assert leaves_before <= leaves_after <= leaves_before + 10  # not repacked


async def test_the_last_of_two_loaders_finishes_the_load(tmp_path: Path) -> None:
    path = tmp_path / "index.db"
    rng = random.Random(4)
    async with (
        SqliteIndex(f"sqlite:///{path}") as a,
        SqliteIndex(f"sqlite:///{path}") as b,
    ):
        load_a, load_b = a.bulk(), b.bulk()
        await load_a.__aenter__()
        await load_b.__aenter__()
        await a.upsert([record(rng, i) for i in range(100)])
        await b.upsert([record(rng, i) for i in range(100, 200)])
        await load_a.__aexit__(None, None, None)
        con = sqlite3.connect(path)
        assert bulk.active(con)  # b still loads
        assert con.execute("SELECT count(*) FROM rt_pending").fetchone()[0] > 150
        await load_b.__aexit__(None, None, None)
        assert not bulk.active(con)
        con.close()
    check(path).close()


LOADER = textwrap.dedent(
    """
    import asyncio, random, sys
    sys.path.insert(0, sys.argv[2])
    from tests.functional.indexer.backends.test_sqlite_bulk import record
    from indexer.backends.sqlite.index import SqliteIndex

    async def main():
        rng = random.Random(9)
        async with SqliteIndex("sqlite:///" + sys.argv[1]) as index:
            load = index.bulk()  # kept: a collected one would end the load
            await load.__aenter__()
            for k in range(0, 3000, 500):
                await index.upsert([record(rng, i) for i in range(k, k + 500)])
            print("written", flush=True)
            await asyncio.sleep(60)  # killed here, inside the load

    asyncio.run(main())
    """
)


async def test_a_load_left_by_a_killed_loader_is_finished_on_the_next_open(
    tmp_path: Path,
) -> None:
    path = tmp_path / "index.db"
    root = str(Path(__file__).resolve().parents[4])
    proc = subprocess.Popen(
        [sys.executable, "-c", LOADER, str(path), root],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": root},
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        line = await asyncio.to_thread(proc.stdout.readline)
        assert line.strip() == "written", line
        assert time.monotonic() < deadline
        con = sqlite3.connect(path)
        assert bulk.active(con)  # mid-load; a reader meanwhile does not finish it
        async with SqliteIndex(f"sqlite:///{path}") as index:
            assert bulk.active(con)
            page = await index.search(Query.parse({"bbox": [-180, -90, 180, 90], "limit": 1}))
            in_load = page.total
        con.close()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    async with SqliteIndex(f"sqlite:///{path}") as index:  # the loader is gone: finished here
        page = await index.search(Query.parse({"bbox": [-180, -90, 180, 90], "limit": 1}))
        assert page.total == in_load
        assert (await index.count(Query.parse({}))) == 3000
    con = check(path)
    rng = random.Random(9)
    expected = [record(rng, i) for i in range(3000)]
    assert in_load == sum(r.geometry is not None for r in expected)
    con.close()
