"""The process runtime: the entrypoint as a child process group, rlimit memory, hard timeout."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess

from capture.runtimes.base import LaunchError, RunOutcome, RunPlan, Runtime, base_env, exit_status
from capture.runtimes.joblog import JobLog
from capture.runtimes.lifeline import Started, child_setup, process_start
from capture.runtimes.sandbox import bwrap_argv, job_tmp

log = logging.getLogger(__name__)

MIB = 1024 * 1024
# Address-space limits below this stop interpreters from even starting; the Seed spec lets
# an executor raise a too-small request to its own minimum.
MIN_MEMORY_MIB = 1024


def _memory_limit(mem_mib: float | None) -> int | None:
    return int(max(mem_mib, MIN_MEMORY_MIB) * MIB) if mem_mib else None


def kill_group(pid: int) -> None:
    """SIGKILL the whole process group ``pid`` leads; forked children die with it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


class ProcessRuntime(Runtime):
    name = "process"

    async def run(self, plan: RunPlan) -> RunOutcome:
        argv = [*plan.entrypoint, *plan.command]
        if not argv:
            raise LaunchError("nothing to run: no entrypoint and no interface.command")
        env = {**base_env(), **plan.env}
        if plan.sandbox:
            tmp = job_tmp(plan)
            tmp.mkdir(parents=True, exist_ok=True)
            env["TMPDIR"] = str(tmp)
            try:
                argv = bwrap_argv(plan, argv, plan.sandbox_hide)
            except FileNotFoundError as exc:
                raise LaunchError(str(exc)) from exc
        job_log = JobLog(plan.log_path, plan.log_max_bytes)
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                env=env,
                cwd=plan.cwd or plan.output_dir,
                stdin=subprocess.DEVNULL,
                stdout=job_log.write_fd,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, so a timeout kills all
                # dies with this process (kill -9 included), within its memory limit
                preexec_fn=child_setup(_memory_limit(plan.resources.get("mem"))),
            )
        except OSError as exc:
            job_log.abandon()
            raise LaunchError(f"cannot start {argv[0]!r}: {exc.strerror or exc}") from exc
        log.info("job %s started as process group %d", plan.name, proc.pid)
        if plan.on_start is not None:
            plan.on_start(Started(proc.pid, process_start(proc.pid)))
        try:
            await job_log.start()
            returncode = await asyncio.wait_for(proc.wait(), plan.timeout_s)
        except TimeoutError:
            log.warning("job %s passed its %gs timeout; killing it", plan.name, plan.timeout_s)
            kill_group(proc.pid)
            await proc.wait()
            return RunOutcome(exit_code=None, timed_out=True)
        finally:
            # Whatever happened (cancellation included), leave no stray children behind.
            kill_group(proc.pid)
            await job_log.finish()
        return RunOutcome(exit_code=exit_status(returncode))
