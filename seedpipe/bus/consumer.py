"""The consumer loop both backends share: parse, retry with backoff, dead-letter, commit."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Literal

from pydantic import ValidationError

from seedpipe.bus.deadletter import DEAD_LETTER_CONTENT_TYPE, DeadLetter
from seedpipe.bus.source import (
    RawHandler,
    RawRecord,
    Source,
    TopicPartition,
    Transport,
    dlq_topic,
)
from seedpipe.errors import InvalidInput
from seedpipe.events import CloudEvent
from seedpipe.metrics import (
    CONSUMER_LAG,
    EVENTS_CONSUMED,
    EVENTS_DEAD_LETTERED,
    EVENTS_PUBLISHED,
)

if TYPE_CHECKING:
    from seedpipe.bus.source import BatchHandler, Handler

log = logging.getLogger(__name__)

# How often a consumer asks how far behind its group is (one end-offsets call).
LAG_INTERVAL_S = 5.0

# Commit at least this often while a long batch is being handled, so a crash redoes little.
COMMIT_INTERVAL_S = 1.0

Body = Callable[[Source, str, list[RawRecord]], Awaitable[bool]]


def parse_event(raw: bytes, max_bytes: int) -> CloudEvent:
    """Validate a record as a CloudEvent; raise InvalidInput naming what is wrong."""
    if len(raw) <= max_bytes:
        try:
            # Fast path; the slow one below exists to word the error.
            return CloudEvent.model_validate_json(raw)
        except ValidationError:
            pass
    return CloudEvent.from_bytes(raw, max_bytes=max_bytes)


class ConsumerLoop:
    """One run of ``consume``/``consume_batches``/``consume_raw`` against a backend's Source."""

    def __init__(
        self,
        bus: Transport,
        *,
        stop: asyncio.Event | None,
        until_caught_up: bool,
        max_batch: int | None = None,
    ) -> None:
        self.bus = bus
        self.settings = bus.settings
        self.stop = stop if stop is not None else asyncio.Event()
        self.until_caught_up = until_caught_up
        self.max_batch = max_batch or self.settings.batch_size
        self.last_commit = time.monotonic()
        # Metrics for event consumers only: raw readers (tail, DLQ readers) use throw-away
        # group names that would each become a series.
        self.measure = True
        self.last_lag = -LAG_INTERVAL_S
        self.seen: dict[TopicPartition, int] = {}

    async def run(
        self, topics: Sequence[str], group: str, from_beginning: bool, handler: Handler
    ) -> None:
        max_bytes = self.settings.max_event_bytes

        async def body(source: Source, group: str, records: list[RawRecord]) -> bool:
            # The hot path: one parse and one handler call per event, no extra coroutines.
            for record in records:
                if self.stop.is_set():
                    return False
                if not source.owns(record.tp):
                    continue
                try:
                    event = parse_event(record.value, max_bytes)
                except InvalidInput as exc:
                    await self._dead(group, record, "parse", str(exc), 0, None)
                else:
                    try:
                        await handler(event)
                    except asyncio.CancelledError:
                        raise
                    except Exception as exc:
                        if not await self._retry(group, record, event, handler, exc):
                            return False
                source.mark(record)
                if time.monotonic() - self.last_commit >= COMMIT_INTERVAL_S:
                    await self._commit(source)
            return True

        await self._session(topics, group, from_beginning, body)

    async def run_batches(
        self, topics: Sequence[str], group: str, from_beginning: bool, handler: BatchHandler
    ) -> None:
        async def one(event: CloudEvent) -> None:
            await handler([event])

        async def body(source: Source, group: str, records: list[RawRecord]) -> bool:
            owned = [r for r in records if source.owns(r.tp)]
            parsed: list[tuple[RawRecord, CloudEvent | None]] = []
            for record in owned:
                try:
                    parsed.append(
                        (record, parse_event(record.value, self.settings.max_event_bytes))
                    )
                except InvalidInput as exc:
                    await self._dead(group, record, "parse", str(exc), 0, None)
                    parsed.append((record, None))
            events = [e for _, e in parsed if e is not None]
            if events:
                try:
                    await handler(events)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.warning(
                        "bus: batch of %d from %s failed (%s: %s); retrying one by one",
                        len(events),
                        group,
                        type(exc).__name__,
                        exc,
                    )
                    return await self._one_by_one(source, group, parsed, one)
            for record, _ in parsed:
                source.mark(record)
            return True

        await self._session(topics, group, from_beginning, body)

    async def run_raw(
        self, topics: Sequence[str], group: str, from_beginning: bool, handler: RawHandler
    ) -> None:
        self.measure = False

        async def body(source: Source, group: str, records: list[RawRecord]) -> bool:
            for record in records:
                if self.stop.is_set():
                    return False
                if source.owns(record.tp):
                    await handler(record)
                    source.mark(record)
            return True

        await self._session(topics, group, from_beginning, body)

    async def _session(
        self, topics: Sequence[str], group: str, from_beginning: bool, body: Body
    ) -> None:
        source = await self.bus._open_source(topics, group, from_beginning=from_beginning)
        try:
            target = await source.end_offsets() if self.until_caught_up else None
            while not self.stop.is_set():
                records = await source.fetch(self.max_batch, self.stop)
                if records and not await body(source, group, records):
                    break
                if self.measure:
                    await self._measure(source, group, records)
                await self._commit(source)
                if target is not None and await source.caught_up(target):
                    break
        finally:
            # Also on cancellation: what was handled is committed, the event in hand is not.
            try:
                await self._commit(source)
            finally:
                await source.close()

    async def _one_by_one(
        self,
        source: Source,
        group: str,
        parsed: list[tuple[RawRecord, CloudEvent | None]],
        handler: Handler,
    ) -> bool:
        for record, event in parsed:
            if self.stop.is_set():
                return False
            if event is not None and not await self._attempt(group, record, event, handler):
                return False
            source.mark(record)
            await self._maybe_commit(source)
        return True

    async def _attempt(
        self, group: str, record: RawRecord, event: CloudEvent, handler: Handler
    ) -> bool:
        try:
            await handler(event)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return await self._retry(group, record, event, handler, exc)
        return True

    async def _retry(
        self,
        group: str,
        record: RawRecord,
        event: CloudEvent,
        handler: Handler,
        error: Exception,
    ) -> bool:
        """Call ``handler`` again until it succeeds or runs out of attempts (then dead-letter).

        False when ``stop`` was set during a backoff: the event is left uncommitted.
        """
        attempt = 1
        while True:
            reason = f"{type(error).__name__}: {error}"
            if attempt >= self.settings.max_attempts:
                await self._dead(group, record, "handler", reason, attempt, event)
                return True
            delay = self._backoff(attempt)
            log.info(
                "bus: %s failed on %s %s@%d (attempt %d of %d), retrying in %.2fs: %s",
                group,
                event.type,
                record.topic,
                record.offset,
                attempt,
                self.settings.max_attempts,
                delay,
                reason,
            )
            if await self._stopped_within(delay):
                return False
            attempt += 1
            try:
                await handler(event)
                return True
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                error = exc

    def _backoff(self, attempt: int) -> float:
        base = self.settings.backoff_initial_s * 2 ** (attempt - 1)
        # Jitter so consumers failing on a shared cause do not retry in lock-step.
        return min(self.settings.backoff_max_s, base) * random.uniform(0.75, 1.0)

    async def _stopped_within(self, delay: float) -> bool:
        try:
            await asyncio.wait_for(self.stop.wait(), delay)
        except TimeoutError:
            return False
        return True

    async def _dead(
        self,
        group: str,
        record: RawRecord,
        stage: Literal["parse", "handler"],
        reason: str,
        attempts: int,
        event: CloudEvent | None,
    ) -> None:
        letter = DeadLetter.build(
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            group=group,
            stage=stage,
            reason=reason,
            attempts=attempts,
            key=record.key,
            original=record.value,
            keep_bytes=self.settings.max_event_bytes,
            event_id=event.id if event else None,
            event_type=event.type if event else None,
        )
        log.warning(
            "bus: %s@%d:%d goes to %s (%s): %s",
            record.topic,
            record.partition,
            record.offset,
            dlq_topic(record.topic),
            stage,
            letter.reason,
        )
        await self.bus._publish_raw(
            dlq_topic(record.topic), [(record.key, letter.to_bytes())], DEAD_LETTER_CONTENT_TYPE
        )
        EVENTS_PUBLISHED.labels(topic=dlq_topic(record.topic)).inc()
        EVENTS_DEAD_LETTERED.labels(topic=record.topic, stage=stage).inc()

    async def _measure(self, source: Source, group: str, records: list[RawRecord]) -> None:
        """Count what the batch handled; every few seconds, how far the group is behind."""
        if records:
            by_topic: dict[str, int] = {}
            for record in records:
                by_topic[record.topic] = by_topic.get(record.topic, 0) + 1
                self.seen[record.tp] = record.offset
            for topic, n in by_topic.items():
                EVENTS_CONSUMED.labels(topic=topic, group=group).inc(n)
        now = time.monotonic()
        if not self.seen or now - self.last_lag < LAG_INTERVAL_S:
            return
        self.last_lag = now
        try:
            ends = await source.known_ends()
        except Exception as exc:  # a metric never stops a consumer
            log.debug("bus: no lag for %s: %s", group, exc)
            return
        lag: dict[str, int] = {}
        for tp, end in (ends or {}).items():
            seen = self.seen.get(tp)
            if seen is None or not source.owns(tp):
                continue  # where the group stands on a partition it has not read from is unknown
            lag[tp[0]] = lag.get(tp[0], 0) + max(0, end - seen)
        for topic, n in lag.items():
            CONSUMER_LAG.labels(group=group, topic=topic).set(n)

    async def _maybe_commit(self, source: Source) -> None:
        if time.monotonic() - self.last_commit >= COMMIT_INTERVAL_S:
            await self._commit(source)

    async def _commit(self, source: Source) -> None:
        await source.flush()
        self.last_commit = time.monotonic()
