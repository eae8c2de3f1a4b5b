"""The opt-in sandbox of the process runtime: bubblewrap (``bwrap``, Debian's ``bubblewrap``).

Inside, the job sees the whole filesystem read-only, its job directory read-write, its staged
inputs read-only, a private ``/proc``, ``/dev`` and ``TMPDIR`` (in the job directory), and
not at all the directories it is told to hide (seedpipe's data directory: the stores, other
jobs). It runs in its own PID namespace that dies with bwrap, and bwrap with seedpipe, so a
child that calls ``setsid`` cannot outlive the timeout or the service.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from capture.runtimes.base import RunPlan

INSTALL_HINT = "install bubblewrap (Debian/Ubuntu: apt-get install -y bubblewrap)"


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


@functools.cache
def unusable() -> str | None:
    """Why bubblewrap cannot sandbox a job here, or None when it can (probed once)."""
    path = bwrap_path()
    if path is None:
        return f"bwrap is not on PATH: {INSTALL_HINT}"
    probe = [path, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-pid"]
    try:
        done = subprocess.run(
            [*probe, "--die-with-parent", "--new-session", "true"],
            capture_output=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap cannot run: {exc}"
    if done.returncode != 0:
        why = done.stderr.decode(errors="replace").strip()[:300]
        return f"bwrap cannot create namespaces here ({why}); user namespaces may be disabled"
    return None


def job_dir(plan: RunPlan) -> Path:
    """The job directory: where its inputs are staged (``<job dir>/input_data``)."""
    return plan.input_dir.parent.resolve()


def job_tmp(plan: RunPlan) -> Path:
    """The job's TMPDIR: inside its job directory (where it may write)."""
    return job_dir(plan) / "tmp"


def bwrap_argv(plan: RunPlan, argv: Sequence[str], hide: Sequence[Path] = ()) -> list[str]:
    """``argv`` wrapped in bwrap as the module docstring says."""
    path = bwrap_path()
    if path is None:
        raise FileNotFoundError(f"bwrap: {INSTALL_HINT}")
    root, out = job_dir(plan), plan.output_dir.resolve()
    args = [
        path,
        "--die-with-parent",  # bwrap's child (and so the whole namespace) dies with bwrap
        "--unshare-pid",  # the namespace dies with its first process: setsid cannot escape
        "--unshare-ipc",
        "--new-session",
        "--ro-bind",
        "/",
        "/",
        "--dev",
        "/dev",
        "--proc",
        "/proc",
    ]
    hidden = [Path(h).resolve() for h in hide if Path(h).is_dir()]
    for h in hidden:
        args += ["--tmpfs", str(h)]
    args += ["--bind", str(root), str(root)]
    if root not in out.parents:
        args += ["--bind", str(out), str(out)]
    args += ["--ro-bind", str(plan.input_dir.resolve()), str(plan.input_dir.resolve())]
    for mount in plan.mounts:
        kind = "--bind" if mount.mode == "rw" else "--ro-bind"
        args += [kind, str(mount.host_path), str(mount.host_path)]
    for h in hidden:
        args += ["--remount-ro", str(h)]
    args += ["--chdir", str((plan.cwd or plan.output_dir).resolve()), "--", *argv]
    return args
