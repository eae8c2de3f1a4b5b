"""Job runtimes by name: ``process`` (entrypoint + command) and ``docker`` (Seed image)."""

from __future__ import annotations

from capture.runtimes.base import LaunchError, MountSpec, RunOutcome, RunPlan, Runtime
from seedpipe.registry import BackendRegistry

RUNTIMES = BackendRegistry(
    "runtime",
    {
        "process": "capture.runtimes.process:ProcessRuntime",
        "docker": "capture.runtimes.docker:DockerRuntime",
    },
)


def get_runtime(name: str) -> Runtime:
    """A runtime instance for ``name``; a typo gets a suggestion."""
    runtime: Runtime = RUNTIMES.by_name(name)()
    return runtime


__all__ = ["LaunchError", "MountSpec", "RunOutcome", "RunPlan", "Runtime", "get_runtime"]
