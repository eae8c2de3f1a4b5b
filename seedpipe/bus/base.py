"""The event bus interface every backend implements (publish, consume with commit-after-success)."""

from __future__ import annotations

import asyncio
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING

from seedpipe.bus.consumer import ConsumerLoop
from seedpipe.bus.source import (
    CLOUDEVENTS_CONTENT_TYPE,
    DLQ_SUFFIX,
    BatchHandler,
    Handler,
    RawHandler,
    RawRecord,
    Source,
    check_name,
    dlq_topic,
)
from seedpipe.errors import EventTooLarge, InvalidInput
from seedpipe.events import CloudEvent
from seedpipe.metrics import EVENTS_DEAD_LETTERED, EVENTS_PUBLISHED
from seedpipe.settings import BusSettings

if TYPE_CHECKING:
    from seedpipe.bus.deadletter import DeadLetter


class EventBus(ABC):
    """Durable, at-least-once topics with consumer groups.

    Semantics every backend keeps (the conformance suite checks them):
    - events with the same key (``CloudEvent.key``) are delivered in publish order;
    - an offset is committed only after the handler returned for that event;
    - a failing handler is retried with backoff up to ``settings.max_attempts`` times, then the
      event (or the raw bytes that could not be parsed) goes to ``<topic>.dlq`` with the reason,
      and the partition moves on;
    - ``consume`` returns when ``stop`` is set, after finishing and committing the event in hand.

    A backend implements ``_publish_raw`` and ``_open_source``; the consumer loop
    (``seedpipe.bus.consumer``) is shared.
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
    async def _publish_raw(
        self, topic: str, records: Sequence[tuple[bytes | None, bytes]], content_type: str
    ) -> None:
        """Append ``(key, value)`` records durably, in order; return once they are acknowledged."""

    @abstractmethod
    async def _open_source(
        self, topics: Sequence[str], group: str, *, from_beginning: bool
    ) -> Source:
        """Join ``group`` on ``topics`` (creating them when missing)."""

    async def publish(self, topic: str, event: CloudEvent) -> None:
        """Append one event durably (keyed by ``event.key``)."""
        await self.publish_many(topic, (event,))

    async def publish_many(self, topic: str, events: Iterable[CloudEvent]) -> None:
        """Append several events in one acknowledged batch, in order."""
        check_name(topic, "topic")
        batch = list(events)
        records = [(e.key.encode("utf-8"), e.to_bytes()) for e in batch]
        # Checked where events are published, by every publisher on every bus: an event no
        # consumer would accept must never be appended (it would only reach the DLQ).
        limit = self.settings.max_event_bytes
        for e, (_, value) in zip(batch, records, strict=True):
            if len(value) > limit:
                raise EventTooLarge(e, len(value), limit)
        if records:
            await self._publish_raw(topic, records, CLOUDEVENTS_CONTENT_TYPE)
            EVENTS_PUBLISHED.labels(topic=topic).inc(len(records))

    async def consume(
        self,
        topics: Sequence[str],
        group: str,
        handler: Handler,
        *,
        stop: asyncio.Event | None = None,
        from_beginning: bool = True,
        until_caught_up: bool = False,
    ) -> None:
        """Deliver events of ``topics`` to ``handler`` as consumer group ``group`` until stopped.

        With ``until_caught_up`` it also returns once the group has handled everything that was
        on the topics when the call began.
        """
        loop = ConsumerLoop(self, stop=stop, until_caught_up=until_caught_up)
        await loop.run(
            self._checked(topics, events=True), check_name(group, "group"), from_beginning, handler
        )

    async def consume_batches(
        self,
        topics: Sequence[str],
        group: str,
        batch_handler: BatchHandler,
        *,
        stop: asyncio.Event | None = None,
        max_batch: int = 500,
        from_beginning: bool = True,
        until_caught_up: bool = False,
    ) -> None:
        """Like ``consume`` but hands over up to ``max_batch`` events at a time.

        If ``batch_handler`` raises, each event of the batch is retried alone (a one-element
        list), so retries and the DLQ apply per event.
        """
        if max_batch < 1:
            raise InvalidInput("must be at least 1", field="max_batch")
        loop = ConsumerLoop(self, stop=stop, until_caught_up=until_caught_up, max_batch=max_batch)
        await loop.run_batches(
            self._checked(topics, events=True),
            check_name(group, "group"),
            from_beginning,
            batch_handler,
        )

    async def consume_raw(
        self,
        topics: Sequence[str],
        group: str,
        handler: RawHandler,
        *,
        stop: asyncio.Event | None = None,
        from_beginning: bool = True,
        until_caught_up: bool = False,
    ) -> None:
        """Records as stored, unparsed and without retries (``events tail``, DLQ readers).

        An exception from ``handler`` ends the call; what was handled before it is committed.
        """
        loop = ConsumerLoop(self, stop=stop, until_caught_up=until_caught_up)
        await loop.run_raw(
            self._checked(topics), check_name(group, "group"), from_beginning, handler
        )

    async def publish_dead_letters(self, topic: str, letters: Sequence[DeadLetter]) -> None:
        """Append ``letters`` to ``<topic>.dlq``: for a handler that refuses part of a batch."""
        from seedpipe.bus.deadletter import DEAD_LETTER_CONTENT_TYPE

        records = [(letter.key, letter.to_bytes()) for letter in letters]
        if records:
            target = dlq_topic(check_name(topic, "topic"))
            await self._publish_raw(target, records, DEAD_LETTER_CONTENT_TYPE)
            EVENTS_PUBLISHED.labels(topic=target).inc(len(records))
            for letter in letters:
                EVENTS_DEAD_LETTERED.labels(topic=topic, stage=letter.stage).inc()

    async def dead_letters(self, topic: str) -> list[DeadLetter]:
        """Everything in ``<topic>.dlq`` now, oldest first per partition (read by a fresh group)."""
        from seedpipe.bus.deadletter import DeadLetter

        found: list[DeadLetter] = []

        async def collect(record: RawRecord) -> None:
            found.append(DeadLetter.from_bytes(record.value))

        group = f"seedpipe-dlq-reader-{uuid.uuid4().hex[:12]}"
        await self.consume_raw([dlq_topic(topic)], group, collect, until_caught_up=True)
        return found

    def _checked(self, topics: Sequence[str], *, events: bool = False) -> list[str]:
        if isinstance(topics, str):
            topics = [topics]
        if not topics:
            raise InvalidInput("name at least one topic", field="topics")
        for t in topics:
            check_name(t, "topics")
            if events and t.endswith(DLQ_SUFFIX):
                # Dead letters are not CloudEvents: consuming them as events would dead-letter
                # every one of them again, into <topic>.dlq.dlq.
                raise InvalidInput(
                    f"{t!r} holds dead letters: read it with dead_letters() or consume_raw()",
                    field="topics",
                )
        return list(topics)
