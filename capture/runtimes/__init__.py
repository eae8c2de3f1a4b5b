"""Job runtimes by name: ``process`` (entrypoint + command) and ``docker`` (Seed image)."""

from __future__ import annotations

import difflib

from capture.runtimes.base import LaunchError, MountSpec, RunOutcome, RunPlan, Runtime
from seedpipe.errors import ConfigError

RUNTIMES = {
    "process": "capture.runtimes.process:ProcessRuntime",
    "docker": "capture.runtimes.docker:DockerRuntime",
}


def get_runtime(name: str) -> Runtime:
    """A runtime instance for ``name``; a typo gets a suggestion."""
    import importlib

    if name not in RUNTIMES:
        close = difflib.get_close_matches(name, RUNTIMES, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"unknown runtime {name!r} (choose from {sorted(RUNTIMES)}){hint}")
    module, _, cls = RUNTIMES[name].partition(":")
    runtime: Runtime = getattr(importlib.import_module(module), cls)()
    return runtime


__all__ = ["LaunchError", "MountSpec", "RunOutcome", "RunPlan", "Runtime", "get_runtime"]
