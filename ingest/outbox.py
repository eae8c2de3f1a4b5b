"""The outbox publisher: events committed with their ingests reach the bus exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid

from ingest.ledger import Ledger, OutboxEvent
from seedpipe.bus.base import EventBus
from seedpipe.events import CloudEvent
from seedpipe.settings import BusSettings

log = logging.getLogger(__name__)

PUBLISH_BATCH = 1000


async def published_ids(bus: EventBus, topic: str, wanted: set[str]) -> set[str]:
    """Which of ``wanted`` event ids are already on ``topic`` (read with a fresh group).

    Only needed after a crash between publishing and marking the events sent.
    """
    found: set[str] = set()

    async def handler(events: list[CloudEvent]) -> None:
        found.update(e.id for e in events if e.id in wanted)

    group = f"seedpipe-ingest-probe-{uuid.uuid4().hex[:12]}"
    await bus.consume_batches([topic], group, handler, max_batch=1000, until_caught_up=True)
    return found


class Outbox:
    """Moves events pending -> inflight -> sent; only inflight ones can be on the bus unsent."""

    def __init__(self, ledger: Ledger, bus: EventBus, settings: BusSettings) -> None:
        self.ledger = ledger
        self.bus = bus
        self.settings = settings
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def settle_inflight(self, topic: str) -> None:
        """Events a crash left 'inflight' may be on the bus already: publish only the others."""
        inflight = await asyncio.to_thread(self.ledger.outbox, "inflight", 1_000_000)
        if not inflight:
            return
        by_id = {e.event_id: e for e in inflight}
        found = await published_ids(self.bus, topic, set(by_id))
        log.info("ingest: %d of %d in-flight events were published", len(found), len(inflight))
        sent = [by_id[i] for i in found]
        await asyncio.to_thread(self.ledger.mark_sent, sent, time.time())
        await asyncio.to_thread(
            self.ledger.mark_pending, [e for e in inflight if e.event_id not in found]
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Publish pending events until ``stop`` is set, then once more."""
        backoff = self.settings.backoff_initial_s
        while True:
            final = stop.is_set()
            self._wake.clear()  # before reading the outbox, so no wake-up is missed
            try:
                while await self.publish_batch():
                    pass
                backoff = self.settings.backoff_initial_s
            except Exception as exc:
                if final:
                    log.error("ingest: events left in the outbox for the next start: %s", exc)
                    return
                log.warning("ingest: publishing failed, retrying in %.1fs: %s", backoff, exc)
                await asyncio.sleep(backoff)
                backoff = min(self.settings.backoff_max_s, max(0.05, backoff * 2))
                continue
            if final:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.5)

    async def publish_batch(self) -> bool:
        """Publish up to PUBLISH_BATCH pending events; False when there were none."""
        batch = await asyncio.to_thread(self.ledger.outbox, "pending", PUBLISH_BATCH)
        if not batch:
            return False
        await asyncio.to_thread(self.ledger.mark_inflight, batch)
        try:
            await self._send(batch)
        except Exception:
            # The bus refused: nothing of this batch is on it; try it again later.
            await asyncio.to_thread(self.ledger.mark_pending, batch)
            raise
        await asyncio.to_thread(self.ledger.mark_sent, batch, time.time())
        return True

    async def _send(self, batch: list[OutboxEvent]) -> None:
        topics: dict[str, list[CloudEvent]] = {}
        for e in batch:
            topics.setdefault(e.topic, []).append(CloudEvent.model_validate_json(e.event))
        for topic, events in topics.items():
            await self.bus.publish_many(topic, events)
