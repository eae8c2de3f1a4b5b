"""The docker runtime: ``docker run`` with Scale's mounts, env, cpu/memory/shm limits, timeout."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import subprocess
from pathlib import Path

from capture.runtimes.base import LaunchError, RunOutcome, RunPlan, Runtime, base_env, exit_status
from capture.runtimes.joblog import JobLog
from capture.runtimes.lifeline import Started, child_setup, process_start
from capture.runtimes.process import kill_group

log = logging.getLogger(__name__)

INPUT_ROOT = "/scale/input_data"
OUTPUT_ROOT = "/scale/output_data"
MIN_DOCKER_MEMORY_MIB = 6  # docker refuses --memory below 6 MiB


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def docker_run_args(plan: RunPlan, docker: str = "docker") -> list[str]:
    """The ``docker run`` argv for ``plan``.

    Environment values are not on the command line (``-e NAME`` takes them from the docker
    client's own environment), so secrets never show in ``ps`` or in logs of the argv.
    """
    if not plan.image:
        raise LaunchError("the docker runtime needs an image (--image or the job type's image)")
    args = [docker, "run", "--rm", "--name", plan.name, "--init"]
    if hasattr(os, "getuid"):
        # Outputs come back owned by us, not by root.
        args += ["--user", f"{os.getuid()}:{os.getgid()}"]
    args += ["-v", f"{plan.input_dir}:{INPUT_ROOT}:ro"]
    args += ["-v", f"{plan.output_dir}:{OUTPUT_ROOT}:rw"]
    for mount in plan.mounts:
        args += ["-v", f"{mount.host_path}:{mount.container_path}:{mount.mode}"]
    for name in sorted(plan.env):
        args += ["-e", name]
    cpus = plan.resources.get("cpus")
    if cpus:
        args += ["--cpus", _number(cpus)]
    mem = plan.resources.get("mem")
    if mem:
        args += ["--memory", f"{max(int(mem), MIN_DOCKER_MEMORY_MIB)}m"]
    shm = plan.resources.get("sharedMem")
    if shm:
        args += ["--shm-size", f"{max(int(shm), 1)}m"]
    if plan.entrypoint:
        args += ["--entrypoint", plan.entrypoint[0]]
    args += ["--", plan.image, *plan.entrypoint[1:], *plan.command]
    return args


class DockerRuntime(Runtime):
    name = "docker"

    def __init__(self, docker: str = "docker") -> None:
        self.docker = docker

    def input_path(self, plan_input_dir: Path) -> str:
        return INPUT_ROOT

    def output_path(self, plan_output_dir: Path) -> str:
        return OUTPUT_ROOT

    async def _kill(self, name: str) -> None:
        with contextlib.suppress(OSError):
            proc = await asyncio.create_subprocess_exec(
                self.docker,
                "rm",
                "-f",
                name,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            await proc.wait()

    async def run(self, plan: RunPlan) -> RunOutcome:
        argv = docker_run_args(plan, self.docker)
        env = {**base_env(), **plan.env}
        job_log = JobLog(plan.log_path, plan.log_max_bytes)
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=job_log.write_fd,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=child_setup(),  # the client dies with us; a restart removes the rest
            )
        except OSError as exc:
            job_log.abandon()
            raise LaunchError(f"cannot run {self.docker!r}: {exc.strerror or exc}") from exc
        if plan.on_start is not None:
            plan.on_start(Started(proc.pid, process_start(proc.pid), container=plan.name))
        try:
            await job_log.start()
            returncode = await asyncio.wait_for(proc.wait(), plan.timeout_s)
        except TimeoutError:
            log.warning(
                "job %s passed its %gs timeout; removing its container", plan.name, plan.timeout_s
            )
            await self._kill(plan.name)
            kill_group(proc.pid)
            await proc.wait()
            return RunOutcome(exit_code=None, timed_out=True)
        except BaseException:
            await asyncio.shield(self._kill(plan.name))
            kill_group(proc.pid)
            raise
        finally:
            await job_log.finish()
        if returncode == 125:
            # docker's own failure (no such image, bad flag), not the algorithm's exit code.
            raise LaunchError(f"docker run failed before the job started; see {plan.log_path}")
        return RunOutcome(exit_code=exit_status(returncode))
