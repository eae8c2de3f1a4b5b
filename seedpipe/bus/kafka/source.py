"""A Kafka consumer-group member: getmany, manual commits, commit-on-revoke, true end offsets."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError

from seedpipe.bus.source import RawRecord, Source
from seedpipe.bus.source import TopicPartition as TP
from seedpipe.errors import BusError

if TYPE_CHECKING:
    from aiokafka import AIOKafkaProducer

    from seedpipe.settings import BusSettings

log = logging.getLogger(__name__)

FETCH_WAIT_MS = 200  # how long one fetch waits for records: bounds how late ``stop`` is seen
END_PROBE_S = 10.0


class KafkaClients(Protocol):
    """What a group member needs of its bus: the settings, client options, the producer."""

    settings: BusSettings

    def client_options(self) -> dict[str, Any]: ...

    def producer(self) -> AIOKafkaProducer: ...


class _Revoked(ConsumerRebalanceListener):
    """Commit what was handled on partitions before they move to another member."""

    def __init__(self, source: KafkaSource) -> None:
        self.source = source

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        gone = {(tp.topic, tp.partition) for tp in revoked}
        self.source.mine -= gone
        offsets = {tp: o for tp, o in self.source.pending.items() if tp in gone}
        for tp in offsets:
            del self.source.pending[tp]
        # Still ours while this runs, so commit them without the assignment filter.
        await self.source.send_commit({TopicPartition(*tp): o + 1 for tp, o in offsets.items()})

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        log.debug("bus: %s assigned %s", self.source.group, sorted(assigned))


class KafkaSource(Source):
    """One AIOKafkaConsumer in ``group`` subscribed to ``topics``; commits only what it is told.

    ``inherit`` names the group this one was renamed from: a partition ``group`` has never
    committed starts where ``inherit`` committed it, so a rename neither replays nor skips.
    """

    def __init__(
        self,
        bus: KafkaClients,
        topics: Sequence[str],
        group: str,
        from_beginning: bool,
        inherit: str | None = None,
    ) -> None:
        super().__init__()
        self.bus = bus
        self.topics = list(dict.fromkeys(topics))
        self.group = group
        self.from_beginning = from_beginning
        self.inherit = inherit
        k = bus.settings.kafka
        self.consumer = AIOKafkaConsumer(
            **bus.client_options(),
            group_id=group,
            enable_auto_commit=False,
            auto_offset_reset="earliest" if from_beginning else "latest",
            max_partition_fetch_bytes=bus.settings.max_event_bytes * 2 + 64 * 1024,
            session_timeout_ms=k.session_timeout_ms,
            heartbeat_interval_ms=min(k.heartbeat_interval_ms, k.session_timeout_ms // 3),
            fetch_max_wait_ms=k.fetch_max_wait_ms,
            max_poll_interval_ms=k.max_poll_interval_ms,
        )
        self.seen: set[TopicPartition] = set()
        self.mine: set[TP] = set()  # the assignment as of the last fetch, minus revocations

    async def start(self) -> None:
        self.consumer.subscribe(self.topics, listener=_Revoked(self))
        try:
            await self.consumer.start()
        except KafkaError as exc:
            await self.consumer.stop()
            raise BusError(f"cannot join group {self.group!r}: {exc}") from exc

    async def close(self) -> None:
        await self.consumer.stop()

    async def fetch(self, max_records: int, stop: asyncio.Event) -> list[RawRecord]:
        if (self.inherit or not self.from_beginning) and self.consumer.assignment() - self.seen:
            await self._place()
        batches = await self.consumer.getmany(timeout_ms=FETCH_WAIT_MS, max_records=max_records)
        self.mine = {(tp.topic, tp.partition) for tp in self.consumer.assignment()}
        return [
            RawRecord(
                r.topic,
                r.partition,
                r.offset,
                r.key,
                r.value if r.value is not None else b"",
                r.timestamp / 1000.0,
            )
            for records in batches.values()
            for r in records
        ]

    async def _place(self) -> None:
        """Where a partition the group never committed starts, committed at once: where the
        group it was renamed from got to; else, for a group that starts at the end, the end
        (so a restart does not skip ahead)."""
        fresh = self.consumer.assignment() - self.seen
        new = [tp for tp in fresh if await self.consumer.committed(tp) is None]
        start: dict[TopicPartition, int] = {}
        if new and self.inherit:
            start = await _committed_by(self.bus, self.inherit, new)
            if start:
                log.info(
                    "bus: group %s starts where group %s left off on %d partitions",
                    self.group,
                    self.inherit,
                    len(start),
                )
        rest = [tp for tp in new if tp not in start]
        if rest and not self.from_beginning:
            start.update(await _true_ends(self.bus, rest))
        for tp, end in start.items():
            self.consumer.seek(tp, end)
        if start:
            try:
                await self.consumer.commit(start)
            except (CommitFailedError, IllegalStateError) as exc:
                log.warning("bus: %s could not pin its start: %s", self.group, exc)
                return
        self.seen |= fresh

    def owns(self, tp: TP) -> bool:
        return tp in self.mine

    async def commit(self, offsets: Mapping[TP, int]) -> None:
        mine = self.consumer.assignment()
        # A partition revoked mid-batch is the new owner's now; committing it would fail the rest.
        ours = {TopicPartition(*tp): o + 1 for tp, o in offsets.items()}
        ours = {tp: o for tp, o in ours.items() if tp in mine}
        await self.send_commit(ours)

    async def send_commit(self, offsets: dict[TopicPartition, int]) -> None:
        if not offsets:
            return
        try:
            await self.consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as exc:
            # The group moved on (rebalance): the new owner redelivers, at least once.
            log.warning("bus: %s could not commit %s: %s", self.group, dict(offsets), exc)

    async def end_offsets(self) -> dict[TP, int]:
        partitions = []
        for topic in self.topics:
            found = await self.bus.producer().partitions_for(topic)
            partitions += [TopicPartition(topic, p) for p in sorted(found)]
        ends = await _true_ends(self.bus, partitions)
        return {(tp.topic, tp.partition): end - 1 for tp, end in ends.items()}

    async def known_ends(self) -> dict[TP, int] | None:
        # The high watermarks the last fetches brought: no request of their own.
        ends = {}
        for tp in self.consumer.assignment():
            high = self.consumer.highwater(tp)
            if high is not None:
                ends[(tp.topic, tp.partition)] = high - 1
        return ends

    async def caught_up(self, target: Mapping[TP, int]) -> bool:
        mine = self.consumer.assignment()
        for (topic, p), last in target.items():
            if last < 0:
                continue
            tp = TopicPartition(topic, p)
            if tp in mine:
                if await self.consumer.position(tp) <= last:
                    return False
                continue
            committed = await self.consumer.committed(tp)
            if committed is None:
                if self.from_beginning:
                    return False
            elif committed <= last:
                return False
        return True


async def _committed_by(
    bus: KafkaClients, group: str, partitions: list[TopicPartition]
) -> dict[TopicPartition, int]:
    """What ``group`` has committed of ``partitions`` (those it never committed left out),
    read without joining it."""
    probe = AIOKafkaConsumer(**bus.client_options(), group_id=group, enable_auto_commit=False)
    await probe.start()
    try:
        found = {}
        for tp in partitions:
            offset = await probe.committed(tp)
            if offset is not None:
                found[tp] = offset
        return found
    finally:
        await probe.stop()


async def _true_ends(
    bus: KafkaClients, partitions: list[TopicPartition]
) -> dict[TopicPartition, int]:
    """The offset after the last record of each partition.

    Read from a fetch's high watermark rather than trusted from ListOffsets, which some
    Kafka-protocol brokers (tansu 0.6) answer with the start of the last batch plus one.
    """
    probe = AIOKafkaConsumer(**bus.client_options(), enable_auto_commit=False)
    await probe.start()
    try:
        probe.assign(partitions)
        ends: dict[TopicPartition, int] = await probe.end_offsets(partitions)
        unsure = {tp for tp, end in ends.items() if end > 0}
        for tp in unsure:
            probe.seek(tp, ends[tp] - 1)
        deadline = time.monotonic() + END_PROBE_S
        while unsure and time.monotonic() < deadline:
            await probe.getmany(*unsure, timeout_ms=FETCH_WAIT_MS)
            for tp in list(unsure):
                high = probe.highwater(tp)
                if high is not None:
                    ends[tp] = max(ends[tp], high)
                    unsure.discard(tp)
        if unsure:
            raise BusError(f"could not learn the end of {sorted(unsure)} in {END_PROBE_S}s")
        return ends
    finally:
        await probe.stop()
