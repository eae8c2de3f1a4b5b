"""The runner keeps Scale's job input/output contract, checked with real child processes."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from capture.contract.runner import JobResult, StagedInput
from seedpipe.errors import InvalidInput
from tests.functional.capture.conftest import Runner

# Writes what the job saw (argv, environment, input metadata) to $OUTPUT_DIR/probe.json.
PROBE = """
import json, os, sys
out = os.environ["OUTPUT_DIR"]
seen = {"argv": sys.argv[1:], "env": dict(os.environ), "cwd": os.getcwd()}
seen["metadata"] = json.load(open(os.environ["INPUT_METADATA"]))
for key in ("IN", "MANY"):
    if key in os.environ and os.path.isdir(os.environ[key]):
        seen[key + "_listing"] = sorted(os.listdir(os.environ[key]))
json.dump(seen, open(os.path.join(out, "probe.json"), "w"))
"""
PROBE_INTERFACE = {
    "command": "${IN} ${MANY} ${OPTIONAL/#/--optional } ${TEXT} ${OPTS}",
    "inputs": {
        "files": [
            {"name": "IN"},
            {"name": "MANY", "multiple": True},
            {"name": "OPTIONAL", "required": False},
        ],
        "json": [
            {"name": "TEXT", "type": "string"},
            {"name": "OPTS", "type": "object"},
            {"name": "COUNT", "type": "integer", "required": False},
        ],
    },
    "outputs": {"files": [{"name": "PROBE", "pattern": "probe.json"}]},
    "settings": [{"name": "db-host"}, {"name": "DB_PASS", "secret": True}],
}
RESOURCES = {
    "resources": {
        "scalar": [
            {"name": "cpus", "value": 1},
            {"name": "mem", "value": 128},
            {"name": "disk", "value": 1, "inputMultiplier": 2},
        ]
    }
}


def files(tmp_path: Path, *names: str, size: int = 1024) -> list[StagedInput]:
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    out = []
    for name in names:
        (src / name).write_bytes(b"x" * size)
        out.append(StagedInput(src / name))
    return out


async def probe(tmp_path: Path, run_script: Runner, **spec: object) -> tuple[JobResult, dict]:
    result = await run_script(
        PROBE,
        PROBE_INTERFACE,
        job=RESOURCES,
        inputs={"IN": files(tmp_path, "one file.png"), "MANY": files(tmp_path, "m1.dat", "m2.dat")},
        json_inputs={"TEXT": "hello world", "OPTS": {"a": [1, 2]}},
        settings={"db-host": "db.local", "DB_PASS": SecretStr("hunter2-secret")},
        **spec,
    )
    assert result.status == "COMPLETED", result.error
    seen = json.loads((result.output_dir / "probe.json").read_text())
    return result, seen


async def test_inputs_are_staged_read_only_under_input_data(tmp_path: Path, run_script: Runner):
    _, seen = await probe(tmp_path, run_script)
    staged = tmp_path / "job" / "input_data" / "IN" / "one file.png"
    assert seen["env"]["IN"] == str(staged)
    assert stat.S_IMODE(staged.stat().st_mode) & 0o222 == 0
    assert seen["env"]["MANY"] == str(tmp_path / "job" / "input_data" / "MANY")
    assert seen["MANY_listing"] == ["m1.dat", "m2.dat"]


async def test_the_job_cannot_modify_the_original_input(tmp_path: Path, run_script: Runner):
    original = files(tmp_path, "keep.bin")[0]
    code = """
    import os
    path = os.environ["IN"]
    try:
        os.chmod(path, 0o644)
        open(path, "wb").write(b"overwritten")
    except OSError:
        pass
    open(os.path.join(os.environ["OUTPUT_DIR"], "done"), "w").write("ok")
    """
    interface = {"command": "", "inputs": {"files": [{"name": "IN"}]}}
    result = await run_script(code, interface, inputs={"IN": [original]})
    assert result.ok
    assert original.path.read_bytes() == b"x" * 1024


async def test_the_environment_follows_seed_variable_injection(tmp_path: Path, run_script: Runner):
    _, seen = await probe(tmp_path, run_script)
    env = seen["env"]
    assert env["TEXT"] == "hello world"
    assert env["OPTS"] == '{"a":[1,2]}'
    assert env["DB_HOST"] == "db.local"
    assert env["DB_PASS"] == "hunter2-secret"
    assert env["ALLOCATED_CPUS"] == "1"
    assert env["ALLOCATED_MEM"] == "128"
    # 3 KiB of input: disk = 1 + 2 * 3/1024 MiB
    assert float(env["ALLOCATED_DISK"]) == pytest.approx(1 + 2 * 3 / 1024)
    assert env["OUTPUT_DIR"] == str(tmp_path / "job" / "output_data")
    assert "OPTIONAL" not in env and "COUNT" not in env


async def test_the_host_environment_does_not_leak_into_the_job(
    tmp_path: Path, run_script: Runner, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "host-secret")
    _, seen = await probe(tmp_path, run_script)
    assert "AWS_SECRET_ACCESS_KEY" not in seen["env"]
    assert "PATH" in seen["env"]


async def test_the_command_expands_without_a_shell(tmp_path: Path, run_script: Runner):
    _, seen = await probe(tmp_path, run_script)
    assert seen["argv"] == [
        str(tmp_path / "job" / "input_data" / "IN" / "one file.png"),
        str(tmp_path / "job" / "input_data" / "MANY"),
        "hello world",
        '{"a":[1,2]}',
    ]


async def test_the_switch_idiom_passes_an_optional_input_with_its_flag(
    tmp_path: Path, run_script: Runner
):
    _, seen = await probe(tmp_path, run_script, workdir=tmp_path)
    assert "--optional" not in seen["argv"]
    assert seen["cwd"] == str(tmp_path)


@pytest.mark.parametrize("hostile", ["a b;touch pwned.png", "$(touch pwned).png", "new\nline.png"])
async def test_file_names_with_metacharacters_stay_one_argument(
    tmp_path: Path, run_script: Runner, hostile: str
):
    code = """
    import json, os, sys
    json.dump(sys.argv[1:], open(os.path.join(os.environ["OUTPUT_DIR"], "argv.json"), "w"))
    """
    interface = {
        "command": "${IN} $IN",
        "inputs": {"files": [{"name": "IN"}]},
        "outputs": {"files": [{"name": "ARGV", "pattern": "argv.json"}]},
    }
    result = await run_script(code, interface, inputs={"IN": files(tmp_path, hostile)})
    argv = json.loads((result.output_dir / "argv.json").read_text())
    staged = str(tmp_path / "job" / "input_data" / "IN" / hostile)
    assert argv == [staged, staged]
    assert not list(tmp_path.rglob("pwned*"))


async def test_input_metadata_has_the_scale_shape(tmp_path: Path, run_script: Runner):
    recipe = {"PARENT_OUTPUT": [{"id": "r1", "file_name": "p.tif"}]}
    _, seen = await probe(tmp_path, run_script, recipe_metadata=recipe)
    meta = seen["metadata"]
    assert set(meta) == {"JOB", "RECIPE"}
    assert meta["RECIPE"] == recipe
    # Scale's pre-steps: every input, file inputs as records and JSON inputs as their values.
    assert set(meta["JOB"]) == {"IN", "MANY", "TEXT", "OPTS"}
    assert meta["JOB"]["TEXT"] == "hello world"
    assert meta["JOB"]["OPTS"] == {"a": [1, 2]}
    record = meta["JOB"]["IN"][0]
    for key in (
        "id", "file_name", "workspace", "media_type", "file_type", "file_size", "file_path",
        "url", "data_started", "data_ended", "geometry", "center_point", "countries", "meta_data",
    ):  # fmt: skip
        assert key in record
    assert record["file_name"] == "one file.png"
    assert record["file_type"] == "SOURCE"
    assert record["file_size"] == 1024
    assert record["media_type"] == "image/png"
    assert len(meta["JOB"]["MANY"]) == 2


async def test_secret_settings_never_reach_results_metadata_or_logs(
    tmp_path: Path, run_script: Runner, caplog: pytest.LogCaptureFixture
):
    caplog.set_level("DEBUG")
    result, seen = await probe(tmp_path, run_script)
    assert "hunter2" not in json.dumps(result.to_json())
    assert "hunter2" not in json.dumps(seen["metadata"])
    assert "hunter2" not in caplog.text
    assert "hunter2" not in repr(result)


async def test_secret_settings_stay_out_of_the_spec_and_plan_reprs(tmp_path: Path) -> None:
    from capture.contract.runner import JobSpec
    from capture.runtimes import RunPlan
    from capture.seed import load_manifest
    from tests.functional.capture.conftest import manifest_dict

    manifest = load_manifest(manifest_dict({"settings": [{"name": "DB_PASS", "secret": True}]}))
    spec = JobSpec(manifest=manifest, job_dir=tmp_path, settings={"DB_PASS": "hunter2-secret"})
    plan = RunPlan(
        "n",
        ["hunter2-secret"],
        [],
        {"DB_PASS": "hunter2-secret"},
        tmp_path,
        tmp_path,
        tmp_path / "log",
        1.0,
    )
    assert "hunter2" not in repr(spec) and "hunter2" not in repr(plan)


async def test_missing_required_inputs_fail_before_anything_runs_all_listed(
    tmp_path: Path, run_script: Runner
):
    with pytest.raises(InvalidInput) as info:
        await run_script(PROBE, PROBE_INTERFACE, inputs={"IN": files(tmp_path, "a.png")})
    message = str(info.value)
    for expected in ("inputs.MANY", "json_inputs.TEXT", "json_inputs.OPTS"):
        assert expected in message
    assert not (tmp_path / "job" / "job.log").exists()


async def test_requests_that_do_not_fit_the_manifest_are_refused(
    tmp_path: Path, run_script: Runner
):
    with pytest.raises(InvalidInput) as info:
        await run_script(
            PROBE,
            PROBE_INTERFACE,
            inputs={"IN": files(tmp_path, "a.png", "b.png"), "NOPE": [], "MANY": []},
            json_inputs={"TEXT": 5, "OPTS": {}, "COUNT": 1.5},
            settings={"UNKNOWN": "x"},
        )
    message = str(info.value)
    for expected in (
        "inputs.IN: takes one file, 2 given",
        "inputs.NOPE",
        "json_inputs.TEXT: must be of JSON type string",
        "json_inputs.COUNT",
        "settings.UNKNOWN",
    ):
        assert expected in message


ERRORS = {
    "errors": [
        {"code": 3, "name": "bad-pixels", "title": "Bad", "description": "d", "category": "data"},
        {"code": 4, "name": "crashed"},
    ]
}


@pytest.mark.parametrize(
    ("code", "name", "category"),
    [(3, "bad-pixels", "data"), (4, "crashed", "job"), (9, "algorithm-unknown", "job")],
)
async def test_exit_codes_map_to_the_manifest_errors(
    run_script: Runner, code: int, name: str, category: str
):
    result = await run_script(f"import sys; sys.exit({code})", {"command": ""}, job=ERRORS)
    assert result.status == "FAILED"
    assert result.exit_code == code
    assert result.error.name == name
    assert result.error.category == category
    assert result.error.retryable is False


async def test_an_entrypoint_that_cannot_start_is_a_system_error(tmp_path: Path):
    from capture.contract.runner import JobSpec, run_job
    from capture.seed import load_manifest
    from tests.functional.capture.conftest import manifest_dict

    spec = JobSpec(
        manifest=load_manifest(manifest_dict({"command": "x"})),
        job_dir=tmp_path / "job",
        entrypoint=str(tmp_path / "no-such-program"),
    )
    result = await run_job(spec)
    assert result.status == "FAILED"
    assert result.error is not None
    assert result.error.category == "system"
    assert result.error.name == "launch-failed"


@pytest.mark.slow
async def test_a_timeout_kills_the_whole_process_group(tmp_path: Path, run_script: Runner):
    code = """
    import os, subprocess, sys, time
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    open(os.path.join(os.environ["OUTPUT_DIR"], "child.pid"), "w").write(str(child.pid))
    if os.fork() == 0:
        open(os.path.join(os.environ["OUTPUT_DIR"], "fork.pid"), "w").write(str(os.getpid()))
    time.sleep(60)
    """
    result = await run_script(code, {"command": ""}, job={"timeout": 1})
    assert result.status == "FAILED"
    assert result.exit_code is None
    assert result.error.name == "timeout"
    assert result.error.category == "system"
    for pid_file in ("child.pid", "fork.pid"):
        pid = int((result.output_dir / pid_file).read_text())
        assert not _alive(pid)


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting for its reaper counts as dead)."""
    import time

    for _ in range(200):
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return False
        if state in ("Z", "X"):
            return False
        time.sleep(0.01)  # SIGKILL delivery is asynchronous; give the kernel a moment
    return True


async def test_the_memory_allocation_limits_the_job(run_script: Runner):
    code = """
    import sys
    try:
        block = bytearray(4 * 1024 ** 3)
    except MemoryError:
        sys.exit(7)
    """
    job = {"resources": {"scalar": [{"name": "mem", "value": 64}]}}
    result = await run_script(code, {"command": ""}, job=job)
    assert result.exit_code == 7


async def test_relative_job_and_output_dirs_reach_the_job_as_absolute_paths(
    tmp_path: Path, run_script: Runner, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)
    code = "import os; d = os.environ['OUTPUT_DIR']; open(d + '/dir.txt', 'w').write(d)"
    iface = {"command": "", "outputs": {"files": [{"name": "D", "pattern": "dir.txt"}]}}
    result = await run_script(code, iface, job_dir=Path("rel-job"), output_dir=Path("rel-out"))
    assert result.ok
    assert (tmp_path / "rel-out" / "dir.txt").read_text() == str(tmp_path / "rel-out")
    assert result.output_dir.is_absolute()


async def test_job_log_keeps_the_first_bytes_of_a_chatty_job_and_says_what_it_left_out(
    run_script: Runner,
):
    code = """
    import sys
    for i in range(3000):
        sys.stdout.write(f"{i:07d} " + "x" * 91 + "\\n")  # 100 bytes a line, 300,000 in all
    sys.stderr.write("the end\\n")
    """
    result = await run_script(code, {"command": ""}, log_max_bytes=100_000)
    assert result.status == "COMPLETED"
    text = result.log_path.read_text()
    kept, _, note = text.partition("\n[seedpipe: job.log keeps the first 100000 bytes")
    assert len(kept) == 100_000 and kept.startswith("0000000 ") and "0000999" in kept
    assert "0001000" not in kept and "the end" not in kept
    assert "200008 more were left out" in note


async def test_a_daemon_holding_the_output_pipe_does_not_hold_the_job(
    run_script: Runner, monkeypatch: pytest.MonkeyPatch
):
    import time

    from capture.runtimes import joblog

    monkeypatch.setattr(joblog, "DRAIN_S", 0.5)
    code = """
    import subprocess, sys
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(8)"], start_new_session=True)
    print("left a daemon behind", flush=True)
    """
    started = time.monotonic()
    result = await run_script(code, {"command": ""})
    assert time.monotonic() - started < 5
    assert result.status == "COMPLETED"
    assert "left a daemon behind" in result.log_path.read_text()
