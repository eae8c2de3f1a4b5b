"""What a consumer reads: raw records, a group member's source of them, handler types, names."""

from __future__ import annotations

import asyncio
import re
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple, Protocol

from seedpipe.errors import InvalidInput
from seedpipe.events import CloudEvent

if TYPE_CHECKING:
    from seedpipe.settings import BusSettings

Handler = Callable[[CloudEvent], Awaitable[None]]
BatchHandler = Callable[[list[CloudEvent]], Awaitable[None]]
RawHandler = Callable[["RawRecord"], Awaitable[None]]
TopicPartition = tuple[str, int]

# Kafka's own rule for topic names; group names follow it too so they are safe everywhere.
_NAME = re.compile(r"^[A-Za-z0-9._-]{1,249}$")
CLOUDEVENTS_CONTENT_TYPE = "application/cloudevents+json; charset=UTF-8"
DLQ_SUFFIX = ".dlq"


def check_name(value: str, field: str) -> str:
    """A topic or group name from outside: letters, digits, ``._-``, at most 249 characters."""
    if not _NAME.match(value) or value in (".", ".."):
        raise InvalidInput(
            f"{value!r} is not a valid name (letters, digits, '.', '_', '-'; 1-249 chars)",
            field=field,
        )
    return value


def dlq_topic(topic: str) -> str:
    """Where events of ``topic`` that cannot be handled end up."""
    return topic + DLQ_SUFFIX


class RawRecord(NamedTuple):
    """One record as stored, before parsing: what the consumer loop and ``events tail`` see.

    A NamedTuple because the SQLite reader builds tens of thousands a second.
    """

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    timestamp: float  # seconds since the epoch, when the log accepted it

    @property
    def tp(self) -> TopicPartition:
        return (self.topic, self.partition)


class Source(ABC):
    """One consumer's live view of the partitions its group gave it (a backend implements it).

    The consumer loop ``mark``s each record once handled; ``flush`` commits the marks.
    """

    def __init__(self) -> None:
        self.pending: dict[TopicPartition, int] = {}

    def mark(self, record: RawRecord) -> None:
        self.pending[record.tp] = record.offset

    async def flush(self) -> None:
        """Commit what was handled since the last flush."""
        if self.pending:
            offsets, self.pending = self.pending, {}
            await self.commit(offsets)

    @abstractmethod
    async def fetch(self, max_records: int, stop: asyncio.Event) -> list[RawRecord]:
        """Records after this consumer's position, in offset order per partition.

        Waits briefly when there are none; returns early (maybe empty) when ``stop`` is set.
        """

    @abstractmethod
    def owns(self, tp: TopicPartition) -> bool:
        """Whether the partition is still this consumer's (a rebalance may have moved it)."""

    @abstractmethod
    async def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Record ``offsets`` (the last handled offset per partition) as the group's progress."""

    @abstractmethod
    async def end_offsets(self) -> dict[TopicPartition, int]:
        """The last offset of every partition of the topics now (-1 when a partition is empty)."""

    async def known_ends(self) -> dict[TopicPartition, int] | None:
        """The last offset of each partition as far as this consumer knows without a round trip
        to the broker (for the lag metric); None when it cannot tell cheaply."""
        return None

    @abstractmethod
    async def caught_up(self, target: Mapping[TopicPartition, int]) -> bool:
        """Whether the group has handled every partition up to ``target``."""

    async def close(self) -> None:
        """Leave the group (after the loop committed what it handled)."""


class Transport(Protocol):
    """What the consumer loop needs of a bus: its settings, a group member, raw appends."""

    settings: BusSettings

    async def _open_source(
        self, topics: Sequence[str], group: str, *, from_beginning: bool
    ) -> Source: ...

    async def _publish_raw(
        self, topic: str, records: Sequence[tuple[bytes | None, bytes]], content_type: str
    ) -> None: ...
