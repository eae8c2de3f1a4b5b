"""The indexer service: file events in, clean records in the index, saved-search matches out."""

from __future__ import annotations

import asyncio
import logging
import uuid
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from indexer.countries import countries_for_many
from seedpipe import events
from seedpipe.errors import InvalidInput
from seedpipe.events import CloudEvent
from seedpipe.gcpause import gc_paused
from seedpipe.metrics import INDEX_BATCH_SECONDS, INDEX_RECORDS
from seedpipe.query.geometry import RecordPlace, clean_records

if TYPE_CHECKING:
    from indexer.backends.base import FileIndex, UpsertResult
    from seedpipe.bus.base import EventBus
    from seedpipe.bus.deadletter import DeadLetter
    from seedpipe.records import FileRecord
    from seedpipe.settings import BusSettings, Settings

log = logging.getLogger(__name__)

GROUP = "indexer"
SOURCE = "seedpipe/indexer"
# This many full batches in a row mean the indexer is behind (a scan of an archive, a restart
# after a pause): until a batch comes back short (caught up) its records' boxes are loaded in
# bulk (the index's bulk(whole=False): the R*Tree is built once, not box by box).
BACKLOG_BATCHES = 8


@dataclass
class Stats:
    """Running totals, logged per batch and returned by ``reindex``."""

    events: int = 0
    written: int = 0
    stale: int = 0
    deleted: int = 0
    dead_lettered: int = 0
    problems: int = 0
    matched: int = 0
    skipped: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


@dataclass
class _Item:
    event: CloudEvent
    record: FileRecord
    geometry_error: str | None = None


class IndexerService:
    """Consumes ``FILES_TOPIC`` in batches as one consumer group and keeps ``index`` current.

    Every write is idempotent (the record version decides), so replays and redeliveries are safe.
    A record whose geometry is unusable is indexed without it and its event goes to the DLQ with
    the reason; so do events whose record is invalid and items the index refused.
    """

    def __init__(
        self,
        settings: Settings,
        bus: EventBus,
        index: FileIndex,
        *,
        group: str = GROUP,
        publish_matches: bool = True,
        dead_letter_problems: bool = True,
    ) -> None:
        self.settings = settings
        self.bus = bus
        self.index = index
        self.group = group
        self.publish_matches = publish_matches
        self.dead_letter_problems = dead_letter_problems
        self.topic = settings.topic(events.FILES_TOPIC)
        self.matches_topic = settings.topic(events.SUBSCRIPTIONS_TOPIC)
        self.stats = Stats()
        self._full_batches = 0
        self._backlog: AbstractAsyncContextManager[None] | None = None

    async def run(self, stop: asyncio.Event, *, until_caught_up: bool = False) -> None:
        """Index file events until ``stop`` is set (or, with ``until_caught_up``, the log's end)."""
        if self.publish_matches and await self.index.needs_replay():
            await self._replay(stop)
        log.info("indexer consuming %s as group %s", self.topic, self.group)
        try:
            await self.bus.consume_batches(
                [self.topic],
                self.group,
                self.handle_batch,
                stop=stop,
                max_batch=self.settings.bus.batch_size,
                from_beginning=True,
                until_caught_up=until_caught_up,
            )
        finally:
            await self._caught_up()

    async def _behind(self, batch_size: int) -> None:
        """Count full batches in a row; past BACKLOG_BATCHES, load in bulk until caught up."""
        if batch_size < self.settings.bus.batch_size:
            self._full_batches = 0
            await self._caught_up()
            return
        self._full_batches += 1
        if self._backlog is None and self._full_batches >= BACKLOG_BATCHES:
            load = self.index.bulk(whole=False)
            await load.__aenter__()
            self._backlog = load
            log.info("indexer behind: loading in bulk until caught up", extra={"group": self.group})

    async def _caught_up(self) -> None:
        load, self._backlog = self._backlog, None
        if load is not None:
            await load.__aexit__(None, None, None)
            log.info("indexer caught up: bulk load ended", extra={"group": self.group})

    async def _replay(self, stop: asyncio.Event) -> None:
        """Rebuild an index that was started over (a layout upgrade) from the whole log, once.

        Its saved-search matches were announced the first time round, so none are published,
        and problems are logged rather than dead-lettered again.
        """
        group = f"{self.group}-replay-{uuid.uuid4().hex[:12]}"
        log.warning("indexer replaying %s into a rebuilt index as group %s", self.topic, group)
        replay = IndexerService(
            self.settings, self.bus, self.index, group=group, publish_matches=False,
            dead_letter_problems=False,
        )  # fmt: skip
        async with self.index.bulk():  # a whole log into an empty index: one bulk load
            await replay.run(stop, until_caught_up=True)
        if not stop.is_set():
            await self.index.replay_done()
            log.info("index rebuilt from the event log", extra={"written": replay.stats.written})

    async def handle_batch(self, batch: list[CloudEvent]) -> None:
        """Index one batch; raises only when the index itself fails (the bus then retries)."""
        await self._behind(len(batch))
        self.stats.events += len(batch)
        with gc_paused():  # ~40 short-lived objects an event: collections would be pure cost
            upserts, deletes, dead = self._records(batch)
            items = list(upserts.values())
            places = self._clean(items)
        written: list[FileRecord] = []
        if items:
            with INDEX_BATCH_SECONDS.time():
                results = await self.index.upsert([i.record for i in items], places)
            self._count(results)
            for item, result in zip(items, results, strict=True):
                if result.status == "error":
                    dead.append((item.event, f"index refused the record: {result.reason}"))
                elif result.status == "written":
                    written.append(item.record)
                    # Only a written record reports its geometry: a stale replay changed nothing.
                    reason = item.geometry_error or result.geometry_error
                    if reason:
                        dead.append(
                            (item.event, f"unusable geometry, indexed without it: {reason}")
                        )
        for item in deletes:
            result = await self.index.delete(item.record.id, item.record.version)
            self._count([result])
            if result.status == "error":
                dead.append((item.event, f"index refused the delete: {result.reason}"))
            elif result.status == "written":
                self.stats.deleted += 1
        self.stats.problems += len(dead)
        if dead and self.dead_letter_problems:
            await self._dead_letter(dead)
        elif dead:
            for event, reason in dead:
                log.warning("event %s (file %s): %s", event.id, event.subject, reason)
        if written and self.publish_matches:
            await self._announce(written)
        log.info(
            "indexed batch",
            extra={
                "events": len(batch),
                "written": len(written),
                "dead_lettered": len(dead),
                "total_written": self.stats.written,
            },
        )

    def _records(
        self, batch: list[CloudEvent]
    ) -> tuple[dict[str, _Item], list[_Item], list[tuple[CloudEvent, str]]]:
        """The batch's upserts (the newest version of each file), deletes and invalid events."""
        upserts: dict[str, _Item] = {}
        deletes: list[_Item] = []
        dead: list[tuple[CloudEvent, str]] = []
        for event in batch:
            if event.type not in events.FILE_EVENT_TYPES:
                self.stats.skipped += 1
                continue
            try:
                record = event.file_record()
            except InvalidInput as exc:
                dead.append((event, f"invalid file record: {exc}"))
                continue
            item = _Item(event, record)
            if event.type == events.FILE_DELETED:
                deletes.append(item)
                continue
            # Within one batch only the newest version of a file can win; older ones are stale.
            kept = upserts.get(record.id)
            if kept is None or kept.record.version < record.version:
                upserts[record.id] = item
            else:
                self.stats.stale += 1
        return upserts, deletes, dead

    def _clean(self, items: list[_Item]) -> list[RecordPlace]:
        """Geometry hygiene, center points and countries, before anything is written.

        The places are handed to the index with the records, so it does not clean them again.
        """
        places = clean_records([i.record for i in items])
        derived = countries_for_many([p.clean.shape if p.clean else None for p in places])
        for item, place, codes in zip(items, places, derived, strict=True):
            record = item.record
            update: dict[str, object] = {}
            if place.clean is not None:
                update["geometry"] = place.clean.geojson
                update["countries"] = codes or record.countries
            elif record.geometry is not None:
                update["geometry"] = None
            if place.center != record.center_point:
                update["center_point"] = place.center
            if update:
                item.record = record.model_copy(update=update)
            item.geometry_error = place.error
        return places

    def _count(self, results: list[UpsertResult]) -> None:
        """The stats and the records metric for index results (bumped once per status)."""
        statuses: dict[str, int] = {}
        for result in results:
            statuses[result.status] = statuses.get(result.status, 0) + 1
        by = self.stats.by_status
        for status, n in statuses.items():
            INDEX_RECORDS.labels(status=status).inc(n)
            by[status] = by.get(status, 0) + n
        self.stats.written += statuses.get("written", 0)
        self.stats.stale += statuses.get("stale", 0)

    async def _dead_letter(self, dead: list[tuple[CloudEvent, str]]) -> None:
        letters = []
        for event, reason in dead:
            log.warning("dead-lettering event %s (file %s): %s", event.id, event.subject, reason)
            letters.append(dead_letter(event, reason, self.topic, self.group, self.settings.bus))
        # The bus's own DLQ format, so `seedpipe events` and bus.dead_letters() read these too.
        await self.bus.publish_dead_letters(self.topic, letters)
        self.stats.dead_lettered += len(letters)

    async def _announce(self, records: list[FileRecord]) -> None:
        out: list[CloudEvent] = []
        for record in records:
            for sub in await self.index.match_subscriptions(record):
                out.append(matched_event(sub.id, sub.name, record))
        if out:
            await self.bus.publish_many(self.matches_topic, out)
            self.stats.matched += len(out)


def dead_letter(
    event: CloudEvent, reason: str, topic: str, group: str, settings: BusSettings
) -> DeadLetter:
    """A DLQ entry for an event the indexer handled only in part (or refused).

    A batch handler does not see log positions, so ``partition`` and ``offset`` are 0; the
    event id, type, key and bytes identify the event.
    """
    from seedpipe.bus.deadletter import DeadLetter

    return DeadLetter.build(
        topic=topic,
        partition=0,
        offset=0,
        group=group,
        stage="handler",
        reason=reason,
        attempts=1,
        key=event.key.encode("utf-8"),
        original=event.to_bytes(),
        keep_bytes=settings.max_event_bytes,
        event_id=event.id,
        event_type=event.type,
    )


def matched_event(subscription_id: str, name: str, record: FileRecord) -> CloudEvent:
    """``seedpipe.subscription.matched``: which saved search, and the record (subject = its id)."""
    return CloudEvent(
        type=events.SUBSCRIPTION_MATCHED,
        source=SOURCE,
        subject=record.id,
        data={
            "subscription": {"id": subscription_id, "name": name},
            "record": record.model_dump(mode="json"),
        },
    )


async def reindex(settings: Settings, *, index_url: str | None = None) -> Stats:
    """Rebuild an index from the event log: a fresh consumer group reads it all, once.

    Saved-search matches are not announced again (downstream jobs already ran for them), and
    problems are logged, not dead-lettered again (the first pass did that).
    """
    from indexer.backends import open_index
    from seedpipe.bus import open_bus

    index_settings = settings.index
    if index_url is not None:
        index_settings = settings.index.model_copy(update={"url": index_url})
    group = f"reindex-{uuid.uuid4().hex[:12]}"
    async with open_bus(settings.bus) as bus, open_index(index_settings) as index:
        service = IndexerService(
            settings, bus, index, group=group, publish_matches=False, dead_letter_problems=False
        )
        async with index.bulk():
            await service.run(asyncio.Event(), until_caught_up=True)
    log.info("reindex done", extra={"written": service.stats.written, "group": group})
    return service.stats
