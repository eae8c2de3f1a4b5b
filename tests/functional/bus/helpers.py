"""Helpers shared by the bus tests: quick-retry settings, numbered events, collecting handlers."""

from __future__ import annotations

import asyncio
from typing import Any

from seedpipe.bus import open_bus
from seedpipe.bus.base import EventBus
from seedpipe.events import FILE_INGESTED, CloudEvent
from seedpipe.settings import BusSettings

PARTITIONS = 4


def bus_settings(url: str, **overrides: Any) -> BusSettings:
    """Settings that retry fast and notice group changes quickly, so tests stay short."""
    options: dict[str, Any] = {
        "url": url,
        "max_attempts": 3,
        "backoff_initial_s": 0.01,
        "backoff_max_s": 0.05,
        "max_event_bytes": 4096,
        "sqlite": {"partitions": PARTITIONS, "poll_interval_s": 0.02, "session_timeout_s": 2.0},
        "kafka": {
            "partitions": PARTITIONS,
            "session_timeout_ms": 2000,
            "heartbeat_interval_ms": 300,
            "linger_ms": 1,
        },
    }
    options.update(overrides)
    return BusSettings.model_validate(options)


def make_bus(url: str, **overrides: Any) -> EventBus:
    return open_bus(bus_settings(url, **overrides))


def event(key: str, n: int, **data: Any) -> CloudEvent:
    return CloudEvent(
        type=FILE_INGESTED, source="tests", subject=key, data={"n": n, "key": key, **data}
    )


def numbers(events: list[CloudEvent]) -> list[int]:
    return [e.data["n"] for e in events]


class Collector:
    """A handler that remembers what it got and can wait until it has seen enough."""

    def __init__(self) -> None:
        self.events: list[CloudEvent] = []
        self.changed = asyncio.Event()

    async def __call__(self, event: CloudEvent) -> None:
        self.events.append(event)
        self.changed.set()

    async def wait_for(self, count: int, timeout: float = 30.0) -> None:
        async with asyncio.timeout(timeout):
            while len(self.events) < count:
                self.changed.clear()
                await self.changed.wait()
