"""SQLite index internals the conformance suite cannot see: R*Tree upkeep and layout versions."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from indexer.backends.sqlite import names as sqlite_names
from indexer.backends.sqlite.docs import NULLABLE
from indexer.backends.sqlite.index import SqliteIndex
from indexer.backends.sqlite.layout import COLUMNS, SCHEMA_VERSION
from indexer.backends.sqlite.rows import (
    D0,
    D1,
    GEOM,
    ID_SHIFT,
    NAME_LC,
    SIG_BITS,
    signature,
    type_bits,
)
from seedpipe.query.model import Query
from seedpipe.records import FileRecord

TWO_SQUARES = {
    "type": "MultiPolygon",
    "coordinates": [
        [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]],
        [[[5, 5], [6, 5], [6, 6], [5, 6], [5, 5]]],
    ],
}


def rec(version: int, **fields: object) -> FileRecord:
    return FileRecord(
        id="f", file_name="f.tif", workspace={"name": "raw"}, file_path="f.tif",
        version=version, **fields,
    )  # fmt: skip


async def one_record_then(path: Path, sql: str) -> None:
    """An index holding ``rec(1)``, then changed behind its back by ``sql``."""
    async with SqliteIndex(f"sqlite:///{path}") as index:
        await index.upsert([rec(1)])
    con = sqlite3.connect(path)
    with con:
        con.execute(sql)
    con.close()


def rtree_rows(path: Path) -> list[tuple[int, int]]:
    con = sqlite3.connect(path)
    try:
        return [(i >> ID_SHIFT, (i >> 3) & ((1 << SIG_BITS) - 1))
                for (i,) in con.execute("SELECT id FROM rt")]  # fmt: skip
    finally:
        con.close()


def test_signatures_are_two_stable_bits_per_type() -> None:
    assert type_bits("optical") == 0b100000000000000010  # crc32, not the salted hash()
    assert signature(["optical", "weather"]) == type_bits("optical") | type_bits("weather")
    assert signature([]) == 0
    for tag in ("a", "b", "日本語", "", "optical"):
        assert type_bits(tag) < 1 << SIG_BITS
        assert type_bits(tag).bit_count() == 2


async def test_updates_and_deletes_leave_no_rtree_rows_behind(tmp_path: Path) -> None:
    path = tmp_path / "index.db"
    async with SqliteIndex(f"sqlite:///{path}") as index:
        await index.upsert([rec(1, geometry=TWO_SQUARES, data_type_tags=["optical", "sar"])])
        rows = rtree_rows(path)
        assert len(rows) == 2
        assert {sig for _, sig in rows} == {signature(["optical", "sar"])}
        await index.upsert([rec(2, geometry=TWO_SQUARES, data_type_tags=["weather"])])
        rows = rtree_rows(path)
        assert len(rows) == 2
        assert {sig for _, sig in rows} == {signature(["weather"])}
        await index.delete("f", 3)
        assert rtree_rows(path) == []


async def test_a_tag_holding_the_key_separator_is_removed_whole_by_updates_and_deletes(
    tmp_path: Path,
) -> None:
    """A data type from outside may hold the separator of ``files.tagkeys``: joined, it would
    split into other keys (here "t\x1fsar"), so an update would leave its tag rows and, its
    signature misread, its R*Tree rows behind."""
    path = tmp_path / "index.db"
    odd = "x\x1et\x1fsar"
    async with SqliteIndex(f"sqlite:///{path}") as index:
        await index.upsert([rec(1, geometry=TWO_SQUARES, data_type_tags=[odd, "ais"])])
        found = await index.search(Query.parse({"data_types_any": [odd], "limit": 5}))
        assert [r.id for r in found.records] == ["f"]
        sar = await index.search(Query.parse({"data_types_any": ["sar"], "limit": 5}))
        assert sar.total == 0
        await index.upsert([rec(2, geometry=TWO_SQUARES, data_type_tags=["weather"])])
        con = sqlite3.connect(path)
        assert [r[0] for r in con.execute("SELECT tag FROM tags")] == ["t\x1fweather"]
        assert {sig for _, sig in rtree_rows(path)} == {signature(["weather"])}
        await index.delete("f", 3)
        assert con.execute("SELECT count(*) FROM tags").fetchone()[0] == 0
        assert rtree_rows(path) == []
        con.close()


async def test_an_index_of_another_layout_is_kept_aside_and_rebuilt_empty_for_a_replay(
    tmp_path: Path,
) -> None:
    path = tmp_path / "index.db"
    con = sqlite3.connect(path)
    con.executescript(
        "CREATE TABLE files (rid INTEGER PRIMARY KEY, id TEXT, meta TEXT);"
        "CREATE TABLE docs (rid INTEGER PRIMARY KEY, doc TEXT);"
        "INSERT INTO files VALUES (1, 'old', '{}');"
    )
    con.close()
    async with SqliteIndex(f"sqlite:///{path}") as index:
        assert await index.needs_replay()
        assert await index.get("old") is None
        await index.upsert([rec(1)])
        await index.replay_done()
        assert not await index.needs_replay()
    [aside] = [p for p in tmp_path.iterdir() if p.name.startswith("index.db.layout1-")]
    kept = sqlite3.connect(aside)
    assert kept.execute("SELECT id FROM files").fetchall() == [("old",)]
    kept.close()
    async with SqliteIndex(f"sqlite:///{path}") as index:  # reopened: current, nothing to do
        assert not await index.needs_replay()
        assert (await index.get("f")) is not None


async def test_a_new_index_records_its_layout_version(tmp_path: Path) -> None:
    path = tmp_path / "index.db"
    async with SqliteIndex(f"sqlite:///{path}") as index:
        assert not await index.needs_replay()  # a new index has nothing to replay
    async with SqliteIndex(f"sqlite:///{path}"):  # and opens again
        pass
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    con.close()


async def test_an_index_of_layout_3_is_kept_aside_and_replayed_into_the_new_tree(
    tmp_path: Path,
) -> None:
    # Layout 3's R*Tree counted data time in weeks: its boxes mean nothing to this layout's
    # probes, so the file goes aside and the event log is replayed into a new one.
    path = tmp_path / "index.db"
    place = {"type": "Point", "coordinates": [10.5, 20.5]}
    await one_record_then(path, "PRAGMA user_version = 3")
    async with SqliteIndex(f"sqlite:///{path}") as index:
        assert await index.needs_replay()
        assert await index.get("f") is None
        await index.upsert([
            rec(1, geometry=place, data_started="2024-01-01T00:00:00Z",
                data_ended="2024-01-02T00:00:00Z"),
        ])  # fmt: skip
        await index.replay_done()
        point = Query(intersects=place)
        assert (await index.search(point)).total == 1
        window = {"start": "2024-01-01T12:00:00Z", "end": "2024-01-01T13:00:00Z"}
        assert (await index.search(Query(intersects=place, datetime=window))).total == 1
        away = {"start": "2024-01-03T00:00:00Z", "end": "2024-01-04T00:00:00Z"}
        assert (await index.search(Query(intersects=place, datetime=away))).total == 0
    assert [p for p in tmp_path.iterdir() if p.name.startswith("index.db.layout3-")]
    async with SqliteIndex(f"sqlite:///{path}") as index:
        assert not await index.needs_replay()


async def test_an_index_written_for_other_record_fields_is_rebuilt(tmp_path: Path) -> None:
    # Documents leave null fields out, with a mask over the model's nullable fields: a file
    # written by a seedpipe whose FileRecord had other fields must not be read with this mask.
    path = tmp_path / "index.db"
    await one_record_then(path, "UPDATE state SET value = '[\"id\"]' WHERE key = 'doc_fields'")
    async with SqliteIndex(f"sqlite:///{path}") as index:
        assert await index.needs_replay()
        assert await index.get("f") is None
    assert [p for p in tmp_path.iterdir() if p.name.startswith(f"index.db.layout{SCHEMA_VERSION}-")]


async def test_documents_leave_nulls_out_and_json_pages_put_them_back(tmp_path: Path) -> None:
    path = tmp_path / "index.db"
    record = rec(1, checksum="sha256:" + "1" * 64, meta_data={"kept": None})
    async with SqliteIndex(f"sqlite:///{path}") as index:
        await index.upsert([record])
        raw = await index.search_json(Query())
        assert [json.loads(d) for d in raw.docs] == [record.to_scale()]
    con = sqlite3.connect(path)
    [(doc, nulls)] = con.execute("SELECT doc, nulls FROM docs").fetchall()
    con.close()
    stored = json.loads(doc)
    assert "url" not in stored and "job" not in stored and stored["meta_data"] == {"kept": None}
    assert stored["workspace"] == {"name": "raw", "id": None}  # only top-level nulls go
    assert stored["geometry"] is None and nulls.bit_count() == sum(
        1 for name in NULLABLE if getattr(record, name) is None
    )


def test_the_geometry_and_interval_columns_are_where_rows_put_them() -> None:
    columns = COLUMNS.split(", ")
    assert (columns.index("geom"), columns.index("d0"), columns.index("d1")) == (GEOM, D0, D1)
    assert columns.index("name_lc") == NAME_LC


async def test_a_long_interval_written_by_another_connection_is_found_by_a_time_query(
    tmp_path: Path,
) -> None:
    from datetime import UTC, datetime

    from seedpipe.query.model import Query

    url = f"sqlite:///{tmp_path / 'index.db'}"
    june = Query.parse({"datetime": "2019-06-10T00:00:00Z/2019-06-20T00:00:00Z"})
    async with SqliteIndex(url) as reader, SqliteIndex(url) as writer:
        short = rec(1, data_started=datetime(2019, 6, 1, tzinfo=UTC),
                    data_ended=datetime(2019, 6, 15, tzinfo=UTC))  # fmt: skip
        await writer.upsert([short])
        assert [r.id for r in (await reader.search(june)).records] == ["f"]
        decades = FileRecord(
            id="long", file_name="l.tif", workspace={"name": "raw"}, file_path="l.tif",
            data_started=datetime(1990, 1, 1, tzinfo=UTC),
            data_ended=datetime(2030, 1, 1, tzinfo=UTC),
        )  # fmt: skip
        await writer.upsert([decades])
        page = await reader.search(june)
        assert sorted(r.id for r in page.records) == ["f", "long"] and page.total == 2
        contains = Query.parse(
            {"datetime": "2019-06-10T00:00:00Z/2019-06-12T00:00:00Z", "time_relation": "contains"}
        )
        assert sorted(r.id for r in (await reader.search(contains)).records) == ["f", "long"]


async def test_rare_and_common_types_page_alike_whichever_way_the_rows_are_found(
    tmp_path: Path,
) -> None:
    from datetime import UTC, datetime, timedelta

    from seedpipe.query.model import Query

    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    records = [
        FileRecord(
            id=f"r{i:03d}", file_name=f"{i}.tif", workspace={"name": "raw"}, file_path=f"{i}.tif",
            created=t0 + timedelta(minutes=i),
            data_type_tags=["common"] + (["rare"] if i == 77 else []),
        ) if i % 2 else FileRecord(
            id=f"r{i:03d}", file_name=f"{i}.tif", workspace={"name": "raw"}, file_path=f"{i}.tif",
            created=t0 + timedelta(minutes=i),
        )
        for i in range(200)
    ]  # fmt: skip
    async with SqliteIndex(f"sqlite:///{tmp_path / 'index.db'}") as index:
        await index.upsert(records)
        for tag, expected in (("rare", ["r077"]), ("common", [r.id for r in records[1::2]])):
            seen: list[str] = []
            q = Query(data_types_any=[tag], limit=7)
            while True:
                page = await index.search(q)
                assert page.total == len(expected)
                seen += [r.id for r in page.records]
                if page.next_token is None:
                    break
                q = q.model_copy(update={"token": page.next_token})
            assert seen == sorted(expected, reverse=True)  # newest created first


OPENER = """
import asyncio, sys
from indexer.backends.sqlite.index import SqliteIndex
from seedpipe.records import FileRecord

async def main(url, name):
    async with SqliteIndex(url) as index:
        await index.upsert([FileRecord(id=name, file_name="a", workspace={"name": "w"},
                                       file_path="a")])

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


def test_processes_opening_an_old_layout_at_once_move_it_aside_once(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    path = tmp_path / "index.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE files (rid INTEGER PRIMARY KEY, id TEXT, meta TEXT)")
    con.close()
    root = Path(__file__).resolve().parents[4]
    env = {**os.environ, "PYTHONPATH": str(root)}
    procs = [
        subprocess.Popen([sys.executable, "-c", OPENER, f"sqlite:///{path}", f"p{i}"], env=env)
        for i in range(4)
    ]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0, 0]
    aside = [p.name for p in tmp_path.iterdir() if ".layout" in p.name and p.suffix != ".lock"]
    assert len([a for a in aside if not a.endswith(("-wal", "-shm"))]) == 1, aside
    con = sqlite3.connect(path)
    assert sorted(r[0] for r in con.execute("SELECT id FROM files")) == ["p0", "p1", "p2", "p3"]
    con.close()


@pytest.mark.parametrize(("most", "budget_s"), [(50_000, 5.0), (2, 5.0), (50_000, 0.0)])
async def test_file_names_are_found_by_trigram_or_by_scan_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, most: int, budget_s: float
) -> None:
    # The trigram index only narrows the rows; a needle matching more than PROBE_MAX names, or
    # a probe over its time budget, falls back to the scan, with the same answer.
    monkeypatch.setattr(sqlite_names, "PROBE_MAX", most)
    monkeypatch.setattr(sqlite_names, "PROBE_S", budget_s)
    monkeypatch.setattr(sqlite_names, "PROBE_STEPS", 1)  # look at the clock at every step
    names = ["scene_1.tif", "scene_12.tif", "scene_123.tif", "other.nc", "SCENE_9.TIF"]
    async with SqliteIndex(f"sqlite:///{tmp_path / 'index.db'}") as index:
        await index.upsert([
            FileRecord(id=f"n{i}", file_name=n, workspace={"name": "raw"}, file_path=n)
            for i, n in enumerate(names)
        ])  # fmt: skip
        for needle, want in (("scene_1", 3), ("ene_12", 2), ("scene", 4), ("her", 1), ("x", 0)):
            q = Query(file_name_contains=needle, sort=[{"field": "file_name"}])
            page = await index.search(q)
            assert page.total == len(page.records) == want, needle
            assert all(needle in r.file_name.casefold() for r in page.records)
            assert await index.count(q) == want
            placed = Query(file_name_contains=needle, bbox=(0, 0, 1, 1))
            assert (await index.search(placed)).total == 0  # the R*Tree path with a needle


async def test_a_file_without_the_name_index_gets_its_names_indexed(tmp_path: Path) -> None:
    path = tmp_path / "index.db"
    await one_record_then(path, "DROP TABLE names")
    async with SqliteIndex(f"sqlite:///{path}") as index:
        page = await index.search(Query(file_name_contains="f.ti"))
        assert [r.id for r in page.records] == ["f"]


def _points(n: int) -> list[FileRecord]:
    return [
        FileRecord(
            id=f"p{i}", file_name=f"p{i}.tif", workspace={"name": "raw"}, file_path=f"p{i}.tif",
            geometry={"type": "Point", "coordinates": [1.0, 2.0]},
        )
        for i in range(n)
    ]  # fmt: skip


async def test_a_point_query_runs_on_the_event_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with SqliteIndex(f"sqlite:///{tmp_path / 'index.db'}") as index:
        await index.upsert(_points(3))

        async def no_thread(*args: object) -> None:
            raise AssertionError("a point query went to the worker thread")

        monkeypatch.setattr("indexer.backends.sqlite.index.asyncio.to_thread", no_thread)
        point = Query(intersects={"type": "Point", "coordinates": [1.0, 2.0]})
        assert (await index.search_json(point)).total == 3
        assert sorted(r.id for r in (await index.search(point)).records) == ["p0", "p1", "p2"]
        assert await index.count(point) == 3
        monkeypatch.undo()  # closing goes to the thread


async def test_a_point_query_over_its_inline_budget_finishes_in_the_worker_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from indexer.backends.sqlite import index as module

    async with SqliteIndex(f"sqlite:///{tmp_path / 'index.db'}") as index:
        await index.upsert(_points(40))
        monkeypatch.setattr(module, "INLINE_S", -1.0)  # every SQL statement is interrupted
        monkeypatch.setattr(module, "INLINE_STEPS", 1)
        threaded: list[object] = []
        real = asyncio.to_thread

        async def spy(fn: Any, *args: Any) -> Any:
            threaded.append(fn)
            return await real(fn, *args)

        monkeypatch.setattr("indexer.backends.sqlite.index.asyncio.to_thread", spy)
        point = Query(intersects={"type": "Point", "coordinates": [1.0, 2.0]}, limit=30)
        page = await index.search(point)
        assert page.total == 40 and len(page.records) == 30 and page.next_token
        assert len(threaded) == 2  # the read, then decoding a page longer than INLINE_DECODE
        assert (await index.search_json(point)).total == 40
        assert isinstance(index, SqliteIndex)
        assert not index.con.in_transaction  # the interrupted snapshot was closed
        await index.upsert(_points(41)[40:])  # and the connection writes as before
        monkeypatch.setattr(module, "INLINE_S", 2.0)
        assert await index.count(point) == 41


async def test_a_point_query_setting_only_its_point_finds_what_the_general_statement_finds(
    tmp_path: Path,
) -> None:
    # the fixed statement of a plain point query (spatial._plain_point_sql) against the one
    # compiled from the filters (here the same defaults, given explicitly), pages and tokens
    shapes = [
        {"type": "Point", "coordinates": [1.0, 2.0]},
        {"type": "Polygon", "coordinates": [[[0, 0], [3, 0], [3, 3], [0, 3], [0, 0]]]},
        {"type": "Polygon", "coordinates": [[[0, 0], [3, 0], [3, 3], [2, 3], [0, 0]]]},  # no
        {"type": "Polygon", "coordinates": [[[0.5, 1], [4, 1.5], [4, 4], [0.5, 3], [0.5, 1]]]},
        {"type": "Polygon", "coordinates": [[[5, 5], [6, 5], [6, 6], [5, 6], [5, 5]]]},  # no
    ]
    records = [
        FileRecord(
            id=f"s{i}", file_name=f"s{i}.tif", workspace={"name": "raw"}, file_path=f"s{i}.tif",
            geometry=shapes[i % len(shapes)],
        )
        for i in range(12)
    ]  # fmt: skip
    async with SqliteIndex(f"sqlite:///{tmp_path / 'index.db'}") as index:
        await index.upsert(records)
        await index.delete("s3", 2)
        point = {"type": "Point", "coordinates": [1.0, 2.0]}
        plain = Query(intersects=point, limit=2)
        general = Query(intersects=point, limit=2, include_deleted=False)
        assert plain.model_fields_set == {"intersects", "limit"}
        for q in (plain, general):
            ids: list[str] = []
            page = await index.search_json(q)
            ids += [json.loads(d)["id"] for d in page.docs]
            while page.next_token:
                page = await index.search_json(q.model_copy(update={"token": page.next_token}))
                ids += [json.loads(d)["id"] for d in page.docs]
            assert page.total == 7
            assert sorted(ids) == ["s0", "s1", "s10", "s11", "s5", "s6", "s8"]
            decoded = await index.search(q.model_copy(update={"limit": 100}))
            assert sorted(r.id for r in decoded.records) == sorted(ids)
            assert await index.count(q) == 7


async def test_get_runs_on_the_event_loop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with SqliteIndex(f"sqlite:///{tmp_path / 'index.db'}") as index:
        await index.upsert(_points(2))

        async def no_thread(*args: object) -> None:
            raise AssertionError("get went to the worker thread")

        monkeypatch.setattr("indexer.backends.sqlite.index.asyncio.to_thread", no_thread)
        got = await index.get("p1")
        assert got is not None and got.id == "p1"
        assert await index.get("nope") is None
        monkeypatch.undo()


async def test_the_index_reads_through_a_memory_map(tmp_path: Path) -> None:
    async with SqliteIndex(f"sqlite:///{tmp_path / 'index.db'}") as index:
        assert isinstance(index, SqliteIndex)
        assert index.con.execute("PRAGMA mmap_size").fetchone()[0] >= 1 << 30


async def test_an_index_in_this_layout_opens_while_another_process_holds_its_write_lock(
    tmp_path: Path,
) -> None:
    """Opening writes nothing to a file already in this layout, so a search process starting
    while a bulk load's end or a cluster holds the write lock does not wait for it."""
    path = tmp_path / "index.db"
    async with SqliteIndex(f"sqlite:///{path}") as index:
        await index.upsert([rec(1)])
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO state VALUES ('held', '1')")
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        async with SqliteIndex(f"sqlite:///{path}") as index:
            assert (await index.search(Query.parse({"limit": 5}))).total == 1
        assert loop.time() - started < 5  # not the 30 s busy timeout
    finally:
        writer.execute("ROLLBACK")
        writer.close()


async def test_the_tag_test_is_skipped_only_where_the_tree_signature_decides_alone(
    tmp_path: Path,
) -> None:
    """type0's two signature bits are type2's and type10's: a record of those two passes the
    tree's test for type0 without holding it, so type0 keeps its exact tag test; type2 and
    type10 each have a bit no other type sets, so the tree decides them alone."""
    assert type_bits("type0") & ~(type_bits("type2") | type_bits("type10")) == 0
    path = tmp_path / "index.db"
    here = {"type": "Point", "coordinates": [10.0, 10.0]}

    def ids(page: Any) -> list[str]:
        return sorted(r.id for r in page.records)

    def q(**filters: Any) -> Query:
        return Query.parse({"bbox": [0, 0, 20, 20], "limit": 10, **filters})

    async with SqliteIndex(f"sqlite:///{path}") as index:
        both = rec(1, geometry=here, data_type_tags=["type2", "type10"])
        await index.upsert([both])
        assert (await index.search(q(data_types_any=["type0"]))).total == 0
        assert ids(await index.search(q(data_types_any=["type2"]))) == ["f"]
        assert ids(await index.search(q(data_types_all=["type2", "type10"]))) == ["f"]
        known = index._snapshot(q(data_types_any=["type2"]), index._known)
        assert known.any_by_tree
        assert not index._snapshot(q(data_types_any=["type0"]), index._known).any_by_tree
        other = rec(1, geometry=here, data_type_tags=["type0"]).model_copy(update={"id": "g"})
        await index.upsert([other])
        assert ids(await index.search(q(data_types_any=["type0"]))) == ["g"]
        assert ids(await index.search(q(data_types_any=["type2"]))) == ["f"]
        assert ids(await index.search(q(data_types_all=["type0", "type2"]))) == []
    con = sqlite3.connect(path)  # a file from before the list of types: filled on open
    con.execute("DROP TABLE data_types")
    con.commit()
    con.close()
    async with SqliteIndex(f"sqlite:///{path}") as index:
        assert not index._snapshot(q(data_types_any=["type0"]), index._known).any_by_tree
        assert ids(await index.search(q(data_types_any=["type0"]))) == ["g"]
    con = sqlite3.connect(path)
    assert sorted(r[0] for r in con.execute("SELECT type FROM data_types")) == [
        "type0", "type10", "type2"
    ]  # fmt: skip
    con.close()
