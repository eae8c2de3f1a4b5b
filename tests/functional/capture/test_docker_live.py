"""The docker runtime against a real Docker engine (runs only where ``docker info`` succeeds)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from capture.contract.runner import JobSpec, StagedInput, run_job
from capture.seed import load_manifest, manifest_from_image
from tests.functional.capture.conftest import manifest_dict

IMAGE = "busybox:1.36"
pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture(scope="module")
def docker_image() -> str:
    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "info"], capture_output=True).returncode:
        pytest.skip("no Docker engine answers here; argument building is covered by unit tests")
    if subprocess.run([docker, "image", "inspect", IMAGE], capture_output=True).returncode:
        subprocess.run([docker, "pull", IMAGE], check=True, capture_output=True, timeout=300)
    return IMAGE


async def test_a_docker_job_sees_scale_paths_and_its_output_is_captured(
    tmp_path: Path, docker_image: str
):
    src = tmp_path / "in put.txt"
    src.write_text("hello")
    manifest = load_manifest(
        manifest_dict(
            {
                # Single quotes: the container's sh, not the runner, expands these.
                "command": '-c \'cp "$IN" $OUTPUT_DIR/copy.txt && echo "$IN" > $OUTPUT_DIR/where\'',
                "inputs": {"files": [{"name": "IN"}]},
                "outputs": {
                    "files": [
                        {"name": "COPY", "pattern": "copy.txt"},
                        {"name": "WHERE", "pattern": "where"},
                    ]
                },
            },
            resources={"scalar": [{"name": "cpus", "value": 0.5}, {"name": "mem", "value": 64}]},
        )
    )
    result = await run_job(
        JobSpec(
            manifest=manifest,
            job_dir=tmp_path / "job",
            inputs={"IN": [StagedInput(src)]},
            runtime="docker",
            image=docker_image,
            entrypoint="sh",
        )
    )
    assert result.status == "COMPLETED", result.log_path and result.log_path.read_text()
    assert (result.output_dir / "copy.txt").read_text() == "hello"
    assert (result.output_dir / "where").read_text().strip() == "/scale/input_data/IN/in put.txt"


async def test_a_docker_job_past_its_timeout_is_removed(tmp_path: Path, docker_image: str):
    manifest = load_manifest(manifest_dict({"command": "-c 'sleep 60'"}, timeout=2))
    result = await run_job(
        JobSpec(
            manifest=manifest,
            job_dir=tmp_path / "job",
            runtime="docker",
            image=docker_image,
            entrypoint="sh",
        )
    )
    assert result.error is not None and result.error.name == "timeout"
    names = subprocess.run(
        ["docker", "ps", "-a", "--format", "{{.Names}}"], capture_output=True, text=True
    ).stdout
    assert f"seedpipe-probe-{result.job_id[:12]}" not in names


def test_the_manifest_is_read_from_an_image_label(tmp_path: Path, docker_image: str):
    label = json.dumps(manifest_dict({"command": "x"}), separators=(",", ":"))
    (tmp_path / "Dockerfile").write_text(
        f"FROM {docker_image}\nLABEL com.ngageoint.seed.manifest={json.dumps(label)}\n"
    )
    tag = f"seedpipe-test-label:{tmp_path.name.lower()}"
    subprocess.run(["docker", "build", "-q", "-t", tag, str(tmp_path)], check=True, timeout=300)
    try:
        assert manifest_from_image(tag).job.name == "probe"
    finally:
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True)
