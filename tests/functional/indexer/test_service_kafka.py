"""The indexer service over Kafka (a real tansu broker from the kafka_url fixture)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from indexer.backends import open_index
from indexer.service import IndexerService
from seedpipe import events
from seedpipe.bus import open_bus
from seedpipe.query.model import Query
from seedpipe.settings import Settings
from tests.functional.indexer.conftest import event, record

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


async def test_the_service_indexes_events_consumed_from_kafka(
    kafka_url: str, unique: str, tmp_path: Path
) -> None:
    settings = Settings.load(
        None,
        data_dir=str(tmp_path),
        bus={"url": kafka_url, "topic_prefix": f"t{unique}", "kafka": {"partitions": 2}},
        index={"url": "sqlite:///index.db"},
    )
    square = {
        "type": "Polygon",
        "coordinates": [[[10, 50], [11, 50], [11, 51], [10, 51], [10, 50]]],
    }
    async with open_bus(settings.bus) as bus, open_index(settings.index) as index:
        await bus.publish_many(
            settings.topic(events.FILES_TOPIC),
            [
                event(record("k1", geometry=square)),
                event(record("k2", 2)),
                event(record("k2", 1)),
            ],
        )
        service = IndexerService(settings, bus, index, group=f"indexer-{unique}")
        await service.run(asyncio.Event(), until_caught_up=True)
        k1 = await index.get("k1")
        assert k1 is not None and k1.countries == ["DEU"]
        k2 = await index.get("k2")
        assert k2 is not None and k2.version == 2
        assert (await index.count(Query())) == 2
