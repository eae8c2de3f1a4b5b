"""One strike: notice complete files in a drop, plan and place each once, record and queue events.

Every file goes QUEUED -> INGESTING (the plan: action, target, checksum, file id, committed before
any file is touched) -> a final status committed together with its event in the outbox. Executing
a plan is idempotent, so after a crash ``recover`` simply executes the INGESTING plans again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from ingest import executor, planner
from ingest.completeness import SettleTracker, is_hidden, transfer_suffix
from ingest.drops.base import ERRORED_AREA, Drop
from ingest.executor import OutboxRow
from ingest.ledger import Ingest, Ledger, Status
from ingest.rules import compile_rules
from ingest.targets import Targets
from ingest.transfers import Transfers
from seedpipe.log import escape
from seedpipe.metrics import count_ingest
from seedpipe.settings import StrikeSettings
from seedpipe.supervisor import supervise
from seedpipe.workspaces.base import Workspace

log = logging.getLogger(__name__)

BATCH = 500


async def wait_any(events: Sequence[asyncio.Event], seconds: float | None) -> None:
    """Return when any of ``events`` is set or ``seconds`` passed."""
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()


@dataclass(slots=True)
class Ready:
    source: str
    size: int
    mtime_ns: int
    first_seen: float
    complete: float
    row: Ingest | None = None  # its TRANSFERRING ingest, when one was recorded


class Strike:
    """Runs one configured strike against its drop, writing to ``ledger``."""

    def __init__(
        self,
        settings: StrikeSettings,
        drop: Drop,
        workspaces: dict[str, Workspace],
        ledger: Ledger,
        *,
        topic: str,
        on_events: Callable[[], None] = lambda: None,
        rescan_s: float = 60.0,
    ) -> None:
        self.settings = settings
        self.name = settings.name
        self.drop = drop
        self.workspaces = workspaces
        self.ledger = ledger
        self.topic = topic
        self.on_events = on_events
        self.rescan_s = rescan_s
        self.rules = compile_rules(settings)
        self.tracker = SettleTracker(settings.settle_s if drop.settles else 0.0)
        self.source_uri = f"seedpipe/ingest/{self.name}"
        self._busy: set[str] = set()
        self._again: set[str] = set()
        self._ready: list[Ready] = []
        self.transfers = Transfers(self.name, ledger)
        self.kept: dict[str, tuple[int, int]] = {}  # refused files that could not be moved aside
        self._wake = asyncio.Event()
        self._tick = asyncio.Event()
        self._rescan_wanted = asyncio.Event()
        self.rescans = 0  # completed rescans, for status and tests
        self.targets = Targets()  # confined paths, per batch
        self._undecodable: set[str] = set()  # names not UTF-8, being set aside
        self._emptied: dict[str, float] = {}  # drop directories files left, and since when
        self._refusals: set[asyncio.Future[None]] = set()

    # --- noticing files -------------------------------------------------------------------
    def touched(self, rel: str) -> None:
        """A file may have appeared or changed (from the watcher or a rescan)."""
        if is_hidden(rel):
            return
        if rel in self._busy:
            self._again.add(rel)  # a new file may have taken the name: look once it is done
            return
        try:
            rel.encode("utf-8")
        except UnicodeEncodeError:
            if rel not in self.kept and rel not in self._undecodable:
                self._undecodable.add(rel)
                task = asyncio.ensure_future(asyncio.to_thread(self._refuse_undecodable, rel))
                self._refusals.add(task)
                task.add_done_callback(self._refusals.discard)
            return
        now = time.time()
        suffix = transfer_suffix(rel, self.settings.transfer_suffixes)
        if suffix:
            # TRANSFERRING under the name it will end with; ingested once renamed to it.
            self.transfers.started(rel[: -len(suffix)], now)
            return
        if not self.drop.settles:
            self._make_ready(Ready(rel, 0, 0, now, now))
            return
        st = self.drop.stat(rel)
        if st is None:
            self.tracker.forget(rel)
            self.transfers.vanished(rel)
            return
        if self.kept.get(rel) == (st.size, st.mtime_ns):
            return
        if st.kind != "file":
            self.transfers.vanished(rel)
            self._make_ready(Ready(rel, st.size, st.mtime_ns, now, now))  # refused at once
            return
        self.transfers.started(rel, now)
        self.tracker.seen(rel, st.size, st.mtime_ns, now)
        self._tick.set()

    def _refuse_undecodable(self, rel: str) -> None:
        """A name that is not UTF-8 cannot be a record's name: set the file aside under its
        escaped name (bytes as ``\\xNN``) and record that as an ERRORED ingest, so ``ingests
        list`` shows it. Moved before it is recorded: a crash between leaves it aside."""
        shown = escape(rel)
        st = self.drop.stat(rel)
        try:
            if st is None:
                return
            row = Ingest(strike=self.name, source=shown, status=Status.ERRORED, mode="reject")
            row.source_size, row.source_mtime_ns = st.size, st.mtime_ns
            row.queued = row.ingest_started = time.time()
            try:
                aside = self.drop.set_aside(rel, ERRORED_AREA, shown)
                row.reason = f"the name is not UTF-8; set aside as {aside}"
                self.left(rel)
            except OSError as exc:
                self.kept[rel] = (st.size, st.mtime_ns)
                row.reason = f"the name is not UTF-8; left in place ({exc.strerror or exc})"
            row.ingest_ended = time.time()
            self.ledger.add([row])
            log.warning("strike %s: refused %s: %s", self.name, shown, row.reason)
        finally:
            self._undecodable.discard(rel)

    def left(self, rel: str) -> None:
        """``rel`` has left the drop (placed, set aside or deleted); its directory, and theirs,
        are removed once empty and settled: nested drops leave no empty directories."""
        parent = os.path.dirname(rel)
        if parent:
            self._emptied.setdefault(parent, time.time())

    def _prune(self, now: float) -> None:
        settle = self.settings.settle_s
        for reldir, since in list(self._emptied.items()):
            if now - since < settle:
                continue
            del self._emptied[reldir]
            if self.drop.prune_dir(reldir, settle):
                parent = os.path.dirname(reldir)
                if parent:
                    self._emptied.setdefault(parent, since)

    def rescan(self) -> None:
        self._rescan_wanted.set()

    def _make_ready(self, item: Ready) -> None:
        self._busy.add(item.source)
        self._ready.append(item)
        self._wake.set()

    async def _settle_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.transfers.flush()
            now = time.time()
            if self._emptied:
                self._prune(now)
            for rel in self.tracker.due(now):
                st = self.drop.stat(rel)
                if st is None:
                    self.tracker.forget(rel)
                    self.transfers.vanished(rel)
                    continue
                first = self.tracker.confirm(rel, st.size, st.mtime_ns, now)
                if first is not None:
                    row = self.transfers.take(rel)
                    if row is not None and row.transfer_started is not None:
                        first = min(first, row.transfer_started)
                    self._make_ready(Ready(rel, st.size, st.mtime_ns, first, now, row))
            deadline = self.tracker.next_deadline()
            wait = 0.5 if deadline is None else min(0.5, max(0.005, deadline - time.time()))
            self._tick.clear()
            await wait_any([self._tick, stop], wait)

    async def _rescan_loop(self, stop: asyncio.Event) -> None:
        """Diff the drop against what is known: on start-up, after lost events, periodically."""
        self._rescan_wanted.set()
        while not stop.is_set():
            await wait_any([self._rescan_wanted, stop], self.rescan_s)
            self._rescan_wanted.clear()
            if stop.is_set():
                return
            rels = await asyncio.to_thread(lambda: list(self.drop.scan()))
            log.debug("strike %s: rescan found %d files", self.name, len(rels))
            for i, rel in enumerate(rels):
                self.touched(rel)
                if i % 1000 == 999:
                    await asyncio.sleep(0)
            self.transfers.prune(rels, self.settings.transfer_suffixes)
            self.rescans += 1

    # --- ingesting ------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Recover half-done ingests, then watch and ingest until ``stop`` is set."""
        await self.recover()
        try:
            await supervise(
                {
                    "watch": self.drop.watch(self.touched, self.rescan, stop),
                    "settle": self._settle_loop(stop),
                    "rescan": self._rescan_loop(stop),
                    "ingest": self._ingest_loop(stop),
                },
                stop,
                any_end_stops=False,
            )
        finally:
            await asyncio.gather(*self._refusals, return_exceptions=True)

    async def _ingest_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if not self._ready:
                self._wake.clear()
                await wait_any([self._wake, stop], None)
                continue
            batch, self._ready = self._ready[:BATCH], self._ready[BATCH:]
            await self.ingest(batch)

    async def ingest(self, batch: Sequence[Ready]) -> list[Ingest]:
        """Ingest a batch of complete files; returns their ingests with final statuses."""
        now = time.time()
        rows = []
        for r in batch:
            row = r.row or Ingest(strike=self.name, source=r.source)
            row.status, row.source_size, row.source_mtime_ns = Status.QUEUED, r.size, r.mtime_ns
            row.transfer_started, row.transfer_ended, row.queued = r.first_seen, r.complete, now
            rows.append(row)
        try:
            rows, events = await asyncio.to_thread(self._ingest_sync, rows)
        finally:
            self.targets.clear()
            for r in batch:
                self._busy.discard(r.source)
            for r in batch:
                if r.source in self._again:
                    self._again.discard(r.source)
                    self.touched(r.source)
        if events:
            self.on_events()
        return rows

    def _ingest_sync(self, rows: list[Ingest]) -> tuple[list[Ingest], list[OutboxRow]]:
        # One thread hop per batch: claim, queue, plan, commit the plans, execute, commit the
        # outcome. A file another copy of this strike claimed is left to it.
        if self.drop.leases:
            with ThreadPoolExecutor(max_workers=16) as pool:
                won = list(pool.map(self.drop.claim, [r.source for r in rows]))
            lost = [r for r, ok in zip(rows, won, strict=True) if not ok]
            if lost:
                log.info("strike %s: %d files taken by another copy", self.name, len(lost))
                self.ledger.remove([r.id for r in lost if r.id is not None])
                rows = [r for r, ok in zip(rows, won, strict=True) if ok]
        self.ledger.add([r for r in rows if r.id is None])
        self._plan_all(rows)
        self.ledger.remove([r.id for r in rows if r.status is Status.QUEUED and r.id is not None])
        rows = [r for r in rows if r.status is not Status.QUEUED]
        self.ledger.update(rows)
        events = self._execute_all(rows)
        self.ledger.update(rows, events)
        for row in rows:
            count_ingest(row.strike, str(row.status))
        if self.drop.leases:
            with ThreadPoolExecutor(max_workers=16) as pool:
                list(pool.map(self.drop.release, [r.source for r in rows]))
        return rows, events

    async def recover(self) -> None:
        """Finish the plans a crash interrupted; forget ingests that had no plan yet."""
        active = await asyncio.to_thread(self.ledger.active, self.name)
        unplanned = [r.id for r in active if r.status is not Status.INGESTING and r.id]
        planned = [r for r in active if r.status is Status.INGESTING]
        await asyncio.to_thread(self.ledger.remove, unplanned)
        if planned:
            log.info("strike %s: finishing %d interrupted ingests", self.name, len(planned))
            events = await asyncio.to_thread(self._execute_all, planned)
            await asyncio.to_thread(self.ledger.update, planned, events)
            for row in planned:
                count_ingest(row.strike, str(row.status))
            if events:
                self.on_events()

    def _plan_all(self, rows: list[Ingest]) -> None:
        taken: dict[tuple[str, str], Ingest] = {}
        when = datetime.now(UTC)
        for row in rows:
            try:
                planner.plan(self, row, taken, when)
            except Exception as exc:
                # One odd file must not stop the strike: refuse it and say why.
                log.exception("strike %s: planning %r failed", self.name, row.source)
                row.status, row.mode = Status.INGESTING, "reject"
                row.reason = f"internal error while planning: {type(exc).__name__}: {exc}"

    def _execute_all(self, rows: list[Ingest]) -> list[OutboxRow]:
        return executor.execute_all(self, rows)

    def _execute(self, row: Ingest) -> None:
        executor.execute(self, row)
