"""Event bus backends, chosen by URL scheme: ``sqlite:///events.db`` or ``kafka://host:9092``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from seedpipe.registry import BackendRegistry

if TYPE_CHECKING:
    from seedpipe.bus.base import EventBus
    from seedpipe.settings import BusSettings

BACKENDS = BackendRegistry(
    "event bus",
    {"sqlite": "seedpipe.bus.sqlite.bus:SqliteBus", "kafka": "seedpipe.bus.kafka.bus:KafkaBus"},
    {"kafka": "pip install aiokafka"},
)


def open_bus(settings: BusSettings) -> EventBus:
    """The bus for ``settings.url`` (not yet started: use ``async with``)."""
    cls = BACKENDS.resolve(settings.url)
    bus: EventBus = cls(settings.url, settings)
    return bus
