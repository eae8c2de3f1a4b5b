"""Query.matches and the SQLite backend agree on random data (fixed seed), filter by filter."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from indexer.backends.sqlite.index import SqliteIndex
from seedpipe.query.match import matches
from seedpipe.query.model import Query
from seedpipe.records import FileRecord

T0 = datetime(2020, 1, 1, tzinfo=UTC)
TAGS = ["a", "b", "c", "d"]
WORKSPACES = ["raw", "products"]
SENSORS = ["S1", "S2", None]


def when(rng: random.Random) -> datetime:
    return T0 + timedelta(hours=rng.randrange(24 * 60))


def random_geometry(rng: random.Random) -> dict[str, Any] | None:
    x, y = rng.uniform(-180, 180), rng.uniform(-90, 90)
    kind = rng.random()
    if kind < 0.15:
        return None
    if kind < 0.5:
        return {"type": "Point", "coordinates": [x, y]}
    w, h = rng.uniform(0.5, 40), rng.uniform(0.5, 20)
    y = min(y, 90 - h)
    x1 = x + w if x + w <= 180 else x + w - 360  # sometimes across the antimeridian
    if kind < 0.8:
        ring = [[x, y], [x1, y], [x1, y + h], [x, y + h], [x, y]]
    else:
        mid = x + w / 2 if x + w / 2 <= 180 else x + w / 2 - 360
        ring = [[x, y], [x1, y + h / 2], [mid, y + h], [x, y]]
    return {"type": "Polygon", "coordinates": [ring]}


def random_record(rng: random.Random, i: int) -> FileRecord:
    started = when(rng) if rng.random() < 0.8 else None
    ended = (
        started + timedelta(hours=rng.randrange(200)) if started and rng.random() < 0.7 else None
    )
    return FileRecord(
        id=f"r{i:04d}",
        file_name=f"{rng.choice(['Scene', 'tile', 'IMG'])}_{i}.{rng.choice(['tif', 'json'])}",
        workspace={"name": rng.choice(WORKSPACES)},
        file_path=f"p/{i}",
        media_type=rng.choice(["image/tiff", "application/json"]),
        file_type=rng.choice(["SOURCE", "PRODUCT"]),
        file_size=rng.randrange(1000),
        data_type_tags=rng.sample(TAGS, rng.randrange(3)),
        countries=rng.sample(["FRA", "USA", "JPN"], rng.randrange(2)),
        created=when(rng),
        last_modified=when(rng),
        data_started=started,
        data_ended=ended,
        source_started=when(rng) if rng.random() < 0.5 else None,
        source_sensor=rng.choice(SENSORS),
        is_superseded=rng.random() < 0.1,
        is_deleted=rng.random() < 0.05,
        geometry=random_geometry(rng),
        meta_data={
            "cloud": rng.choice([rng.randrange(100), rng.random() * 100, "n/a"]),
            "tags": rng.sample(["x", "y", "z"], rng.randrange(3)),
            "sat": {"name": rng.choice(["S2A", "S2B", "L8"])},
            "ok": rng.random() < 0.5,
        },
    )


def random_query(rng: random.Random) -> dict[str, Any]:
    q: dict[str, Any] = {"limit": 10_000}
    if rng.random() < 0.4:
        x, y = rng.uniform(-180, 180), rng.uniform(-90, 60)
        x1 = x + rng.uniform(5, 90)
        q["bbox"] = [x, y, x1 if x1 <= 180 else x1 - 360, y + rng.uniform(5, 30)]
    elif rng.random() < 0.2:
        x, y = rng.uniform(-170, 170), rng.uniform(-80, 80)
        q["intersects"] = {
            "type": "Polygon",
            "coordinates": [[[x, y], [x + 10, y], [x, y + 10], [x, y]]],
        }
    if rng.random() < 0.5:
        a, b = when(rng), when(rng)
        a, b = min(a, b), max(a, b)
        ends = [a.isoformat(), b.isoformat()]
        if rng.random() < 0.3:
            ends[rng.randrange(2)] = ".."
        q["datetime"] = "/".join(ends)
        q["time_field"] = rng.choice(["data", "data", "source", "created", "last_modified"])
        q["time_relation"] = rng.choice(["intersects", "within", "contains"])
    for name, choices in (
        ("data_types_all", TAGS),
        ("data_types_any", TAGS),
        ("data_types_none", TAGS),
        ("workspaces", WORKSPACES),
        ("countries", ["FRA", "USA"]),
        ("source_sensor", ["S1", "S2"]),
        ("file_types", ["SOURCE", "PRODUCT"]),
        ("media_types", ["image/tiff"]),
    ):
        if rng.random() < 0.15:
            q[name] = rng.sample(choices, rng.randrange(1, min(3, len(choices) + 1)))
    if rng.random() < 0.1:
        q["file_name_contains"] = rng.choice(["scene", "_1", "TIF"])
    if rng.random() < 0.3:
        q["meta"] = [
            rng.choice(
                [
                    {"property": "cloud", "op": rng.choice(["<", ">=", "!="]), "value": 50},
                    {"property": "cloud", "op": "between", "value": [10, 60.5]},
                    {"property": "cloud", "op": "==", "value": "n/a"},
                    {"property": "tags", "op": "contains", "value": "x"},
                    {"property": "sat.name", "op": "in", "value": ["S2A", "L8"]},
                    {"property": "sat.name", "op": "contains", "value": "2"},
                    {"property": "ok", "op": "==", "value": True},
                ]
            )
        ]
    q["include_superseded"] = rng.random() < 0.3
    q["include_deleted"] = rng.random() < 0.2
    return q


async def test_query_matches_gives_the_same_ids_as_the_sqlite_backend(tmp_path: Path) -> None:
    rng = random.Random(20240605)
    records = [random_record(rng, i) for i in range(300)]
    async with SqliteIndex(f"sqlite:///{tmp_path / 'i.db'}") as index:
        assert all(r.status == "written" for r in await index.upsert(records))
        stored = [await index.get(r.id) for r in records]
        nonempty = 0
        for _ in range(160):
            spec = random_query(rng)
            q = Query.parse(spec)
            page = await index.search(q)
            got = {r.id for r in page.records}
            expected = {r.id for r in records if matches(q, r)}
            assert got == expected, spec
            assert expected == {r.id for r in stored if r is not None and matches(q, r)}, spec
            nonempty += bool(got)
        assert nonempty > 60  # the queries are not vacuous
