"""The capture service: trigger events become job records, run within the worker's resources.

Library entry point (``seedpipe up`` and ``seedpipe capture`` call it)::

    async with open_bus(settings.bus) as bus:
        await CaptureService(settings, bus, index).run(stop)   # returns once ``stop`` is set

Jobs live in ``settings.path("jobs.db")``; the consumer group is ``capture``. A job's id is
derived from (trigger, file id), so a replayed event never creates a second job in one store.
When a trigger event's offset is committed depends on ``capture.commit``:

- ``queued`` (``auto`` on the SQLite bus): once its job records exist in this copy's store. A
  copy whose store survives restarts (``seedpipe up``) finds its queued and running jobs again.
- ``finished`` (``auto`` on Kafka): only once every job it created is completed or failed for
  good (a retry waiting out its backoff is not). ``capture.consumers`` members of the group each
  hold one event while its jobs run; the scheduler still fits jobs to cpus and memory. A copy
  that is stopped or lost leaves its events uncommitted, so the group hands them to another copy
  (with its own store), which runs the jobs again; products keep their deterministic ids.
  Kafka's ``max_poll_interval_ms`` must exceed the longest job timeout x attempts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from capture.batches.store import BatchStore
from capture.context import Context, job_event
from capture.jobs import TERMINAL, Job, JobStore, job_id_for
from capture.jobtypes import JobType, load_job_types
from capture.recipes.engine import RecipeEngine
from capture.recipes.store import RecipeStore, recipe_id_for
from capture.recipes.types import RecipeType, load_recipe_types
from capture.revisions import check_recipe_revisions, register_all
from capture.runtimes.lifeline import reap_group, remove_container
from capture.scheduler import IDLE_WAKE_S, JobScheduler
from capture.triggers import Trigger, compile_triggers
from seedpipe.events import (
    FILES_TOPIC,
    JOB_QUEUED,
    SUBSCRIPTION_MATCHED,
    SUBSCRIPTIONS_TOPIC,
    CloudEvent,
)
from seedpipe.settings import Settings
from seedpipe.supervisor import supervise
from seedpipe.workspaces import Workspaces

if TYPE_CHECKING:
    from seedpipe.bus.base import EventBus
    from seedpipe.catalogue import CatalogueReader

log = logging.getLogger(__name__)

GROUP = "capture"


def commit_mode(settings: Settings) -> str:
    """``queued`` or ``finished``: when a trigger event's offset may be committed."""
    mode = settings.capture.commit
    if mode == "auto":
        return "finished" if settings.bus.url.startswith("kafka") else "queued"
    return mode


def consumer_count(settings: Settings) -> int:
    """Group members one copy runs in ``finished`` mode: no more than there are partitions."""
    bus = settings.bus
    partitions = bus.kafka.partitions if bus.url.startswith("kafka") else bus.sqlite.partitions
    wanted = settings.capture.consumers or max(1, int(settings.capture.cpus))
    return max(1, min(wanted, partitions))


class CaptureService(JobScheduler):
    """Consumes trigger events as group ``capture`` and runs the jobs they create."""

    def __init__(
        self,
        settings: Settings,
        bus: EventBus,
        index: CatalogueReader | None = None,
        *,
        job_types: dict[str, JobType] | None = None,
        recipe_types: dict[str, RecipeType] | None = None,
    ) -> None:
        self.settings = settings
        self.bus = bus
        self.index = index
        self.job_types = job_types if job_types is not None else load_job_types(settings)
        self.recipe_types = (
            recipe_types
            if recipe_types is not None
            else load_recipe_types(settings, self.job_types)
        )
        accepts = {
            (jt.name, i.name): i.media_types
            for jt in self.job_types.values()
            for i in jt.inputs.values()
        }
        recipe_accepts = {
            (rt.name, f.name): tuple(f.media_types)
            for rt in self.recipe_types.values()
            for f in rt.definition.input.files
        }
        self.triggers: list[Trigger] = compile_triggers(settings.triggers, accepts, recipe_accepts)
        self.store = JobStore(settings.path("jobs.db"))
        self.revisions = register_all(self.store.path, self.job_types)
        check_recipe_revisions(self.store.path, self.recipe_types, self.revisions)
        self.recipes = RecipeStore(settings.path("recipes.db"))
        self.batches = BatchStore(settings.path("batches.db"))
        self.ctx = Context(settings, bus, index, self.store, Workspaces(settings), self.job_types)
        self.ctx.revisions = self.revisions
        self._wake = asyncio.Event()
        self._batch_wake = asyncio.Event()
        self.engine = RecipeEngine(
            self.ctx,
            self.recipes,
            self.recipe_types,
            wake=self._wake.set,
            settled=lambda: self._job_ended(),
        )
        self._followers: set[asyncio.Task[None]] = set()
        self._running: dict[str, asyncio.Task[None]] = {}
        self._per_type: dict[str, int] = {}
        self._used_cpus = 0.0
        self._used_mem = 0.0
        self._stop = asyncio.Event()
        self._settled = asyncio.Event()  # replaced each time a job ends, so waiters re-check

    async def handle(self, event: CloudEvent) -> None:
        """Create a queued job for every trigger the event fires (idempotent)."""
        await self._queue(event)

    async def handle_until_finished(self, event: CloudEvent) -> None:
        """Queue the event's jobs, then return only once all of them are terminal.

        On stop it never returns: it cancels its own consume task, which the consumer loop
        takes as "redeliver the event in hand" (an exception would mean retry, then DLQ).
        """
        ids = await self._queue(event)
        while not all(self._terminal(i) for i in ids):
            if self._stop.is_set():
                task = asyncio.current_task()
                if task is not None:
                    task.cancel()
                await asyncio.sleep(0)  # raises CancelledError here
            waits = [
                asyncio.ensure_future(self._settled.wait()),
                asyncio.ensure_future(self._stop.wait()),
            ]
            try:
                await asyncio.wait(waits, timeout=IDLE_WAKE_S, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in waits:
                    w.cancel()

    def _terminal(self, job_id: str) -> bool:
        if job_id.startswith("recipe:"):
            recipe = self.recipes.get(job_id.removeprefix("recipe:"))
            return recipe is None or recipe.status in TERMINAL
        job = self.store.get(job_id)
        return job is None or job.status in TERMINAL

    async def _queue(self, event: CloudEvent) -> list[str]:
        ids: list[str] = []
        for trig in self.triggers:
            record = trig.match(event)
            if record is None:
                continue
            if trig.recipe_type is not None:
                recipe, _ = await self.engine.start(
                    trig.recipe_type,
                    {trig.input_name: [record]},
                    recipe_id=recipe_id_for(trig.name, record.id),
                    trigger=trig.name,
                    event_id=event.id,
                )
                ids.append(f"recipe:{recipe.id}")
                continue
            jt = self.job_types[str(trig.job_type)]
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
                job_type_revision=self.revisions.get(jt.name),
            )
            ids.append(job.id)
            if self.store.create(job):
                log.info("job %s queued: %s on %s", job.id, jt.name, record.file_name)
                await self.ctx.publish_job(JOB_QUEUED, job)
                self._wake.set()
        return ids

    async def run(self, stop: asyncio.Event) -> None:
        """Recover interrupted jobs, then consume and schedule until ``stop`` is set."""
        await asyncio.to_thread(reap_orphans, self.store)
        recovered = self.store.recover()
        if recovered:
            log.info("capture: requeued %d jobs a previous run left running", recovered)
        carried = await self.engine.reconcile()
        if carried:
            log.info("capture: carrying on %d unfinished recipes", carried)
        topics = [self.settings.topic(FILES_TOPIC)]
        if any(SUBSCRIPTION_MATCHED in t.events for t in self.triggers):
            topics.append(self.settings.topic(SUBSCRIPTIONS_TOPIC))
        self._stop = stop
        mode = commit_mode(self.settings)
        if mode == "finished":
            handler, members = self.handle_until_finished, consumer_count(self.settings)
        else:
            handler, members = self.handle, 1
        work: dict[str, Any] = {
            f"consumer {i}": self.bus.consume(topics, GROUP, handler, stop=stop)
            for i in range(members)
        }
        work["scheduler"] = self._schedule(stop)
        if self.index is not None:
            work["batches"] = self._plan_batches(stop)
        log.info(
            "capture: %d job types, %d triggers, commits when %s (%d consumers)",
            len(self.job_types),
            len(self.triggers),
            mode,
            members,
        )
        try:
            # A consumer cancelled by its waiting handler on stop is not a failure.
            await supervise(work, stop, any_end_stops=False, cancel=True)
        finally:
            self._wake.set()
            await self._cancel_running()
            for f in list(self._followers):
                f.cancel()
            await asyncio.gather(*self._followers, return_exceptions=True)
            self.store.close()
            self.recipes.close()
            self.batches.close()

    async def _plan_batches(self, stop: asyncio.Event) -> None:
        """Plan batches recorded as planning (new ones, and those a restart finds half
        planned), one page at a time so the queue fills as the catalogue is walked."""
        from capture.batches.planner import plan

        assert self.index is not None
        while not stop.is_set():
            for batch_id in self.batches.planning():
                if stop.is_set():
                    return
                try:
                    await plan(
                        batch_id,
                        self.batches,
                        self.store,
                        self.index,
                        self.job_types,
                        queued=self._wake.set,
                        stop=stop,
                        engine=self.engine,
                    )
                except Exception:
                    log.exception("batch %s could not be planned; trying again", batch_id)
            self._batch_wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._batch_wake.wait(), IDLE_WAKE_S)

    def plan_soon(self) -> None:
        """A batch was recorded: plan it now rather than at the next poll."""
        self._batch_wake.set()

    def wake(self) -> None:
        """Have the scheduler look at the queue now (a job was queued from outside)."""
        self._wake.set()

    def cancel(self, job_id: str, by: str) -> Job:
        """Cancel a queued or running job of this service's store (see JobStore.cancel)."""
        job = self.store.cancel(job_id, by)
        self._wake.set()
        return job

    def counts(self) -> dict[str, int]:
        return self.store.counts()


__all__ = ["GROUP", "CaptureService", "commit_mode", "consumer_count", "job_event"]


def reap_orphans(store: JobStore) -> int:
    """Kill what a killed supervisor's running jobs left alive, before they are requeued: a
    job is never run twice at once, nor in a directory a process of its last attempt uses."""
    killed = 0
    for job_id, started in store.running_processes():
        n = reap_group(started.pgid, started.start)
        if n:
            log.warning("job %s: killed %d processes its interrupted run left alive", job_id, n)
            killed += n
        if started.container and remove_container(started.container):
            log.warning(
                "job %s: removed container %s of its interrupted run", job_id, started.container
            )
            killed += 1
        store.clear_process(job_id)
    return killed
