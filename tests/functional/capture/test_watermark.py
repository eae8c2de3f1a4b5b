"""The document's watermark job end to end, through the library and the ``seedpipe`` CLI."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from capture.contract.runner import JobSpec, StagedInput, run_job
from capture.seed import load_manifest

ROOT = Path(__file__).parents[3]
EXAMPLE = ROOT / "examples" / "watermark"
MANIFEST = EXAMPLE / "seed.manifest.json"
ENTRYPOINT = shlex.join([sys.executable, str(EXAMPLE / "watermark.py")])
CLI = [sys.executable, "-c", "import sys; from seedpipe.cli import main; sys.exit(main())"]


def png(path: Path, **text: str) -> Path:
    info = PngImagePlugin.PngInfo()
    for key, value in text.items():
        info.add_text(key, value)
    Image.new("RGB", (80, 60), (20, 90, 160)).save(path, format="PNG", pnginfo=info)
    return path


def seedpipe(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=ROOT, timeout=60)


async def test_the_watermark_job_watermarks_a_png_and_captures_its_sidecars(tmp_path: Path):
    source = png(tmp_path / "unmarked.png", longitude="-77.0", latitude="38.9")
    result = await run_job(
        JobSpec(
            manifest=load_manifest(MANIFEST),
            job_dir=tmp_path / "job",
            inputs={"INPUT_IMAGE": [StagedInput(source)]},
            entrypoint=ENTRYPOINT,
        )
    )
    assert result.status == "COMPLETED", result.error
    (product,) = result.outputs["OUTPUT_IMAGE"]
    assert product.file_name == "unmarked_watermark.png"
    assert product.media_type == "image/png"
    assert product.geometry == {"type": "Point", "coordinates": [-77.0, 38.9]}
    assert product.data_started and product.data_started.isoformat() == "2019-10-14T00:00:00+00:00"
    assert product.data_ended and product.data_ended.isoformat() == "2019-10-14T00:01:00+00:00"
    with Image.open(result.output_dir / product.file_path) as marked:
        assert marked.format == "PNG" and marked.size == (80, 60)
        assert marked.convert("RGB").getpixel((2, 2)) != (20, 90, 160) or any(
            marked.convert("RGB").getpixel((x, y)) != (20, 90, 160)
            for x in range(80)
            for y in range(60)
        )
    assert result.input_metadata["INPUT_IMAGE"]["data_types"] == ["image", "png"]
    assert result.input_records["INPUT_IMAGE"][0].data_type_tags == ["image", "png"]


async def test_a_non_png_input_is_the_manifests_data_error(tmp_path: Path):
    bogus = tmp_path / "fake.png"
    bogus.write_bytes(b"GIF89a not really a png")
    result = await run_job(
        JobSpec(
            manifest=load_manifest(MANIFEST),
            job_dir=tmp_path / "job",
            inputs={"INPUT_IMAGE": [StagedInput(bogus)]},
            entrypoint=ENTRYPOINT,
        )
    )
    assert result.status == "FAILED"
    assert result.exit_code == 1
    assert result.error and result.error.name == "image-Corrupt-1"
    assert result.error.category == "data"
    assert "not a valid PNG" in (result.log_path.read_text() if result.log_path else "")


def test_job_run_prints_the_result_document_and_exits_0(tmp_path: Path):
    source = png(tmp_path / "my image; $(rm -rf x).png")
    proc = seedpipe(
        "job", "run", str(MANIFEST), "-o", str(tmp_path / "out"),
        "-i", f"INPUT_IMAGE={source}", "--entrypoint", ENTRYPOINT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert list(doc) == [
        "status", "exit_code", "error", "outputs", "json_outputs", "input_metadata", "duration_s",
    ]  # fmt: skip
    assert doc["status"] == "COMPLETED" and doc["exit_code"] == 0 and doc["error"] is None
    (product,) = doc["outputs"]["OUTPUT_IMAGE"]
    assert product["file_name"] == "my image; $(rm -rf x)_watermark.png"
    assert product["file_type"] == "PRODUCT"
    assert product["geometry"]["type"] == "Point"
    assert doc["input_metadata"]["INPUT_IMAGE"]["data_types"] == ["image", "png"]
    assert isinstance(doc["duration_s"], float)
    assert (tmp_path / "out" / "my image; $(rm -rf x)_watermark.png").exists()


def test_job_run_exits_1_with_the_error_when_the_job_fails(tmp_path: Path):
    bogus = tmp_path / "fake.png"
    bogus.write_text("nope")
    proc = seedpipe(
        "job", "run", str(MANIFEST), "-o", str(tmp_path / "out"),
        "-i", f"INPUT_IMAGE={bogus}", "--entrypoint", ENTRYPOINT,
    )  # fmt: skip
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    assert doc["status"] == "FAILED"
    assert doc["error"] == {
        "code": 1,
        "name": "image-Corrupt-1",
        "title": None,
        "description": "Image input is not recognized as a valid PNG.",
        "category": "data",
    }


@pytest.mark.parametrize(
    "args",
    [
        ["-i", "INPUT_IMAGE"],  # not NAME=PATH
        [],  # required input missing
        ["-i", "NOT_AN_INPUT=/etc/hostname"],
    ],
)
def test_job_run_exits_2_on_usage_errors(tmp_path: Path, args: list[str]):
    proc = seedpipe("job", "run", str(MANIFEST), "-o", str(tmp_path / "out"), *args)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "INPUT_IMAGE" in proc.stderr or "NOT_AN_INPUT" in proc.stderr


def test_job_run_exits_2_on_an_invalid_manifest(tmp_path: Path):
    bad = tmp_path / "seed.manifest.json"
    bad.write_text(json.dumps({"seedVersion": "1.0.0", "job": {"name": "x y"}}))
    proc = seedpipe("job", "run", str(bad), "-o", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert "$.job.name" in proc.stderr and "$.job.title" in proc.stderr


def test_job_run_gives_a_multiple_input_several_files_and_json_inputs(tmp_path: Path):
    manifest = {
        "seedVersion": "1.0.0",
        "job": {
            "name": "count", "jobVersion": "1.0.0", "packageVersion": "1.0.0", "title": "Count",
            "description": "Counts files", "maintainer": {"name": "J", "email": "j@example.com"},
            "timeout": 30,
            "interface": {
                "command": "${FILES} ${OUTPUT_DIR} ${LABEL} ${LIMIT}",
                "inputs": {
                    "files": [{"name": "FILES", "multiple": True}],
                    "json": [{"name": "LABEL", "type": "string"},
                             {"name": "LIMIT", "type": "integer"}],
                },
                "outputs": {"json": [{"name": "count", "type": "integer"},
                                     {"name": "echo", "key": "label", "type": "string"}]},
                "settings": [{"name": "MODE"}],
            },
        },
    }  # fmt: skip
    path = tmp_path / "seed.manifest.json"
    path.write_text(json.dumps(manifest))
    script = tmp_path / "count.py"
    script.write_text(
        "import json, os, sys\n"
        "d, out, label, limit = sys.argv[1:5]\n"
        "assert os.environ['MODE'] == 'fast'\n"
        "json.dump({'count': min(len(os.listdir(d)), int(limit)), 'label': label},"
        " open(os.path.join(out, 'seed.outputs.json'), 'w'))\n"
    )
    inputs = []
    for name in ("a.txt", "b.txt", "c.txt"):
        (tmp_path / name).write_text(name)
        inputs += ["-i", f"FILES={tmp_path / name}"]
    proc = seedpipe(
        "job", "run", str(path), "-o", str(tmp_path / "out"), *inputs,
        "-j", "LABEL=three files", "-j", "LIMIT=10", "-e", "MODE=fast",
        "--entrypoint", shlex.join([sys.executable, str(script)]),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["json_outputs"] == {"count": 3, "echo": "three files"}


def test_manifest_validate_exits_0_for_a_valid_manifest():
    proc = seedpipe("manifest", "validate", str(MANIFEST))
    assert proc.returncode == 0
    assert "valid" in proc.stdout


def test_manifest_validate_lists_every_problem_with_its_json_path(tmp_path: Path):
    data = json.loads(MANIFEST.read_text())
    data["job"]["jobVersion"] = "1"
    data["job"]["interface"]["inputs"]["files"].append({"name": "input-image"})
    data["job"]["interface"]["mounts"] = [{"name": "REF", "path": "ref"}]
    bad = tmp_path / "seed.manifest.json"
    bad.write_text(json.dumps(data))
    proc = seedpipe("manifest", "validate", str(bad))
    assert proc.returncode == 1
    for path in (
        "$.job.jobVersion",
        "$.job.interface.inputs.files[1].name",
        "$.job.interface.mounts[0].path",
    ):
        assert path in proc.stdout


def _watermark(*args: str) -> subprocess.CompletedProcess[str]:
    script = str(EXAMPLE / "watermark.py")
    return subprocess.run(
        [sys.executable, script, *args], capture_output=True, text=True, timeout=60
    )


def test_a_crash_of_the_example_job_is_the_algorithm_failure_not_a_data_error(tmp_path: Path):
    # A valid PNG whose product name is too long to write (ENAMETOOLONG) is no corrupt image.
    source = png(tmp_path / ("n" * 245 + ".png"))
    out = tmp_path / "out"
    out.mkdir()
    proc = _watermark(str(source), str(out))
    assert proc.returncode == 2, proc.stderr
    assert "not a valid PNG" not in proc.stderr and "File name too long" in proc.stderr
    missing = _watermark(str(tmp_path / "gone.png"), str(out))
    assert missing.returncode == 2, missing.stderr


def test_only_an_input_that_is_not_a_png_exits_with_the_data_error(tmp_path: Path):
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "text.png").write_text("nope")
    good = png(tmp_path / "cut.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(good[: len(good) // 2])
    for name in ("text.png", "cut.png"):
        proc = _watermark(str(tmp_path / name), str(out))
        assert proc.returncode == 1, (name, proc.stderr)
        assert "not a valid PNG" in proc.stderr
