"""The process runtime's opt-in sandbox (bubblewrap): a hostile job writes nowhere but its job
directory, sees no seedpipe data, and nothing it starts outlives the job, setsid or not.

Run wherever ``bwrap`` works; elsewhere reported as skipped with the reason, except under
``CI=true``, where they run (and fail if bubblewrap is missing: ``.ci/run`` installs it).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

import pytest

from capture.runtimes.sandbox import unusable
from tests.functional.capture.conftest import Runner

WHY_NOT = unusable()
pytestmark = pytest.mark.skipif(
    WHY_NOT is not None and os.environ.get("CI") != "true",
    reason=f"no usable bubblewrap here: {WHY_NOT}",
)

INTERFACE = {
    "command": "${INPUT_FILE}",
    "inputs": {"files": [{"name": "INPUT_FILE"}]},
    "outputs": {"files": [{"name": "REPORT", "pattern": "report.out"}]},
}

HOSTILE = """
import json, os, subprocess, sys
from pathlib import Path

out = Path(os.environ["OUTPUT_DIR"])
plan = json.loads(Path(sys.argv[1]).read_text())

def attempt(write):
    try:
        write()
        return "written"
    except OSError as exc:
        return f"refused {exc.errno}"

report = {
    "climb_out_of_output_dir": attempt(lambda: (out / ".." / ".." / "x.png").write_text("x")),
    "outside": attempt(lambda: Path(plan["outside"]).write_text("x")),
    "input": attempt(lambda: Path(sys.argv[1]).write_text("x")),
    "home": attempt(lambda: (Path.home() / ".seedpipe-sandbox-probe").write_text("x")),
    "tmpdir": attempt(lambda: (Path(os.environ["TMPDIR"]) / "scratch").write_text("x")),
    "data_dir_visible": Path(plan["secret"]).exists(),
}
code = "import os, time; os.setsid(); time.sleep(120)"
subprocess.Popen([sys.executable, "-c", code, plan["token"]], start_new_session=True)
(out / "report.out").write_text(json.dumps(report))
"""


def _running(token: str) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{name}/cmdline").read_bytes()
            state = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if token.encode() in cmdline and state not in ("Z", "X"):
            found.append(int(name))
    return found


def _gone(token: str, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while _running(token) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _running(token)


def _plan(tmp_path: Path, token: str) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    (data / "jobs.db").write_text("secret")
    plan = tmp_path / "plan.json"
    plan.write_text(
        json.dumps({"outside": str(tmp_path / "outside.txt"), "secret": str(data / "jobs.db"),
                    "token": token})
    )  # fmt: skip
    return plan


async def test_a_sandboxed_job_writes_only_its_job_directory_and_sees_no_seedpipe_data(
    run_script: Runner, tmp_path: Path
) -> None:
    from capture.contract.staging import StagedInput

    token = f"sandbox-escape-{uuid.uuid4().hex}"
    plan = _plan(tmp_path, token)
    result = await run_script(
        HOSTILE,
        INTERFACE,
        inputs={"INPUT_FILE": [StagedInput(plan)]},
        sandbox=True,
        sandbox_hide=(tmp_path / "data",),
    )
    assert result.ok, (result.error, result.log_path and result.log_path.read_text())
    report = json.loads((result.output_dir / "report.out").read_text())
    erofs = "refused 30"
    assert report == {
        "climb_out_of_output_dir": erofs,
        "outside": erofs,
        "input": erofs,
        "home": erofs,
        "tmpdir": "written",
        "data_dir_visible": False,
    }
    assert not (tmp_path / "x.png").exists() and not (tmp_path / "outside.txt").exists()
    # A child that left the process group with setsid died with the job's PID namespace.
    assert _gone(token)


async def test_a_sandboxed_job_past_its_timeout_leaves_no_setsid_child_behind(
    run_script: Runner, tmp_path: Path
) -> None:
    token = f"sandbox-timeout-{uuid.uuid4().hex}"
    code = f"""
import subprocess, sys, time
subprocess.Popen([sys.executable, "-c", "import os, time; os.setsid(); time.sleep(120)",
                  "{token}"], start_new_session=True)
time.sleep(60)
"""
    interface = {"command": "", "outputs": {"files": []}}
    result = await run_script(code, interface, job={"timeout": 2}, sandbox=True)
    assert result.error is not None and result.error.name == "timeout"
    assert _gone(token)
