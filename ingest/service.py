"""The ingest service: every configured strike plus the outbox publisher, in one asyncio task.

Library entry point (``seedpipe up`` and ``seedpipe ingest`` call it)::

    async with open_bus(settings.bus) as bus:
        await IngestService(settings, bus).run(stop)   # returns once ``stop`` is set

The ledger lives at ``settings.path("ingest.db")``; a lock file beside it keeps a second ingest
process on the same data directory from running (it would ingest files twice).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from ingest.drops import open_drop
from ingest.ledger import Ledger
from ingest.outbox import Outbox
from ingest.strike import Strike
from seedpipe.bus.base import EventBus
from seedpipe.errors import ConfigError, IngestError
from seedpipe.events import FILES_TOPIC
from seedpipe.settings import Settings
from seedpipe.supervisor import supervise
from seedpipe.workspaces import open_workspaces
from seedpipe.workspaces.base import Workspace

log = logging.getLogger(__name__)

PUBLISH_BATCH = 1000
PROBE_IDLE_S = 1.0
PROBE_MAX_S = 30.0


@contextlib.contextmanager
def ledger_lock(ledger_path: Path) -> Iterator[None]:
    """Hold the ingest lock of a data directory; IngestError when another process has it."""
    lock_path = ledger_path.with_suffix(".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IngestError(
                f"another ingest process is running on {ledger_path}; stop it first"
            ) from None
        yield
    finally:
        os.close(fd)


class IngestService:
    """Runs the strikes of ``settings`` and publishes their events on ``bus`` (already started)."""

    def __init__(
        self,
        settings: Settings,
        bus: EventBus,
        *,
        workspaces: dict[str, Workspace] | None = None,
        strikes: Sequence[str] | None = None,
    ) -> None:
        self.settings = settings
        self.bus = bus
        self.workspaces = workspaces if workspaces is not None else open_workspaces(settings)
        self.topic = settings.topic(FILES_TOPIC)
        chosen = [s for s in settings.strikes if strikes is None or s.name in strikes]
        if strikes is not None and len(chosen) != len(set(strikes)):
            known = ", ".join(s.name for s in settings.strikes) or "none configured"
            raise ConfigError(f"unknown strike in {list(strikes)} (known: {known})")
        self.strike_settings = chosen
        self.ledger_path = settings.path("ingest.db")
        self._ledger: Ledger | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Recover, then watch, ingest and publish until ``stop`` is set."""
        self.ledger_path.parent.mkdir(parents=True, exist_ok=True)
        with ledger_lock(self.ledger_path):
            ledger = self._ledger = Ledger(self.ledger_path)
            try:
                await self._run(ledger, stop)
            finally:
                self._ledger = None
                ledger.close()

    def counts(self) -> dict[str, int]:
        """Ingests by status (Scale's names) while the service runs; empty before it starts."""
        ledger = self._ledger
        return ledger.counts() if ledger is not None else {}

    async def _run(self, ledger: Ledger, stop: asyncio.Event) -> None:
        outbox = Outbox(ledger, self.bus, self.settings.bus)
        await outbox.settle_inflight(self.topic)
        strikes = [
            Strike(
                s,
                open_drop(s),
                self.workspaces,
                ledger,
                topic=self.topic,
                on_events=outbox.wake,
                rescan_s=s.list_interval_s or 60.0,
            )
            for s in self.strike_settings
        ]
        inner = asyncio.Event()  # strikes stop on it; then the outbox publishes once more
        drained = asyncio.Event()

        async def strikes_then_drain() -> None:
            try:
                await supervise({f"strike {st.name}": st.run(inner) for st in strikes}, inner)
            finally:
                drained.set()
                outbox.wake()

        log.info("ingest: %d strikes running", len(strikes))
        try:
            await supervise(
                {"strikes": strikes_then_drain(), "outbox": outbox.run(drained)},
                stop,
                stopping=inner,
            )
        finally:
            for st in strikes:
                st.drop.close()
