"""Finding and killing what a killed supervisor's job left behind, by its recorded group."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from capture.attempt import attempt_dir
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


def test_a_restart_kills_recorded_groups_and_removes_recorded_containers(
    tmp_path: Path, monkeypatch
) -> None:
    from capture.jobs import Job, JobStore
    from capture.runtimes.lifeline import Started
    from capture.service import reap_orphans

    # A stand-in docker CLI that only notes what it was asked (no engine is claimed here).
    calls = tmp_path / "docker-calls"
    stub = tmp_path / "bin" / "docker"
    stub.parent.mkdir()
    stub.write_text(f'#!/bin/sh\necho "$@" >> {calls}\necho "$3"\n')
    stub.chmod(0o755)
    monkeypatch.setenv("PATH", f"{stub.parent}:/usr/bin:/bin")
    store = JobStore(tmp_path / "jobs.db")
    proc = subprocess.Popen(SLEEPER, start_new_session=True)
    try:
        for job_id in ("proc", "dock"):
            job = Job(id=job_id, job_type="t", job_type_version="1", trigger=job_id,
                      file_id="f", event_id="e", input_name="IN", record={})  # fmt: skip
            store.create(job)
            store.mark_running(job_id, None)
        store.set_process("proc", Started(proc.pid, process_start(proc.pid)))
        store.set_process("dock", Started(proc.pid + 10**6, None, container="seedpipe-t-dock"))
        assert reap_orphans(store) == 2
        assert proc.wait(timeout=10) < 0
        assert calls.read_text().split() == ["rm", "-f", "seedpipe-t-dock"]
        assert store.running_processes() == []
    finally:
        proc.kill()
        proc.wait()
        store.close()
