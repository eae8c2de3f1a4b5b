"""A real SQLite bus and SQLite index for the indexer service and CLI tests."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from indexer.backends import open_index
from indexer.backends.base import FileIndex
from indexer.service import IndexerService
from seedpipe import events
from seedpipe.bus import open_bus
from seedpipe.bus.base import EventBus
from seedpipe.events import CloudEvent, file_event
from seedpipe.records import FileRecord, WorkspaceRef
from seedpipe.settings import Settings

CONFIG = """\
data_dir = "data"

[bus]
url = "sqlite:///events.db"
backoff_initial_s = 0.01

[index]
url = "sqlite:///index.db"

[workspaces.raw]
url = "raw"
"""


def record(file_id: str, version: int = 1, **kw: Any) -> FileRecord:
    kw.setdefault("file_name", f"{file_id}.tif")
    return FileRecord(
        id=file_id,
        workspace=WorkspaceRef(name="raw"),
        file_path=kw["file_name"],
        version=version,
        **kw,
    )


def event(rec: FileRecord, kind: str = events.FILE_INGESTED) -> CloudEvent:
    return file_event(kind, rec, source="tests")


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """``seedpipe.cli.main`` configures the root logger; put pytest's handlers back after."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "seedpipe.toml"
    path.write_text(CONFIG)
    return path


@pytest.fixture
def settings(config_file: Path) -> Settings:
    return Settings.load(config_file)


@pytest.fixture
async def bus(settings: Settings) -> AsyncIterator[EventBus]:
    async with open_bus(settings.bus) as b:
        yield b


@pytest.fixture
async def index(settings: Settings) -> AsyncIterator[FileIndex]:
    async with open_index(settings.index) as i:
        yield i


async def publish(bus: EventBus, settings: Settings, *evs: CloudEvent) -> None:
    await bus.publish_many(settings.topic(events.FILES_TOPIC), evs)


async def index_all(settings: Settings, bus: EventBus, index: FileIndex) -> IndexerService:
    """Run the service until it has handled everything on the files topic."""
    service = IndexerService(settings, bus, index)
    await service.run(asyncio.Event(), until_caught_up=True)
    return service


async def read_all(bus: EventBus, topic: str) -> list[CloudEvent]:
    """Every event on ``topic`` now, read by a fresh consumer group."""
    import uuid

    found: list[CloudEvent] = []

    async def collect(ev: CloudEvent) -> None:
        found.append(ev)

    group = f"reader-{uuid.uuid4().hex[:8]}"
    await bus.consume([topic], group, collect, until_caught_up=True)
    return found
