"""The capture service: trigger events become job records, run within the worker's resources.

Library entry point (``seedpipe up`` and ``seedpipe capture`` call it)::

    async with open_bus(settings.bus) as bus:
        await CaptureService(settings, bus, index).run(stop)   # returns once ``stop`` is set

Jobs live in ``settings.path("jobs.db")``; the consumer group is ``capture``. A job record is
written before the event's offset is committed and its id is derived from (trigger, file id),
so a replayed event never creates a second job.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING

from capture.execute import Context, execute, fail_now, job_event
from capture.jobs import Job, JobStore, Pending, job_id_for
from capture.jobtypes import JobType, load_job_types
from capture.triggers import Trigger, compile_triggers
from seedpipe.events import (
    FILES_TOPIC,
    JOB_FAILED,
    JOB_QUEUED,
    SUBSCRIPTION_MATCHED,
    SUBSCRIPTIONS_TOPIC,
    CloudEvent,
)
from seedpipe.settings import Settings
from seedpipe.workspaces import Workspaces

if TYPE_CHECKING:
    from indexer.backends.base import FileIndex
    from seedpipe.bus.base import EventBus

log = logging.getLogger(__name__)

GROUP = "capture"
IDLE_WAKE_S = 1.0


class CaptureService:
    """Consumes trigger events as group ``capture`` and runs the jobs they create."""

    def __init__(
        self,
        settings: Settings,
        bus: EventBus,
        index: FileIndex | None = None,
        *,
        job_types: dict[str, JobType] | None = None,
    ) -> None:
        self.settings = settings
        self.bus = bus
        self.index = index
        self.job_types = job_types if job_types is not None else load_job_types(settings)
        accepts = {
            (jt.name, i.name): i.media_types
            for jt in self.job_types.values()
            for i in jt.inputs.values()
        }
        self.triggers: list[Trigger] = compile_triggers(settings.triggers, accepts)
        self.store = JobStore(settings.path("jobs.db"))
        self.ctx = Context(settings, bus, index, self.store, Workspaces(settings), self.job_types)
        self._wake = asyncio.Event()
        self._running: dict[str, asyncio.Task[None]] = {}
        self._per_type: dict[str, int] = {}
        self._used_cpus = 0.0
        self._used_mem = 0.0

    async def handle(self, event: CloudEvent) -> None:
        """Create a queued job for every trigger the event fires (idempotent)."""
        for trig in self.triggers:
            record = trig.match(event)
            if record is None:
                continue
            jt = self.job_types[trig.job_type]
            job = Job(
                id=job_id_for(trig.name, record.id),
                job_type=jt.name,
                job_type_version=jt.version,
                trigger=trig.name,
                file_id=record.id,
                event_id=event.id,
                input_name=trig.input_name,
                record=record.model_dump(mode="json"),
                max_attempts=jt.settings.max_attempts,
                cpus=jt.cpus,
                mem_mib=jt.mem_mib,
            )
            if self.store.create(job):
                log.info("job %s queued: %s on %s", job.id, jt.name, record.file_name)
                await self.ctx.publish_job(JOB_QUEUED, job)
                self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Recover interrupted jobs, then consume and schedule until ``stop`` is set."""
        recovered = self.store.recover()
        if recovered:
            log.info("capture: requeued %d jobs a previous run left running", recovered)
        topics = [self.settings.topic(FILES_TOPIC)]
        if any(SUBSCRIPTION_MATCHED in t.events for t in self.triggers):
            topics.append(self.settings.topic(SUBSCRIPTIONS_TOPIC))
        consumer = asyncio.create_task(self.bus.consume(topics, GROUP, self.handle, stop=stop))
        scheduler = asyncio.create_task(self._schedule(stop))
        log.info("capture: %d job types, %d triggers", len(self.job_types), len(self.triggers))
        try:
            done, _ = await asyncio.wait([consumer, scheduler], return_when=asyncio.FIRST_EXCEPTION)
            for t in done:
                if t.exception() is not None:
                    raise t.exception()  # type: ignore[misc]
        finally:
            stop.set()
            self._wake.set()
            for t in (consumer, scheduler):
                t.cancel()
            await asyncio.gather(consumer, scheduler, return_exceptions=True)
            await self._cancel_running()
            self.store.close()

    async def _cancel_running(self) -> None:
        """Stop jobs in hand; they are requeued, and the interrupted attempt does not count."""
        for task in self._running.values():
            task.cancel()
        await asyncio.gather(*self._running.values(), return_exceptions=True)
        self.store.recover()

    async def _schedule(self, stop: asyncio.Event) -> None:
        capture = self.settings.capture
        while not stop.is_set():
            self._wake.clear()
            # Reading the queue costs; skip it while every cpu is taken.
            pending = self.store.runnable(time.time(), limit=50) if self._has_room() else []
            for job in pending:
                if job.id in self._running:
                    continue
                jt = self.job_types.get(job.job_type)
                if jt is None:
                    why = f"job type {job.job_type!r} is no longer configured"
                    await self.ctx.publish_job(JOB_FAILED, fail_now(self.store, job.id, why))
                    continue
                if job.cpus > capture.cpus or job.mem_mib > capture.mem_mib:
                    why = (
                        f"asks for {job.cpus} cpus and {job.mem_mib} MiB; this worker offers "
                        f"{capture.cpus} cpus and {capture.mem_mib} MiB"
                    )
                    await self.ctx.publish_job(JOB_FAILED, fail_now(self.store, job.id, why))
                    continue
                if self._fits(job, jt):
                    self._start(job)
                if not self._has_room():
                    break
            # Jobs runnable now but not started wait for a finished job (which sets _wake);
            # only a retry's backoff ending later needs a timer.
            wake = self.store.next_wake(after=time.time())
            timeout = IDLE_WAKE_S if wake is None else min(IDLE_WAKE_S, wake - time.time())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    def _has_room(self) -> bool:
        capture = self.settings.capture
        return not self._running or (
            self._used_cpus < capture.cpus and self._used_mem < capture.mem_mib
        )

    def _fits(self, job: Pending, jt: JobType) -> bool:
        capture = self.settings.capture
        if self._per_type.get(jt.name, 0) >= jt.settings.max_concurrent:
            return False
        # An idle worker always takes one job, however much it asks for (it fits the totals).
        if not self._running:
            return True
        return (
            self._used_cpus + job.cpus <= capture.cpus
            and self._used_mem + job.mem_mib <= capture.mem_mib
        )

    def _start(self, job: Pending) -> None:
        log_path = str(self.ctx.settings.path("jobs", "logs", f"job_{job.id}.log"))
        running = self.store.mark_running(job.id, log_path)
        key = job.id
        self._per_type[job.job_type] = self._per_type.get(job.job_type, 0) + 1
        self._used_cpus += job.cpus
        self._used_mem += job.mem_mib
        task = asyncio.create_task(execute(self.ctx, running))
        self._running[key] = task

        def done(_: asyncio.Task[None]) -> None:
            self._running.pop(key, None)
            self._per_type[job.job_type] -= 1
            self._used_cpus -= job.cpus
            self._used_mem -= job.mem_mib
            self._wake.set()

        task.add_done_callback(done)

    def counts(self) -> dict[str, int]:
        return self.store.counts()


__all__ = ["GROUP", "CaptureService", "job_event"]
