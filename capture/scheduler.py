"""The capture service's scheduler: queued jobs started as the worker's cpus, memory and each
job type's ``max_concurrent`` allow, canceled ones stopped, and a recipe carried on once its
job ends."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING

from capture.attempt import execute, fail_now
from capture.context import Context
from capture.jobs import JobStore, Pending
from capture.jobtypes import JobType
from seedpipe.events import JOB_FAILED
from seedpipe.settings import Settings

if TYPE_CHECKING:
    from capture.recipes.engine import RecipeEngine

# The service's logger: what the scheduler logs reads as it always has.
log = logging.getLogger("capture.service")

IDLE_WAKE_S = 1.0


class JobScheduler:
    """The scheduling half of CaptureService, which sets up what it names here."""

    settings: Settings
    store: JobStore
    job_types: dict[str, JobType]
    ctx: Context
    engine: RecipeEngine
    _wake: asyncio.Event
    _stop: asyncio.Event
    _settled: asyncio.Event
    _followers: set[asyncio.Task[None]]
    _running: dict[str, asyncio.Task[None]]
    _per_type: dict[str, int]
    _used_cpus: float
    _used_mem: float

    def _job_ended(self) -> None:
        settled, self._settled = self._settled, asyncio.Event()
        settled.set()

    async def _cancel_running(self) -> None:
        """Stop jobs in hand; they are requeued, and the interrupted attempt does not count."""
        for task in self._running.values():
            task.cancel()
        await asyncio.gather(*self._running.values(), return_exceptions=True)
        self.store.recover()

    def _kill_canceled(self) -> None:
        """Stop the tasks of running jobs canceled meanwhile (by this process or another, such
        as ``seedpipe jobs cancel``); the runtime kills the job's process group."""
        for job_id in self.store.canceled_among(list(self._running)):
            task = self._running.get(job_id)
            if task is not None and not task.done():
                log.info("job %s canceled: stopping it", job_id)
                task.cancel()

    async def _schedule(self, stop: asyncio.Event) -> None:
        capture = self.settings.capture
        while not stop.is_set():
            self._wake.clear()
            self._kill_canceled()
            # Reading the queue costs; skip it while every cpu is taken.
            pending = self.store.runnable(time.time(), limit=50) if self._has_room() else []
            for job in pending:
                if job.id in self._running:
                    continue
                jt = self.job_types.get(job.job_type)
                if jt is None:
                    why = f"job type {job.job_type!r} is no longer configured"
                    await self.ctx.publish_job(JOB_FAILED, fail_now(self.store, job.id, why))
                    self._follow(job.id)
                    continue
                if job.cpus > capture.cpus or job.mem_mib > capture.mem_mib:
                    why = (
                        f"asks for {job.cpus} cpus and {job.mem_mib} MiB; this worker offers "
                        f"{capture.cpus} cpus and {capture.mem_mib} MiB"
                    )
                    await self.ctx.publish_job(JOB_FAILED, fail_now(self.store, job.id, why))
                    self._follow(job.id)
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
        # Each execution its own log (jobs show and /jobs/{id}/executions list them all).
        stamp = int(time.time() * 1000)
        log_path = str(self.ctx.settings.path("jobs", "logs", f"job_{job.id}.{stamp}.log"))
        running = self.store.mark_running(job.id, log_path)
        if running.status != "running":  # canceled between the queue read and now
            return
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
            self._follow(key)

        task.add_done_callback(done)

    def _follow(self, job_id: str) -> None:
        """After a job ends: carry its recipe on, then wake whoever waits on jobs ending."""

        async def follow() -> None:
            try:
                job = self.store.get(job_id)
                if job is not None and job.recipe is not None:
                    await self.engine.job_ended(job)
            except Exception:
                log.exception("recipe of job %s could not be carried on", job_id)
            finally:
                self._job_ended()

        if self._stop.is_set():
            self._job_ended()
            return
        task = asyncio.ensure_future(follow())
        self._followers.add(task)
        task.add_done_callback(self._followers.discard)
