"""Finding and killing what a killed supervisor's job left behind, by its recorded group."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from capture.execute import attempt_dir
from capture.runtimes.lifeline import group_members, process_start, processes_in, reap_group

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


def test_a_recorded_group_is_killed_whole_and_a_reused_pid_is_left_alone(tmp_path: Path) -> None:
    proc = subprocess.Popen(SLEEPER, start_new_session=True, cwd=tmp_path)
    try:
        start = process_start(proc.pid)
        assert start is not None and group_members(proc.pid) == [proc.pid]
        assert reap_group(proc.pid, start + 1) == 0  # another process's start: not ours
        assert proc.poll() is None
        assert reap_group(proc.pid, start) == 1
        assert proc.wait(timeout=10) < 0 and group_members(proc.pid) == []
    finally:
        proc.kill()
        proc.wait()


def test_an_attempt_directory_a_living_process_works_in_is_never_reused(tmp_path: Path) -> None:
    root = tmp_path / "job_x"
    busy = root / "attempt_1" / "output_data"
    busy.mkdir(parents=True)
    (busy / "half-written.png").write_bytes(b"x")
    proc = subprocess.Popen(SLEEPER, cwd=busy)
    try:
        assert processes_in(root / "attempt_1") == [proc.pid]
        chosen = attempt_dir(root, 1)
        assert chosen == root / "attempt_1.2" and not chosen.exists()
        assert (busy / "half-written.png").exists()  # left to the process using it
    finally:
        proc.kill()
        proc.wait()
    assert attempt_dir(root, 1) == root / "attempt_1" and not (root / "attempt_1").exists()
