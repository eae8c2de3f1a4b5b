"""A job's process lives no longer than its supervisor: PR_SET_PDEATHSIG in the child, and on
restart the recorded process groups of jobs a killed supervisor left running are killed.

``kill -9`` of ``seedpipe up`` gives the job's leader SIGKILL from the kernel (its parent
died); what the leader forked stays in its process group, which ``reap_group`` finds through
/proc and kills before the job is run again.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Started:
    """Where a job's attempt runs, recorded to find it after a crash: the process group (and
    its leader's start time, against pid reuse) and, on the docker runtime, the container."""

    pgid: int
    start: int | None
    container: str | None = None


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _load_prctl()


def child_setup(mem_limit_bytes: int | None = None) -> Callable[[], None]:
    """What the forked child runs before exec: die with the supervisor, then limit memory.

    Runs between fork and exec: nothing here may import, allocate much or take locks, so the
    libc function is looked up here, in the parent.
    """
    parent = os.getpid()
    prctl = _PRCTL

    def apply() -> None:
        if prctl is not None:
            prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            if os.getppid() != parent:  # the supervisor died before the line above
                os._exit(128 + signal.SIGKILL)
        if mem_limit_bytes:
            resource.setrlimit(resource.RLIMIT_AS, (mem_limit_bytes, mem_limit_bytes))

    return apply


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state, process group, start time in clock ticks since boot) of a live process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    fields = raw[raw.rindex(b")") + 2 :].split()
    return fields[0].decode(), int(fields[2]), int(fields[19])


def process_start(pid: int) -> int | None:
    """When ``pid`` started (a pid that is reused later starts later)."""
    st = _stat(pid)
    return st[2] if st else None


def _pids() -> list[int]:
    try:
        return [int(n) for n in os.listdir("/proc") if n.isdigit()]
    except OSError:
        return []


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of process group ``pgid``."""
    out = []
    for pid in _pids():
        st = _stat(pid)
        if st is not None and st[1] == pgid and st[0] not in ("Z", "X"):
            out.append(pid)
    return out


def reap_group(pgid: int, start: int | None, timeout_s: float = 10.0) -> int:
    """Kill what is left of the job's process group ``pgid`` (led by a process started at
    ``start``); returns how many processes were in it. A group whose leader is alive but
    started at another time is someone else's (the pid was reused) and is left alone."""
    members = group_members(pgid)
    if not members:
        return 0
    if pgid in members and start is not None and process_start(pgid) != start:
        return 0
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
    deadline = time.monotonic() + timeout_s
    while group_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.02)
    return len(members)


def processes_in(directory: Path) -> list[int]:
    """Live processes whose working directory is ``directory`` or below it."""
    root = str(directory.resolve())
    out = []
    for pid in _pids():
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        if cwd == root or cwd.startswith(root + os.sep):
            st = _stat(pid)
            if st is not None and st[0] not in ("Z", "X"):
                out.append(pid)
    return out


def remove_container(name: str, docker: str = "docker") -> bool:
    """``docker rm -f`` a container an interrupted run left; whether docker removed one."""
    binary = shutil.which(docker)
    if binary is None:
        return False
    try:
        done = subprocess.run(
            [binary, "rm", "-f", name], capture_output=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and bool(done.stdout.strip())
