"""The job runtime interface: run one prepared job, report its exit code or timeout."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from capture.runtimes.joblog import DEFAULT_MAX_BYTES
from capture.runtimes.lifeline import Started

# Host variables a process job keeps; everything else (credentials included) is left behind.
BASE_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "SYSTEMROOT")


@dataclass(frozen=True)
class MountSpec:
    name: str
    host_path: Path
    container_path: str
    mode: str = "ro"


@dataclass
class RunPlan:
    """Everything a runtime needs; ``env`` values may be secret and are never logged."""

    name: str
    command: list[str] = field(repr=False)  # may hold a secret setting's value
    entrypoint: list[str]
    env: dict[str, str] = field(repr=False)
    input_dir: Path
    output_dir: Path
    log_path: Path
    timeout_s: float
    resources: dict[str, float] = field(default_factory=dict)
    mounts: list[MountSpec] = field(default_factory=list)
    image: str | None = None
    cwd: Path | None = None  # process runtime only; None means the output dir
    log_max_bytes: int = DEFAULT_MAX_BYTES  # of job.log per run; the rest is counted, not kept
    # told where the job runs once it does, to find it after a crash
    on_start: Callable[[Started], None] | None = field(default=None, repr=False)
    sandbox: bool = False  # process runtime: run inside bubblewrap (see runtimes/sandbox.py)
    sandbox_hide: tuple[Path, ...] = ()  # directories the sandboxed job does not see at all


@dataclass(frozen=True)
class RunOutcome:
    exit_code: int | None
    timed_out: bool = False


class LaunchError(Exception):
    """The runtime could not start the job at all (a system error, worth a retry)."""


class Runtime(ABC):
    """Runs a RunPlan. Subclasses say where inputs and outputs appear to the job."""

    name: str = ""

    def input_path(self, plan_input_dir: Path) -> str:
        return str(plan_input_dir)

    def output_path(self, plan_output_dir: Path) -> str:
        return str(plan_output_dir)

    def container_path(self, host_path: Path, input_dir: Path) -> str:
        """Where ``host_path`` (under ``input_dir``) appears to the job."""
        rel = os.path.relpath(host_path, input_dir)
        return os.path.join(self.input_path(input_dir), rel)

    @abstractmethod
    async def run(self, plan: RunPlan) -> RunOutcome:
        """Run to completion or timeout; raise LaunchError when it cannot start."""


def base_env() -> dict[str, str]:
    return {k: os.environ[k] for k in BASE_ENV if k in os.environ}


def exit_status(returncode: int) -> int:
    """Shell convention: death by signal N reads as 128 + N."""
    return 128 - returncode if returncode < 0 else returncode
