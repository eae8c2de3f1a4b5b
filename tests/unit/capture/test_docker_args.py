"""The docker runtime's ``docker run`` arguments, built without a Docker engine."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from capture.runtimes import MountSpec, RunPlan, get_runtime
from capture.runtimes.base import LaunchError
from capture.runtimes.docker import INPUT_ROOT, OUTPUT_ROOT, DockerRuntime, docker_run_args
from seedpipe.errors import ConfigError


def plan(tmp_path: Path, **kw: object) -> RunPlan:
    base: dict[str, object] = {
        "name": "seedpipe-my-job-abc",
        "command": ["/scale/input_data/IN/a b.png", "/scale/output_data"],
        "entrypoint": [],
        "env": {"OUTPUT_DIR": OUTPUT_ROOT, "DB_PASS": "hunter2-secret"},
        "input_dir": tmp_path / "input_data",
        "output_dir": tmp_path / "output_data",
        "log_path": tmp_path / "job.log",
        "timeout_s": 30.0,
        "resources": {"cpus": 1.5, "mem": 1024.0, "sharedMem": 64.0, "disk": 10.0},
        "mounts": [MountSpec("REF", tmp_path / "ref", "/the/container/path", "ro")],
        "image": "example/my-job:1.0.0",
    }
    base.update(kw)
    return RunPlan(**base)  # type: ignore[arg-type]


def test_inputs_are_read_only_and_outputs_writable_at_scale_paths(tmp_path: Path) -> None:
    args = docker_run_args(plan(tmp_path))
    assert args[:2] == ["docker", "run"]
    assert f"{tmp_path / 'input_data'}:{INPUT_ROOT}:ro" in args
    assert f"{tmp_path / 'output_data'}:{OUTPUT_ROOT}:rw" in args
    assert f"{tmp_path / 'ref'}:/the/container/path:ro" in args


def test_resources_become_cpus_memory_and_shm_size(tmp_path: Path) -> None:
    args = docker_run_args(plan(tmp_path))
    assert args[args.index("--cpus") + 1] == "1.5"
    assert args[args.index("--memory") + 1] == "1024m"
    assert args[args.index("--shm-size") + 1] == "64m"


def test_env_names_are_passed_but_never_their_values(tmp_path: Path) -> None:
    args = docker_run_args(plan(tmp_path))
    assert "DB_PASS" in args and "OUTPUT_DIR" in args
    assert not any("hunter2" in a for a in args)


def test_the_command_follows_the_image_as_separate_arguments(tmp_path: Path) -> None:
    args = docker_run_args(plan(tmp_path))
    i = args.index("example/my-job:1.0.0")
    assert args[i - 1] == "--"
    assert args[i + 1 :] == ["/scale/input_data/IN/a b.png", "/scale/output_data"]


def test_an_entrypoint_override_splits_into_entrypoint_and_leading_args(tmp_path: Path) -> None:
    args = docker_run_args(plan(tmp_path, entrypoint=["python3", "/app/run.py"]))
    assert args[args.index("--entrypoint") + 1] == "python3"
    i = args.index("example/my-job:1.0.0")
    assert args[i + 1 : i + 3] == ["/app/run.py", "/scale/input_data/IN/a b.png"]


def test_the_container_runs_as_the_calling_user(tmp_path: Path) -> None:
    args = docker_run_args(plan(tmp_path))
    assert args[args.index("--user") + 1] == f"{os.getuid()}:{os.getgid()}"


def test_no_image_is_a_launch_error(tmp_path: Path) -> None:
    with pytest.raises(LaunchError, match="image"):
        docker_run_args(plan(tmp_path, image=None))


def test_the_job_sees_scale_paths_under_docker(tmp_path: Path) -> None:
    runtime = DockerRuntime()
    inputs = tmp_path / "input_data"
    assert runtime.container_path(inputs / "IN" / "a.png", inputs) == f"{INPUT_ROOT}/IN/a.png"
    assert runtime.output_path(tmp_path / "out") == OUTPUT_ROOT


def test_an_unknown_runtime_name_suggests_the_right_one() -> None:
    with pytest.raises(ConfigError, match="did you mean 'docker'"):
        get_runtime("dokcer")
