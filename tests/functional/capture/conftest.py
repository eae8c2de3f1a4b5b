"""Helpers for running small real Seed jobs (Python scripts) through the runner."""

from __future__ import annotations

import shlex
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from capture.contract.runner import JobResult, JobSpec, run_job
from capture.seed import load_manifest

Runner = Callable[..., Any]


def manifest_dict(interface: dict[str, Any], **job: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "probe",
        "jobVersion": "1.0.0",
        "packageVersion": "1.0.0",
        "title": "Probe",
        "description": "A test job",
        "maintainer": {"name": "Jane Roe", "email": "jroe@example.com"},
        "timeout": 30,
        "interface": interface,
    }
    body.update(job)
    return {"seedVersion": "1.0.0", "job": body}


@pytest.fixture
def run_script(tmp_path: Path) -> Runner:
    """``await run_script(code, interface, **spec)``: run ``code`` as a Seed job's entrypoint."""

    async def run(
        code: str, interface: dict[str, Any], job: dict[str, Any] | None = None, **spec: Any
    ) -> JobResult:
        script = tmp_path / "job.py"
        script.write_text(textwrap.dedent(code))
        manifest = load_manifest(manifest_dict(interface, **(job or {})))
        spec.setdefault("job_dir", tmp_path / "job")
        return await run_job(
            JobSpec(
                manifest=manifest,
                entrypoint=shlex.join([sys.executable, str(script)]),
                **spec,
            )
        )

    return run
