"""Fixtures for ingest tests: a drop directory, a file workspace and a strike running on them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from ingest.drops.local import LocalDrop
from ingest.ledger import Ingest, Ledger
from ingest.strike import Strike
from seedpipe.events import CloudEvent
from seedpipe.settings import Settings
from seedpipe.workspaces import open_workspaces


class Env:
    """A drop, a workspace, a ledger and a way to build and run strikes on them."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.drop = tmp / "drop"
        self.ws = tmp / "ws"
        self.drop.mkdir()
        self.ledger = Ledger(tmp / "data" / "ingest.db")

    def settings(self, **strike: Any) -> Settings:
        base = {"name": "s", "drop": str(self.drop), "workspace": "ws", "settle_s": 0.1}
        return Settings(
            config_dir=str(self.tmp),
            data_dir=str(self.tmp / "data"),
            workspaces={"ws": {"url": str(self.ws)}, "other": {"url": str(self.tmp / "other")}},
            strikes=[{**base, **strike}],
        )

    def strike(self, **strike: Any) -> Strike:
        s = self.settings(**strike)
        cfg = s.strikes[0]
        drop = LocalDrop(cfg.drop, self.drop, polling=cfg.polling, poll_interval_s=0.1)
        return Strike(cfg, drop, open_workspaces(s), self.ledger, topic="seedpipe.files")

    @asynccontextmanager
    async def running(self, strike: Strike) -> AsyncIterator[Strike]:
        stop = asyncio.Event()
        task = asyncio.create_task(strike.run(stop))
        try:
            yield strike
        finally:
            stop.set()
            await task

    async def until(self, done: Callable[[], bool], timeout: float = 20.0) -> None:
        """Wait for a condition; a timeout here means the ingest never happened."""
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met; ledger: {self.ledger.counts()}")
            await asyncio.sleep(0.02)

    def final(self) -> int:
        return sum(
            n
            for s, n in self.ledger.counts().items()
            if s in ("INGESTED", "ERRORED", "DEFERRED", "DUPLICATE")
        )

    def rows(self, status: str | None = None) -> list[Ingest]:
        return self.ledger.find(status=status, limit=100_000, newest_first=False)

    def events(self) -> list[CloudEvent]:
        return [CloudEvent.from_bytes(e.event) for e in self.ledger.outbox(limit=100_000)]


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    e = Env(tmp_path)
    yield e
    e.ledger.close()
