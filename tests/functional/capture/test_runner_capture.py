"""What the runner captures after a job: products, sidecars, JSON outputs, input metadata."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from capture.contract.runner import StagedInput
from capture.contract.sidecars import MAX_SIDECAR_BYTES
from tests.functional.capture.conftest import Runner

# The job writes each "name": content pair of WRITE (a JSON input) under OUTPUT_DIR.
WRITER = """
import json, os
out = os.environ["OUTPUT_DIR"]
for name, content in json.loads(os.environ["WRITE"]).items():
    path = os.path.join(out, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if content is None:
        os.symlink("/etc/hostname", path)
    elif isinstance(content, int):
        with open(path, "wb") as fh:
            fh.truncate(content)
    else:
        open(path, "w").write(content if isinstance(content, str) else json.dumps(content))
"""


def interface(*outputs: dict, json_outputs: list | None = None) -> dict:
    return {
        "command": "",
        "inputs": {"json": [{"name": "WRITE", "type": "object"}]},
        "outputs": {"files": list(outputs), "json": json_outputs or []},
    }


async def write(run_script: Runner, files: dict, *outputs: dict, **kw: object):
    json_outputs: Any = kw.pop("json_outputs", None)
    return await run_script(
        WRITER, interface(*outputs, json_outputs=json_outputs), json_inputs={"WRITE": files}, **kw
    )


POINT = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [1.5, 2.5]}}


async def test_products_are_recorded_with_contract_fields(tmp_path: Path, run_script: Runner):
    src = tmp_path / "in.txt"
    src.write_text("input")
    result = await write(
        run_script,
        {"a.tif": "x" * 10, "a.tif.metadata.json": POINT},
        {"name": "TIFS", "pattern": "*.tif", "mediaType": "image/tiff"},
        inputs={},
        job_id="job-42",
    )
    assert result.status == "COMPLETED", result.error
    (record,) = result.outputs["TIFS"]
    assert record.file_type == "PRODUCT"
    assert record.file_path == "a.tif"
    assert record.workspace.name == "local"
    assert record.media_type == "image/tiff"
    assert record.file_size == 10
    assert record.checksum and record.checksum.startswith("sha256:")
    assert record.job == "job-42"
    assert record.job_output == "TIFS"
    assert record.job_type and record.job_type.name == "probe"
    assert record.geometry == POINT["geometry"]
    assert record.center_point == {"type": "Point", "coordinates": [1.5, 2.5]}


async def test_media_type_is_detected_when_the_manifest_gives_none(run_script: Runner):
    gj = {"type": "FeatureCollection", "features": []}
    result = await write(
        run_script, {"out.geojson": gj, "b.png": "x"}, {"name": "O", "pattern": "*.geojson"}
    )
    assert result.outputs["O"][0].media_type == "application/geo+json"


async def test_products_descend_from_the_job_inputs(tmp_path: Path, run_script: Runner):
    src = tmp_path / "in.dat"
    src.write_text("in")
    code = "import os; open(os.path.join(os.environ['OUTPUT_DIR'], 'o.dat'), 'w').write('o')"
    iface = {
        "command": "",
        "inputs": {"files": [{"name": "IN"}]},
        "outputs": {"files": [{"name": "O", "pattern": "o.dat"}]},
    }
    result = await run_script(code, iface, inputs={"IN": [StagedInput(src)]})
    product = result.outputs["O"][0]
    assert product.ancestors and len(product.ancestors) == 1


async def test_a_required_output_with_no_match_fails_the_job(run_script: Runner):
    result = await write(run_script, {"other.txt": "x"}, {"name": "O", "pattern": "*.tif"})
    assert result.status == "FAILED"
    assert result.exit_code == 0
    assert result.error.name == "missing-required-output"
    assert result.error.category == "job"


async def test_an_optional_output_with_no_match_is_empty(run_script: Runner):
    result = await write(
        run_script, {"x.txt": "x"}, {"name": "O", "pattern": "*.tif", "required": False}
    )
    assert result.ok and result.outputs == {"O": []}


async def test_a_single_output_matching_several_files_fails_the_job(run_script: Runner):
    result = await write(
        run_script, {"a.tif": "1", "b.tif": "2"}, {"name": "O", "pattern": "*.tif"}
    )
    assert result.error.name == "too-many-outputs"
    assert (result.output_dir / "a.tif").exists()  # nothing the job wrote is deleted


async def test_a_multiple_output_captures_every_match(run_script: Runner):
    files = {f"p{i}.png": str(i) for i in range(3)}
    result = await write(run_script, files, {"name": "O", "pattern": "p*.png", "multiple": True})
    assert [r.file_name for r in result.outputs["O"]] == ["p0.png", "p1.png", "p2.png"]


async def test_an_output_in_a_known_subdirectory_keeps_its_relative_path(run_script: Runner):
    result = await write(run_script, {"sub-1/a.csv": "x"}, {"name": "O", "pattern": "sub-*/*.csv"})
    assert result.outputs["O"][0].file_path == "sub-1/a.csv"
    assert result.outputs["O"][0].file_name == "a.csv"


async def test_a_symlink_escaping_output_dir_fails_the_job(run_script: Runner):
    result = await write(run_script, {"leak.txt": None}, {"name": "O", "pattern": "*.txt"})
    assert result.status == "FAILED"
    assert result.error.name == "invalid-output"
    assert "leak.txt" in (result.error.description or "")


@pytest.mark.parametrize(
    ("sidecar", "detail"),
    [
        ("{garbage", "not valid JSON"),
        ({"type": "FeatureCollection", "features": []}, "FeatureCollection"),
        ({"type": "Feature", "properties": {"dataStarted": "soon"}}, "properties.dataStarted"),
        (MAX_SIDECAR_BYTES + 1, "limit"),
    ],
)
async def test_an_invalid_sidecar_fails_the_job_naming_file_and_field(
    run_script: Runner, sidecar: object, detail: str
):
    result = await write(
        run_script,
        {"a.tif": "x", "a.tif.metadata.json": sidecar},
        {"name": "O", "pattern": "*.tif"},
    )
    assert result.status == "FAILED"
    assert result.error.name == "invalid-sidecar"
    assert "a.tif.metadata.json" in (result.error.description or "")
    assert detail in (result.error.description or "")
    assert result.outputs == {}
    assert (result.output_dir / "a.tif").exists()
    assert (result.output_dir / "a.tif.metadata.json").exists()


async def test_json_outputs_come_from_seed_outputs_json(run_script: Runner):
    json_outputs = [
        {"name": "cell_count", "key": "cellCount", "type": "integer"},
        {"name": "label", "type": "string", "required": False},
    ]
    result = await write(
        run_script, {"seed.outputs.json": {"cellCount": 256}}, json_outputs=json_outputs
    )
    assert result.ok
    assert result.json_outputs == {"cell_count": 256}


async def test_an_invalid_seed_outputs_json_fails_the_job(run_script: Runner):
    result = await write(
        run_script,
        {"seed.outputs.json": {"cellCount": "many"}},
        json_outputs=[{"name": "cell_count", "key": "cellCount", "type": "integer"}],
    )
    assert result.error.name == "invalid-outputs-json"
    assert "seed.outputs.json: cellCount" in (result.error.description or "")


async def test_the_addition_example_shape_runs_json_in_and_out(run_script: Runner):
    code = """
    import json, os, sys
    x, y, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    json.dump({"z": x + y}, open(os.path.join(out, "seed.outputs.json"), "w"))
    """
    iface = {
        "command": "${X} ${Y} ${OUTPUT_DIR}",
        "inputs": {"json": [{"name": "x", "type": "integer"}, {"name": "y", "type": "integer"}]},
        "outputs": {"json": [{"name": "z", "type": "integer"}]},
    }
    result = await run_script(code, iface, json_inputs={"x": 2, "y": 40})
    assert result.ok and result.json_outputs == {"z": 42}


async def test_an_input_metadata_sidecar_updates_the_input_record(
    tmp_path: Path, run_script: Runner
):
    src = tmp_path / "scene.dat"
    src.write_text("scene")
    code = """
    import json, os
    json.dump({"type": "Feature",
               "geometry": {"type": "Point", "coordinates": [125.6, 10.1]},
               "properties": {"dataStarted": "2019-10-14T00:00:00Z", "dataTypes": ["one", "two"],
                              "cloud": 3}},
              open(os.path.join(os.environ["OUTPUT_DIR"], "INPUT_FILE.metadata.json"), "w"))
    """
    iface = {"command": "", "inputs": {"files": [{"name": "INPUT_FILE"}]}}
    result = await run_script(code, iface, inputs={"INPUT_FILE": [StagedInput(src)]})
    change = result.input_metadata["INPUT_FILE"]
    assert change["data_types"] == ["one", "two"]
    assert change["geometry"]["coordinates"] == [125.6, 10.1]
    assert change["data_started"] == "2019-10-14T00:00:00Z"
    (record,) = result.input_records["INPUT_FILE"]
    assert record.data_type_tags == ["one", "two"]
    assert record.meta_data["cloud"] == 3
    assert record.version == 2
    assert json.dumps(result.to_json())
