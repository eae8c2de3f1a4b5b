"""The ingest service publishing through the Kafka bus (tansu broker started by a fixture)."""

from __future__ import annotations

import asyncio
import hashlib
import time

import pytest

from ingest.ledger import Ledger
from ingest.service import IngestService
from seedpipe.bus import open_bus
from seedpipe.events import FILES_TOPIC, CloudEvent
from seedpipe.settings import Settings

pytestmark = pytest.mark.kafka


async def test_each_dropped_file_is_published_once_on_kafka(tmp_path, kafka_url, unique):
    drop = tmp_path / "drop"
    drop.mkdir()
    settings = Settings(
        config_dir=str(tmp_path),
        data_dir=str(tmp_path / "data"),
        bus={"url": kafka_url, "topic_prefix": f"sp{unique}"},
        workspaces={"ws": {"url": str(tmp_path / "ws")}},
        strikes=[{"name": "k", "drop": str(drop), "workspace": "ws", "settle_s": 0.1}],
    )
    contents = {f"scene {i}.tif": f"pixels {i}".encode() for i in range(10)}
    stop = asyncio.Event()
    async with open_bus(settings.bus) as bus:
        task = asyncio.create_task(IngestService(settings, bus).run(stop))
        for name, data in contents.items():
            (drop / name).write_bytes(data)
        ledger = Ledger(settings.path("ingest.db"))
        deadline = time.monotonic() + 60
        while sum(1 for r in ledger.find(limit=100) if r.published) < len(contents):
            assert not task.done(), task.exception()
            assert time.monotonic() < deadline, ledger.counts()
            await asyncio.sleep(0.05)
        stop.set()
        await task
        ledger.close()
        got: list[CloudEvent] = []

        async def collect(batch: list[CloudEvent]) -> None:
            got.extend(batch)

        topic = settings.topic(FILES_TOPIC)
        await bus.consume_batches([topic], f"check-{unique}", collect, until_caught_up=True)
    assert sorted(e.file_record().file_path for e in got) == sorted(contents)
    for e in got:
        rec = e.file_record()
        assert rec.checksum == "sha256:" + hashlib.sha256(contents[rec.file_path]).hexdigest()
