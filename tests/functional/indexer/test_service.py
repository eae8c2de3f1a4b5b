"""The indexer service on the SQLite bus, over the SQLite index and a live OpenSearch index:
events in, searchable records out."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from indexer.backends.base import FileIndex, Subscription
from indexer.service import reindex
from seedpipe import events
from seedpipe.bus.base import EventBus
from seedpipe.events import CloudEvent
from seedpipe.query.model import Query
from seedpipe.settings import Settings
from tests.functional.indexer.conftest import (
    CONFIG,
    event,
    index_all,
    publish,
    read_all,
    record,
)

PARIS = {
    "type": "Polygon",
    "coordinates": [[[2.2, 48.8], [2.5, 48.8], [2.5, 48.9], [2.2, 48.9], [2.2, 48.8]]],
}
INDEXES = ["sqlite", pytest.param("opensearch", marks=pytest.mark.opensearch)]


@pytest.fixture(params=INDEXES)
def config_file(request: pytest.FixtureRequest, tmp_path: Path, unique: str) -> Path:
    """The service's config on each index backend (a fresh index prefix on OpenSearch)."""
    text = CONFIG
    if request.param == "opensearch":
        url = request.getfixturevalue("opensearch_index_url")
        text = text.replace('url = "sqlite:///index.db"', f'url = "{url}"')
        text += f'\n[index.opensearch]\nindex_prefix = "svc-{unique}"\nrefresh = "true"\n'
    path = tmp_path / "seedpipe.toml"
    path.write_text(text)
    return path


GENEVA_LAKE = {  # clockwise on purpose: hygiene re-orients it
    "type": "Polygon",
    "coordinates": [[[6.1, 46.2], [6.1, 46.5], [6.9, 46.5], [6.9, 46.2], [6.1, 46.2]]],
}


async def test_ingested_events_become_searchable_with_countries_and_center_point(
    settings: Settings, bus: EventBus, index: FileIndex
) -> None:
    await publish(
        bus,
        settings,
        event(record("paris", geometry=PARIS, data_type_tags=["landsat"])),
        event(record("leman", geometry=GENEVA_LAKE), events.FILE_PRODUCED),
        event(record("nowhere")),
    )
    service = await index_all(settings, bus, index)
    assert service.stats.written == 3 and service.stats.dead_lettered == 0
    paris = await index.get("paris")
    assert paris is not None and paris.countries == ["FRA"]
    assert paris.center_point is not None and paris.center_point["type"] == "Point"
    leman = await index.get("leman")
    assert leman is not None and leman.countries == ["CHE", "FRA"]
    found = await index.search(Query(countries=["CHE"]))
    assert [r.id for r in found.records] == ["leman"]
    found = await index.search(Query(bbox=(2, 48, 3, 49), data_types_any=["landsat"]))
    assert [r.id for r in found.records] == ["paris"]


async def test_a_stale_or_replayed_event_never_overwrites_a_newer_version(
    settings: Settings, bus: EventBus, index: FileIndex
) -> None:
    v1 = record("f", 1, media_type="image/tiff")
    v2 = record("f", 2, media_type="image/png")
    await publish(bus, settings, event(v2), event(v1))
    await index_all(settings, bus, index)
    await publish(bus, settings, event(v1), event(v2))  # replays, in a later batch
    service = await index_all(settings, bus, index)
    stored = await index.get("f")
    assert stored is not None and stored.version == 2 and stored.media_type == "image/png"
    assert service.stats.written == 0 and service.stats.stale >= 1


async def test_updates_replace_and_deletes_stay_deleted_under_replay(
    settings: Settings, bus: EventBus, index: FileIndex
) -> None:
    v1 = record("g", 1)
    v2 = record("g", 2, meta_data={"cloud": 3})
    v3 = record("g", 3)
    await publish(bus, settings, event(v1), event(v2, events.FILE_METADATA_UPDATED))
    await index_all(settings, bus, index)
    stored = await index.get("g")
    assert stored is not None and stored.meta_data == {"cloud": 3}
    await publish(bus, settings, event(v3, events.FILE_DELETED), event(v2))
    await index_all(settings, bus, index)
    assert await index.get("g") is None


async def test_an_unusable_geometry_goes_to_the_dlq_with_the_reason_and_the_record_is_indexed(
    settings: Settings, bus: EventBus, index: FileIndex
) -> None:
    bad = record("bad", geometry={"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]})
    sent = event(bad)
    await publish(bus, settings, sent, event(record("good", geometry=PARIS)))
    service = await index_all(settings, bus, index)
    stored = await index.get("bad")
    assert stored is not None and stored.geometry is None and stored.file_name == "bad.tif"
    assert (await index.get("good")) is not None
    letters = await bus.dead_letters(settings.topic(events.FILES_TOPIC))
    assert [d.event_id for d in letters] == [sent.id]
    assert "geometry" in letters[0].reason and letters[0].group == "indexer"
    assert CloudEvent.from_bytes(letters[0].original).subject == "bad"
    assert service.stats.dead_lettered == 1
    await publish(bus, settings, sent)  # a replay is stale: it is not dead-lettered again
    await index_all(settings, bus, index)
    assert len(await bus.dead_letters(settings.topic(events.FILES_TOPIC))) == 1


async def test_an_invalid_file_record_goes_to_the_dlq_and_the_rest_is_indexed(
    settings: Settings, bus: EventBus, index: FileIndex
) -> None:
    broken = CloudEvent(
        type=events.FILE_INGESTED, source="tests", subject="x", data={"id": "x", "file_size": -1}
    )
    await publish(bus, settings, broken, event(record("ok")))
    await index_all(settings, bus, index)
    assert await index.get("ok") is not None and await index.get("x") is None
    letters = await bus.dead_letters(settings.topic(events.FILES_TOPIC))
    assert len(letters) == 1 and "invalid file record" in letters[0].reason
    assert "file_name" in letters[0].reason


async def test_records_matching_a_saved_search_publish_subscription_matched(
    settings: Settings, bus: EventBus, index: FileIndex
) -> None:
    await index.add_subscription(
        Subscription(id="in-france", name="France", query=Query(countries=["FRA"]))
    )
    await index.add_subscription(
        Subscription(
            id="recent",
            name="2024 data",
            query=Query.parse({"datetime": "2024-01-01T00:00:00Z/.."}),
        )
    )
    when = datetime(2024, 5, 1, tzinfo=UTC)
    await publish(
        bus,
        settings,
        event(record("paris", geometry=PARIS, data_started=when)),
        event(record("old", geometry=PARIS, data_started=datetime(2001, 1, 1, tzinfo=UTC))),
        event(record("elsewhere")),
    )
    await index_all(settings, bus, index)
    matched = await read_all(bus, settings.topic(events.SUBSCRIPTIONS_TOPIC))
    pairs = sorted((e.subject, e.data["subscription"]["id"]) for e in matched)
    assert pairs == [("old", "in-france"), ("paris", "in-france"), ("paris", "recent")]
    one = next(e for e in matched if e.data["subscription"]["id"] == "recent")
    assert one.type == events.SUBSCRIPTION_MATCHED
    assert one.data["subscription"]["name"] == "2024 data"
    assert one.data["record"]["id"] == "paris" and one.data["record"]["countries"] == ["FRA"]
    await publish(bus, settings, event(record("paris", geometry=PARIS, data_started=when)))
    await index_all(settings, bus, index)  # a replay writes nothing, so announces nothing
    assert len(await read_all(bus, settings.topic(events.SUBSCRIPTIONS_TOPIC))) == 3


def a_then_b_twice() -> list[CloudEvent]:
    """A history: "a" in Paris, "b" ingested then its metadata updated (version 2)."""
    return [
        event(record("a", geometry=PARIS)),
        event(record("b", 1)),
        event(record("b", 2, media_type="text/plain"), events.FILE_METADATA_UPDATED),
    ]


async def test_reindex_rebuilds_an_index_from_the_event_log(
    settings: Settings, bus: EventBus, index: FileIndex
) -> None:
    await publish(
        bus,
        settings,
        *a_then_b_twice(),
        event(record("c"), events.FILE_INGESTED),
        event(record("c", 2), events.FILE_DELETED),
        event(record("d", geometry={"type": "Point", "coordinates": [999, 0]})),
    )
    await index_all(settings, bus, index)  # the live indexer dead-letters d's geometry once
    fresh = "sqlite:///" + str(settings.path("rebuilt.db"))
    stats = await reindex(settings, index_url=fresh)
    assert stats.events == 6 and stats.problems == 1
    from indexer.backends import open_index

    async with open_index(settings.index.model_copy(update={"url": fresh})) as rebuilt:
        page = await rebuilt.search(Query(sort="file_name"))
        assert [r.id for r in page.records] == ["a", "b", "d"]
        b = await rebuilt.get("b")
        assert b is not None and b.media_type == "text/plain"
        a = await rebuilt.get("a")
        assert a is not None and a.countries == ["FRA"]
    assert await read_all(bus, settings.topic(events.SUBSCRIPTIONS_TOPIC)) == []
    assert len(await bus.dead_letters(settings.topic(events.FILES_TOPIC))) == 1


@pytest.mark.parametrize("config_file", ["sqlite"], indirect=True)  # SQLite's own layouts
async def test_an_index_of_an_older_layout_is_rebuilt_by_replaying_the_log_once(
    settings: Settings, bus: EventBus
) -> None:
    import sqlite3

    from indexer.backends import open_index

    await publish(bus, settings, *a_then_b_twice())
    async with open_index(settings.index) as index:
        await index.add_subscription(Subscription(id="all", name="all", query=Query()))
        await index_all(settings, bus, index)
    assert len(await read_all(bus, settings.topic(events.SUBSCRIPTIONS_TOPIC))) == 2  # a, b v2
    path = settings.path("index.db")
    for suffix in ("", "-wal", "-shm"):  # an index written by an older seedpipe
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE files (rid INTEGER PRIMARY KEY, id TEXT, meta TEXT)")
    old.execute("CREATE TABLE subscriptions (id TEXT PRIMARY KEY, doc TEXT NOT NULL)")
    saved = Subscription(id="sar", name="sar", query=Query(data_types_any=["sar"]))
    with old:
        old.execute("INSERT INTO subscriptions VALUES (?, ?)", (saved.id, saved.model_dump_json()))
    old.close()
    async with open_index(settings.index) as index:
        assert await index.needs_replay()
        assert await index.list_subscriptions() == [saved]  # not in the log: carried over
        service = await index_all(settings, bus, index)  # the live indexer, same group as before
        assert not await index.needs_replay()
        page = await index.search(Query(sort="file_name"))
        assert [r.id for r in page.records] == ["a", "b"]
        b = await index.get("b")
        assert b is not None and b.media_type == "text/plain"
        assert service.stats.written == 0  # its own group had nothing new: the replay did it
    # matches were announced the first time round, not again
    assert len(await read_all(bus, settings.topic(events.SUBSCRIPTIONS_TOPIC))) == 2


@pytest.mark.parametrize("config_file", ["sqlite"], indirect=True)
async def test_a_backlog_is_loaded_in_bulk_until_the_indexer_catches_up(
    settings: Settings, bus: EventBus, caplog: pytest.LogCaptureFixture
) -> None:
    import logging
    import sqlite3

    from indexer.backends import open_index
    from indexer.backends.sqlite import bulk
    from indexer.service import BACKLOG_BATCHES

    settings = settings.model_copy(
        update={"bus": settings.bus.model_copy(update={"batch_size": 10})}
    )
    count = 10 * (BACKLOG_BATCHES + 5) + 3  # full batches, then a short one: caught up
    await publish(
        bus,
        settings,
        *[
            event(record(f"f{i:03d}", geometry={"type": "Point", "coordinates": [i % 90, 1]}))
            for i in range(count)
        ],
    )
    caplog.set_level(logging.INFO, logger="indexer")
    async with open_index(settings.index) as index:
        service = await index_all(settings, bus, index)
        assert service.stats.written == count
        page = await index.search(Query(bbox=(-1, 0, 91, 2), limit=1000))
        assert page.total == count
        page = await index.search(Query(intersects={"type": "Point", "coordinates": [7, 1]}))
        assert {r.id for r in page.records} == {f"f{i:03d}" for i in range(count) if i % 90 == 7}
    messages = [r.getMessage() for r in caplog.records]
    assert "indexer behind: loading in bulk until caught up" in messages
    assert "indexer caught up: bulk load ended" in messages
    con = sqlite3.connect(settings.path("index.db"))
    assert not bulk.active(con)
    assert con.execute("SELECT count(*) FROM rt_pending").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM rt").fetchone()[0] == count
    assert con.execute("SELECT rtreecheck('rt')").fetchone()[0] == "ok"
    con.close()
