"""A bulk load's writer process (sqlite/writer.py): the same index as writing in process, errors
answered with the transaction rolled back, and a writer that dies costing only its batch."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from indexer.backends.base import UpsertResult
from indexer.backends.sqlite import writer as writer_module
from indexer.backends.sqlite.index import SqliteIndex
from seedpipe.errors import CatalogError
from seedpipe.query.model import Query
from seedpipe.records import FileRecord
from tests.functional.indexer.backends.test_sqlite_bulk import T0, record

TABLES = ("files", "docs", "tags", "rt", "rt_pending", "tombstones", "data_types", "names")


def batches(seed: int) -> list[list[FileRecord]]:
    """Batches with what a load meets: new records, newer versions of records of earlier
    batches, older versions (stale), an id twice in one batch, and a tombstoned id."""
    rng = random.Random(seed)
    first = [record(rng, i) for i in range(700)]
    second = [record(rng, i, version=2) for i in range(0, 700, 3)]  # newer: rows replaced
    second += [record(rng, i) for i in range(700, 1000)]
    second += [record(rng, 1000, version=1), record(rng, 1000, version=3)]  # newest wins
    third = [record(rng, i, version=1) for i in range(0, 700, 3)]  # older: stale
    third += [record(rng, 5000, version=2), record(rng, 1001, version=1)]
    third += [product(i) for i in range(2000, 2300)]
    return [first, second, third]


def product(i: int) -> FileRecord:
    """A product with every column a row has: job and recipe, countries and ancestors,
    nested metadata, source times, a name outside ASCII, a tag holding the tag separator and
    a place of more parts than the R*Tree keeps."""
    parts = [
        [[[x, 10.0], [x + 0.5, 10.0], [x + 0.5, 10.5], [x, 10.5], [x, 10.0]]]
        for x in range(-20, 0, 2)
    ]
    return FileRecord(
        id=f"p{i:06d}",
        file_name=f"produkt_{i}_Ölfeld.nitf",
        workspace={"name": "products"},
        file_path=f"out/{i}.nitf",
        file_type="PRODUCT",
        file_size=i * 1000,
        media_type="application/vnd.nitf",
        data_type_tags=["optical", "odd\x1etag"] if i % 2 else ["optical"],
        geometry={"type": "MultiPolygon", "coordinates": parts} if i % 3 else None,
        center_point={"type": "Point", "coordinates": [1.5, 2.5]},
        countries=["FRA", "DEU"],
        ancestors=[f"r{i % 700:06d}"],
        job_type={"name": "ortho", "version": "1.0"},
        job=f"job-{i}",
        job_output="ORTHO",
        recipe=f"recipe-{i % 7}",
        recipe_node="ortho",
        batch="b-1",
        source_sensor_class="EO",
        source_sensor="S2A",
        source_collection="L1C",
        source_task="t",
        source_started=T0,
        source_ended=T0 + timedelta(hours=1),
        meta_data={"cloud": i % 100, "bands": [1, 2, 3], "nested": {"k": None}},
        created=T0 + timedelta(seconds=i),
    )


def dump(path: Path) -> dict[str, Any]:
    con = sqlite3.connect(path)
    try:
        out = {t: con.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in TABLES}
        out["state"] = con.execute("SELECT * FROM state ORDER BY key").fetchall()
        return out
    finally:
        con.close()


async def load(
    path: Path, writer_min: int, loads: list[list[FileRecord]], *, whole: bool
) -> list[list[UpsertResult]]:
    answers = []
    async with SqliteIndex(f"sqlite:///{path}") as index:
        await index.delete("r005000", 5)  # a tombstone above the load's version 2
        index.writer_min = writer_min
        async with index.bulk(whole=whole):
            for batch in loads:
                answers.append(await index.upsert(batch))
                assert (index._writer is not None) == (writer_min == 1)
            assert index._writer is not None or writer_min != 1
        assert index._writer is None  # stopped with the load
    return answers


@pytest.mark.parametrize("whole", [True, False], ids=["whole", "boxes"])
async def test_the_writer_process_writes_the_index_writing_in_process_writes(
    tmp_path: Path, whole: bool
) -> None:
    loads = batches(16)  # the same records (last_modified is the time each was made)
    beside = await load(tmp_path / "beside.db", 1, loads, whole=whole)
    inside = await load(tmp_path / "inside.db", 10**9, loads, whole=whole)
    assert beside == inside
    statuses = [r.status for answers in beside for r in answers]
    assert statuses.count("stale") == 1 + len(range(0, 700, 3)) + 1  # twice, older, tombstoned
    assert statuses.count("written") == 700 + len(range(0, 700, 3)) + 300 + 1 + 1 + 300
    assert dump(tmp_path / "beside.db") == dump(tmp_path / "inside.db")
    async with SqliteIndex(f"sqlite:///{tmp_path / 'beside.db'}") as index:
        page = await index.search(Query(limit=2000, sort="id"))
        assert page.total == 1302
        assert {r.id: r.version for r in page.records}["r000000"] == 2
        assert {r.id: r.version for r in page.records}["r001000"] == 3


async def test_an_error_in_the_writers_sql_rolls_its_batch_back_and_names_it(
    tmp_path: Path,
) -> None:
    rng = random.Random(3)
    async with SqliteIndex(f"sqlite:///{tmp_path / 'index.db'}") as index:
        index.writer_min = 1
        async with index.bulk():
            await index.upsert([record(rng, i) for i in range(300)])
            bad = [record(rng, i) for i in range(300, 600)]
            # in SQLite's range only up to 2**63 - 1: the child's binding refuses it
            bad[200] = bad[200].model_copy(update={"file_size": 2**63})
            with pytest.raises(CatalogError, match="OverflowError"):
                await index.upsert(bad)
            writer = index._writer
            assert writer is not None and writer.alive  # the same child goes on
            written = await index.upsert([record(rng, i) for i in range(300, 600)])
            assert index._writer is writer
            assert {r.status for r in written} == {"written"}
        assert (await index.search(Query(limit=1))).total == 600


async def test_a_writer_that_dies_loses_nothing_and_the_load_goes_on_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    rng = random.Random(4)
    path = tmp_path / "index.db"
    async with SqliteIndex(f"sqlite:///{path}") as index:
        index.writer_min = 1
        async with index.bulk():
            await index.upsert([record(rng, i) for i in range(300)])
            writer = index._writer
            assert writer is not None
            prepare = writer_module.prepare
            calls = []

            def dying(*args: Any) -> Any:  # the child is killed in the middle of the batch
                calls.append(1)
                if len(calls) == 2:
                    os.kill(writer._proc.pid, signal.SIGKILL)
                    writer._proc.wait()
                return prepare(*args)

            monkeypatch.setattr(writer_module, "prepare", dying)
            written = await index.upsert([record(rng, i) for i in range(300, 600)])
            assert {r.status for r in written} == {"written"}  # again, in process
            assert len(calls) >= 2 and index._writer is None
            assert "index bulk writer gone" in caplog.text
            more = await index.upsert([record(rng, i) for i in range(600, 900)])
            assert {r.status for r in more} == {"written"}
            assert index._writer is None  # the rest of the load in process
        page = await index.search(Query(limit=1000, sort="id"))
        assert [r.id for r in page.records] == [f"r{i:06d}" for i in range(900)]
        async with index.bulk():  # a new load tries a writer again
            await index.upsert([record(rng, i) for i in range(900, 1200)])
            assert index._writer is not None
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)


async def test_a_writer_that_cannot_start_leaves_the_load_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(*args: Any, **kwargs: Any) -> Any:
        raise OSError("no processes here")

    monkeypatch.setattr(writer_module.subprocess, "Popen", refused)
    rng = random.Random(6)
    async with SqliteIndex(f"sqlite:///{tmp_path / 'index.db'}") as index:
        index.writer_min = 1
        async with index.bulk():
            written = await index.upsert([record(rng, i) for i in range(300)])
            assert {r.status for r in written} == {"written"}
        assert (await index.search(Query(limit=1))).total == 300


async def test_small_batches_and_writes_outside_a_load_stay_in_process(tmp_path: Path) -> None:
    rng = random.Random(5)
    async with SqliteIndex(f"sqlite:///{tmp_path / 'index.db'}") as index:
        await index.upsert([record(rng, i) for i in range(400)])  # no bulk load
        assert index._writer is None
        async with index.bulk():
            await index.upsert([record(rng, i) for i in range(400, 400 + index.writer_min - 1)])
            assert index._writer is None
            await index.upsert([record(rng, i) for i in range(1000, 1000 + index.writer_min)])
            assert index._writer is not None


async def test_a_loads_end_reads_through_the_cache_and_searches_map_the_file_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from indexer.backends.sqlite import bulk

    seen = []
    inner = bulk._finish

    def finish(con: sqlite3.Connection, path: Path) -> None:
        seen.append(con.execute("PRAGMA mmap_size").fetchone()[0])
        inner(con, path)

    monkeypatch.setattr(bulk, "_finish", finish)
    rng = random.Random(7)
    async with SqliteIndex(f"sqlite:///{tmp_path / 'index.db'}") as index:
        mapped = index.con.execute("PRAGMA mmap_size").fetchone()[0]
        assert mapped > 0
        async with index.bulk():
            await index.upsert([record(rng, i) for i in range(300)])
        assert seen == [0]  # the end's scans: through the page cache
        assert index.con.execute("PRAGMA mmap_size").fetchone()[0] == mapped
        assert (await index.search(Query(limit=1))).total == 300
