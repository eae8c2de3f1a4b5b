"""The event bus interface every backend implements (publish, consume with commit-after-success)."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable, Sequence
from types import TracebackType

from seedpipe.events import CloudEvent
from seedpipe.settings import BusSettings

Handler = Callable[[CloudEvent], Awaitable[None]]
BatchHandler = Callable[[list[CloudEvent]], Awaitable[None]]


class EventBus(ABC):
    """Durable, at-least-once topics with consumer groups.

    Semantics every backend keeps (the conformance suite checks them):
    - events with the same key (``CloudEvent.key``) are delivered in publish order;
    - an offset is committed only after the handler returned for that event;
    - a failing handler is retried with backoff up to ``settings.max_attempts`` times, then the
      event (or the raw bytes that could not be parsed) goes to ``<topic>.dlq`` with the reason,
      and the partition moves on;
    - ``consume`` returns when ``stop`` is set, after finishing and committing the event in hand.
    """

    def __init__(self, url: str, settings: BusSettings) -> None:
        self.url = url
        self.settings = settings

    async def start(self) -> None:
        """Open connections; idempotent."""

    async def close(self) -> None:
        """Flush and close; idempotent."""

    async def __aenter__(self) -> EventBus:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @abstractmethod
    async def publish(self, topic: str, event: CloudEvent) -> None:
        """Append one event durably (keyed by ``event.key``)."""

    async def publish_many(self, topic: str, events: Iterable[CloudEvent]) -> None:
        """Append several events; backends batch this."""
        for event in events:
            await self.publish(topic, event)

    @abstractmethod
    async def consume(
        self,
        topics: Sequence[str],
        group: str,
        handler: Handler,
        *,
        stop: asyncio.Event | None = None,
        from_beginning: bool = True,
    ) -> None:
        """Deliver events of ``topics`` to ``handler`` as consumer group ``group`` until stopped."""
