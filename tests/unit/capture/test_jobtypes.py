"""Job types: manifests validated on load, entrypoints that run from any directory."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Any

import pytest

from capture.jobtypes import entrypoint_command, load_job_type
from seedpipe.errors import ConfigError
from seedpipe.settings import JobTypeSettings

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "watermark"


def job_type(**changes: Any) -> JobTypeSettings:
    data: dict[str, Any] = {
        "name": "image-watermark",
        "manifest": str(EXAMPLE / "seed.manifest.json"),
        "entrypoint": "python watermark.py",
        "output_workspace": "output",
    }
    data.update(changes)
    return JobTypeSettings.model_validate(data)


def test_the_watermark_job_type_loads_with_its_resources_and_inputs() -> None:
    jt = load_job_type(job_type(), EXAMPLE)
    assert (jt.name, jt.version, jt.cpus, jt.mem_mib, jt.timeout_s) == (
        "image-watermark",
        "0.1.0",
        1.0,
        64.0,
        30.0,
    )
    assert list(jt.inputs) == ["INPUT_IMAGE"]


def test_a_relative_entrypoint_runs_from_any_directory() -> None:
    argv = shlex.split(entrypoint_command(job_type(), EXAMPLE) or "")
    assert argv == [sys.executable, str(EXAMPLE / "watermark.py")]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "other"}, "name"),
        ({"entrypoint": None}, "entrypoint"),
        ({"runtime": "docker", "image": None}, "image"),
        ({"settings": {"NOPE": "x"}}, "settings"),
        ({"manifest": "/does/not/exist.json"}, "manifest"),
        ({"entrypoint": "python 'unclosed"}, "entrypoint"),
        ({"entrypoint": "/no/such/program --flag"}, "entrypoint"),
        ({"entrypoint": "no-such-program-on-path"}, "entrypoint"),
        ({"entrypoint": "python no_such_script.py"}, "entrypoint"),
        ({"entrypoint": str(EXAMPLE / "seed.manifest.json")}, "entrypoint"),
    ],
)
def test_a_bad_job_type_is_a_config_error_naming_the_field(
    changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(ConfigError, match=rf"job_types\[\w[\w-]*\]\.{field}"):
        load_job_type(job_type(**changes), EXAMPLE)


def test_an_invalid_manifest_lists_its_problems(tmp_path: Path) -> None:
    bad = tmp_path / "seed.manifest.json"
    bad.write_text(json.dumps({"seedVersion": "1.0.0", "job": {"name": "image-watermark"}}))
    with pytest.raises(ConfigError, match="not a valid Seed manifest"):
        load_job_type(job_type(manifest=str(bad)), tmp_path)


def test_a_sandbox_is_refused_at_start_up_for_docker_and_where_bwrap_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from capture.runtimes import sandbox

    with pytest.raises(ConfigError, match=r"sandbox: only the process runtime"):
        load_job_type(job_type(runtime="docker", image="img", sandbox=True), EXAMPLE)
    monkeypatch.setattr(sandbox, "bwrap_path", lambda: None)
    sandbox.unusable.cache_clear()
    try:
        with pytest.raises(ConfigError, match=r"sandbox: bwrap is not on PATH.*apt-get install"):
            load_job_type(job_type(sandbox=True), EXAMPLE)
    finally:
        sandbox.unusable.cache_clear()
