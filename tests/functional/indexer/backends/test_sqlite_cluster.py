"""Clustering the SQLite index (sqlite/cluster.py): rows renumbered by place give the same
answers, tokens and later writes as before, neighbours in place become neighbours in rid, and
a crash inside it leaves the index as it was."""

from __future__ import annotations

import asyncio
import itertools
import math
import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from indexer.backends.sqlite.index import SqliteIndex
from indexer.backends.sqlite.rows import ID_SHIFT
from seedpipe.errors import CatalogError
from seedpipe.query.model import Query
from tests.functional.indexer.backends.test_sqlite_bulk import answers, check, queries, record

ROOT = str(Path(__file__).resolve().parents[4])


def spread(path: Path) -> float:
    """The mean distance between the boxes' lower corners of consecutive rids, in degrees (the
    groups come in rid order)."""
    con = sqlite3.connect(path)
    try:
        sql = f"SELECT min(x0), min(y0) FROM rt GROUP BY id >> {ID_SHIFT}"
        xy = con.execute(sql).fetchall()
    finally:
        con.close()
    return sum(math.dist(a, b) for a, b in itertools.pairwise(xy)) / (len(xy) - 1)


def pages_in(path: Path) -> int:
    """The file's pages in use (its page count less its free pages)."""
    con = sqlite3.connect(path)
    try:
        count = con.execute("PRAGMA page_count").fetchone()[0]
        return int(count) - int(con.execute("PRAGMA freelist_count").fetchone()[0])
    finally:
        con.close()


def rids(path: Path) -> dict[str, int]:
    con = sqlite3.connect(path)
    try:
        return dict(con.execute("SELECT id, rid FROM files").fetchall())
    finally:
        con.close()


async def pages(index: SqliteIndex, q: Query) -> list[list[str]]:
    """Every page of ``q``, walked with its tokens."""
    out = []
    while True:
        page = await index.search(q)
        out.append([r.id for r in page.records])
        if page.next_token is None:
            return out
        q = q.model_copy(update={"token": page.next_token})


async def test_a_clustered_index_answers_as_before_and_keeps_taking_writes(
    tmp_path: Path,
) -> None:
    rng = random.Random(16)
    records = [record(rng, i) for i in range(6000)]
    qs = queries(random.Random(1), 120)
    walk = Query.parse({"bbox": [-40, -20, 40, 20], "limit": 100, "sort": "-data_started"})
    path, plain = tmp_path / "index.db", tmp_path / "plain.db"
    async with SqliteIndex(f"sqlite:///{path}") as index:
        for k in range(0, len(records), 1000):
            await index.upsert(records[k : k + 1000])
        expected = await answers(index, qs)
        walked = await pages(index, walk)
        first = await index.search(walk)
        before = spread(path)
        size = pages_in(path)
        steps: list[str] = []
        report = await index.cluster(steps.append)
        assert report["records"] == 6000
        assert steps == [
            *("order", "files", "docs", "tags", "rtree", "indexes", "names", "commit", "compact")
        ]
        assert pages_in(path) <= size  # compacted: no bigger than before
        assert await answers(index, qs) == expected
        assert await pages(index, walk) == walked
        # a token handed out before the cluster still leads to the same next page
        assert first.next_token is not None
        second = await index.search(walk.model_copy(update={"token": first.next_token}))
        assert [r.id for r in second.records] == walked[1]
        assert spread(path) < before / 4  # neighbours in place are now neighbours in rid
        # writes after it: updates, a delete, new records; then clustered again
        updates = [record(random.Random(i), i, version=2) for i in range(0, 6000, 7)]
        more = [record(rng, i) for i in range(6000, 6500)]
        await index.upsert(updates)
        await index.delete("r000003", 5)
        await index.upsert(more)
        after_writes = await answers(index, qs)
        await index.cluster()
        assert await answers(index, qs) == after_writes
    async with SqliteIndex(f"sqlite:///{plain}") as index:  # the same writes, never clustered
        for k in range(0, len(records), 1000):
            await index.upsert(records[k : k + 1000])
        await index.upsert(updates)
        await index.delete("r000003", 5)
        await index.upsert(more)
        assert await answers(index, qs) == after_writes
    con = check(path)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    async with SqliteIndex(f"sqlite:///{path}") as index:  # and from a fresh connection
        assert await answers(index, qs) == after_writes


async def test_an_index_without_places_or_records_clusters(tmp_path: Path) -> None:
    async with SqliteIndex(f"sqlite:///{tmp_path / 'empty.db'}") as index:
        assert (await index.cluster())["records"] == 0
    rng = random.Random(5)
    placeless = [record(rng, i).model_copy(update={"geometry": None}) for i in range(50)]
    async with SqliteIndex(f"sqlite:///{tmp_path / 'placeless.db'}") as index:
        await index.upsert(placeless)
        got = await index.search(Query.parse({"limit": 100}))
        assert (await index.cluster())["records"] == 50
        assert await index.search(Query.parse({"limit": 100})) == got
    check(tmp_path / "placeless.db").close()


async def test_clustering_during_a_bulk_load_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "index.db"
    rng = random.Random(6)
    async with SqliteIndex(f"sqlite:///{path}") as index, index.bulk():
        await index.upsert([record(rng, i) for i in range(200)])
        kept = rids(path)
        with pytest.raises(CatalogError, match="bulk load is under way"):
            await index.cluster()
        assert rids(path) == kept


CLUSTERER = textwrap.dedent(
    """
    import asyncio, sys, time
    sys.path.insert(0, sys.argv[2])
    from indexer.backends.sqlite.index import SqliteIndex

    def on_step(name):
        print(name, flush=True)
        if name == sys.argv[3]:
            time.sleep(60)  # killed here

    async def main():
        async with SqliteIndex("sqlite:///" + sys.argv[1]) as index:
            await index.cluster(on_step)

    asyncio.run(main())
    """
)


@pytest.mark.parametrize("step", ["docs", "names", "commit", "compact"])
async def test_a_cluster_killed_midway_leaves_the_index_whole(tmp_path: Path, step: str) -> None:
    path = tmp_path / "index.db"
    rng = random.Random(7)
    qs = queries(random.Random(3), 60)
    async with SqliteIndex(f"sqlite:///{path}") as index:
        await index.upsert([record(rng, i) for i in range(3000)])
        expected = await answers(index, qs)
    kept = rids(path)
    proc = subprocess.Popen(
        [sys.executable, "-c", CLUSTERER, str(path), ROOT, step],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": ROOT},
    )
    try:
        assert proc.stdout is not None
        while (line := await asyncio.to_thread(proc.stdout.readline)).strip() != step:
            assert line, "the clusterer ended before the step"
        # mid-cluster: a reader finds what it found before (the old rows, or the same records
        # under new rids once committed)
        async with SqliteIndex(f"sqlite:///{path}") as index:
            assert await answers(index, qs[:10]) == expected[:10]
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    if step == "compact":  # killed after the commit, before VACUUM: clustered, not compacted
        assert rids(path) != kept
    else:  # killed inside the transaction: nothing renumbered
        assert rids(path) == kept
    async with SqliteIndex(f"sqlite:///{path}") as index:
        assert await answers(index, qs) == expected
        await index.cluster()  # and it clusters afterwards
        assert await answers(index, qs) == expected
    con = check(path)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()


async def test_an_index_whose_tree_and_rows_disagree_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "index.db"
    rng = random.Random(8)
    async with SqliteIndex(f"sqlite:///{path}") as index:
        await index.upsert([record(rng, i) for i in range(100)])
        con = sqlite3.connect(path)
        con.execute(f"INSERT INTO rt VALUES ({999 << ID_SHIFT}, 0, 1, 0, 1, 0, 1)")  # no row
        con.commit()
        con.close()
        kept = rids(path)
        with pytest.raises(CatalogError, match=r"101 records .* 100 rows: not clustered"):
            await index.cluster()
        assert rids(path) == kept
