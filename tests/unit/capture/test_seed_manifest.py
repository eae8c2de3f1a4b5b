"""Seed 1.0.0 manifests: the schema's checks, the extra rules, defaults and image labels."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from capture.seed import load_manifest, normalize, parse_label, validate_manifest
from seedpipe.errors import ManifestError

WATERMARK = Path(__file__).parents[3] / "examples" / "watermark" / "seed.manifest.json"


def minimal(**job: Any) -> dict[str, Any]:
    """The shape of the spec's random-number example: only the required members."""
    body = {
        "name": "random-number-gen",
        "jobVersion": "0.1.0",
        "packageVersion": "0.1.0",
        "title": "Random Number Generator",
        "description": "Generates a random number and outputs on stdout",
        "maintainer": {"name": "Jane Roe", "email": "jroe@example.com"},
        "timeout": 10,
    }
    body.update(job)
    return {"seedVersion": "1.0.0", "job": body}


def complete() -> dict[str, Any]:
    """The shape of the spec's 'complete' example: every member the schema knows."""
    return minimal(
        name="my-job",
        tags=["hdf5", "png"],
        maintainer={
            "name": "Jane Roe",
            "organization": "Example Org",
            "email": "jroe@example.com",
            "url": "http://www.example.com",
            "phone": "555-0100",
        },
        interface={
            "command": "${INPUT_FILE} ${OUTPUT_DIR} ${VERSION}",
            "inputs": {
                "files": [
                    {
                        "name": "INPUT_FILE",
                        "required": True,
                        "mediaTypes": ["image/x-hdf5-image"],
                        "partial": True,
                    }
                ],
                "json": [{"name": "INPUT_JSON", "type": "string", "required": True}],
            },
            "outputs": {
                "files": [
                    {
                        "name": "output_file_pngs",
                        "mediaType": "image/png",
                        "multiple": True,
                        "pattern": "outfile*.png",
                    },
                    {
                        "name": "output_file_csv",
                        "mediaType": "text/csv",
                        "pattern": "outfile*.csv",
                        "required": False,
                    },
                ],
                "json": [
                    {"name": "cell_count", "key": "cellCount", "type": "integer"},
                    {"name": "dummy", "type": "integer", "required": False},
                ],
            },
            "mounts": [
                {"name": "MOUNT_PATH", "path": "/the/container/path", "mode": "ro"},
                {"name": "WRITE_PATH", "path": "/write", "mode": "rw"},
            ],
            "settings": [
                {"name": "VERSION", "secret": False},
                {"name": "DB_PASS", "secret": True},
            ],
        },
        resources={
            "scalar": [
                {"name": "cpus", "value": 1},
                {"name": "mem", "value": 1024},
                {"name": "sharedMem", "value": 1024},
                {"name": "disk", "value": 1000, "inputMultiplier": 4},
            ]
        },
        errors=[
            {"code": 1, "name": "error-name-one", "title": "E1", "category": "data"},
            {"code": 2, "name": "error-name-two", "description": "E2", "category": "job"},
        ],
    )


def extractor() -> dict[str, Any]:
    """The shape of the spec's extractor example: a multiple input and a multiple output."""
    return minimal(
        name="extractor",
        interface={
            "command": "-d ${OUTPUT_DIR} ${ZIP}",
            "inputs": {"files": [{"name": "ZIP", "mediaTypes": ["application/zip"]}]},
            "outputs": {"files": [{"name": "EXTRACTED", "pattern": "*", "multiple": True}]},
            "settings": [{"name": "HELLO"}],
        },
        resources={"scalar": [{"name": "cpus", "value": 0.5}, {"name": "mem", "value": 16.0}]},
    )


def addition() -> dict[str, Any]:
    """The shape of the spec's addition example: JSON inputs in, JSON outputs back."""
    return minimal(
        name="addition-algorithm",
        interface={
            "command": "${X} ${Y} ${OUTPUT_DIR}",
            "inputs": {
                "json": [{"name": "x", "type": "integer"}, {"name": "y", "type": "integer"}]
            },
            "outputs": {"json": [{"name": "z", "type": "integer"}]},
        },
    )


def paths(data: Any) -> list[str]:
    return [p.json_path for p in validate_manifest(data)]


@pytest.mark.parametrize("build", [minimal, complete, extractor, addition])
def test_the_spec_example_shapes_are_valid(build: Any) -> None:
    assert validate_manifest(build()) == []
    assert load_manifest(build()).seedVersion == "1.0.0"


def test_the_watermark_example_manifest_is_valid() -> None:
    manifest = load_manifest(WATERMARK)
    assert manifest.job.interface.outputs.files[0].pattern == "*_watermark.png"
    assert manifest.job.errors[0].category == "data"


def test_the_spec_defaults_are_applied() -> None:
    m = load_manifest(extractor())
    zip_input = m.job.interface.inputs.files[0]
    assert (zip_input.required, zip_input.multiple, zip_input.partial) == (True, False, False)
    assert m.job.interface.settings[0].secret is False
    mf = load_manifest(complete())
    assert mf.job.interface.outputs.files[0].required is True
    assert mf.job.interface.outputs.json_[1].member == "dummy"
    assert mf.job.interface.outputs.json_[0].member == "cellCount"
    raw = complete()
    raw["job"]["interface"]["mounts"][0].pop("mode")
    raw["job"]["errors"][0].pop("category")
    m2 = load_manifest(raw)
    assert m2.job.interface.mounts[0].mode == "ro"
    assert m2.job.errors[0].category == "job"


@pytest.mark.parametrize(
    "member", ["name", "jobVersion", "packageVersion", "title", "description", "timeout"]
)
def test_a_missing_required_job_member_is_reported_at_its_path(member: str) -> None:
    data = minimal()
    del data["job"][member]
    assert paths(data) == [f"$.job.{member}"]


def test_maintainer_needs_name_and_email() -> None:
    data = minimal(maintainer={"name": "x"})
    assert paths(data) == ["$.job.maintainer.email"]


def test_unknown_members_are_refused_everywhere() -> None:
    data = complete()
    data["extra"] = 1
    data["job"]["interface"]["inputs"]["files"][0]["colour"] = "red"
    data["job"]["resources"]["scalar"][0]["unit"] = "cores"
    assert set(paths(data)) == {
        "$.extra",
        "$.job.interface.inputs.files[0].colour",
        "$.job.resources.scalar[0].unit",
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "has space"),
        ("name", "under_score"),
        ("jobVersion", "1.0"),
        ("jobVersion", "01.0.0"),
        ("packageVersion", "v1.0.0"),
    ],
)
def test_job_name_and_semver_patterns_are_enforced(field: str, value: str) -> None:
    problems = validate_manifest(minimal(**{field: value}))
    assert [p.json_path for p in problems] == [f"$.job.{field}"]
    assert repr(value) in problems[0].message


def test_semver_with_prerelease_and_build_is_accepted() -> None:
    assert validate_manifest(minimal(jobVersion="1.0.0-rc.1+build.5")) == []


def test_seed_version_must_be_1_0_0() -> None:
    data = minimal()
    data["seedVersion"] = "0.1.0"
    assert paths(data) == ["$.seedVersion"]


def test_enums_are_enforced() -> None:
    data = complete()
    data["job"]["errors"][0]["category"] = "system"
    data["job"]["interface"]["mounts"][0]["mode"] = "rwx"
    data["job"]["interface"]["inputs"]["json"][0]["type"] = "str"
    assert set(paths(data)) == {
        "$.job.errors[0].category",
        "$.job.interface.mounts[0].mode",
        "$.job.interface.inputs.json[0].type",
    }


def test_types_are_not_coerced() -> None:
    data = minimal(timeout="10")
    data["job"]["interface"] = {"inputs": {"files": [{"name": "A", "required": "yes"}]}}
    assert set(paths(data)) == {"$.job.timeout", "$.job.interface.inputs.files[0].required"}


def test_interface_names_must_match_the_name_pattern() -> None:
    data = minimal(interface={"settings": [{"name": "bad name"}]})
    assert paths(data) == ["$.job.interface.settings[0].name"]


def test_normalized_names_must_be_unique_across_inputs_json_settings_and_outputs() -> None:
    data = minimal(
        interface={
            "inputs": {
                "files": [{"name": "in-put"}],
                "json": [{"name": "IN_PUT", "type": "string"}],
            },
            "settings": [{"name": "In_Put"}],
            "outputs": {"files": [{"name": "in_put", "pattern": "*.x"}]},
        }
    )
    problems = validate_manifest(data)
    assert [p.json_path for p in problems] == [
        "$.job.interface.inputs.json[0].name",
        "$.job.interface.settings[0].name",
        "$.job.interface.outputs.files[0].name",
    ]
    assert all("IN_PUT" in p.message for p in problems)


def test_an_input_may_not_collide_with_an_allocated_resource_variable() -> None:
    data = minimal(
        interface={"settings": [{"name": "ALLOCATED_MEM"}]},
        resources={"scalar": [{"name": "mem", "value": 1}]},
    )
    assert paths(data) == ["$.job.resources.scalar[0].name"]


@pytest.mark.parametrize("name", ["OUTPUT_DIR", "output-dir", "input_metadata"])
def test_reserved_variable_names_are_refused(name: str) -> None:
    data = minimal(interface={"inputs": {"files": [{"name": name}]}})
    problems = validate_manifest(data)
    assert [p.json_path for p in problems] == ["$.job.interface.inputs.files[0].name"]
    assert "reserved" in problems[0].message


def test_mount_paths_must_be_absolute() -> None:
    data = minimal(interface={"mounts": [{"name": "REF", "path": "relative/dir"}]})
    assert paths(data) == ["$.job.interface.mounts[0].path"]


@pytest.mark.parametrize("pattern", ["../*.png", "/etc/*", "sub/../../x", "**/*.png", ""])
def test_output_patterns_must_stay_inside_output_dir(pattern: str) -> None:
    data = minimal(interface={"outputs": {"files": [{"name": "O", "pattern": pattern}]}})
    assert paths(data) == ["$.job.interface.outputs.files[0].pattern"]


def test_error_codes_must_be_unique() -> None:
    data = minimal(errors=[{"code": 1, "name": "a"}, {"code": 1, "name": "b"}])
    assert paths(data) == ["$.job.errors[1].code"]


def test_every_problem_is_listed_at_once() -> None:
    data = minimal(name="bad name", jobVersion="x", timeout=-1)
    del data["job"]["title"]
    assert set(paths(data)) == {"$.job.name", "$.job.jobVersion", "$.job.title", "$.job.timeout"}


def test_load_manifest_raises_with_every_problem_and_the_file(tmp_path: Path) -> None:
    path = tmp_path / "seed.manifest.json"
    data = minimal(name="bad name")
    del data["job"]["title"]
    path.write_text(json.dumps(data))
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    assert str(path) in str(info.value)
    assert {p for p, _ in info.value.problems} == {"$.job.name", "$.job.title"}


def test_a_file_that_is_not_json_is_a_manifest_error(tmp_path: Path) -> None:
    path = tmp_path / "seed.manifest.json"
    path.write_text("{not json")
    with pytest.raises(ManifestError, match="not JSON"):
        load_manifest(path)


def test_a_manifest_that_is_not_an_object_is_reported() -> None:
    assert paths([1, 2]) == ["$"]


def test_normalize_follows_the_seed_rules() -> None:
    assert normalize("my-demo-resourceNew") == "MY_DEMO_RESOURCENEW"


def test_plain_label_encoding_is_read() -> None:
    text = json.dumps(minimal())
    assert load_manifest(parse_label(text)).job.name == "random-number-gen"


def test_escaped_string_label_encodings_are_read() -> None:
    text = json.dumps(minimal(), separators=(",", ":"))
    backslashed = text.replace('"', '\\"')  # as a Dockerfile LABEL "..." leaves it
    as_json_string = json.dumps(text)  # the object serialized again as a JSON string
    for value in (backslashed, as_json_string):
        assert parse_label(value) == minimal()


def test_a_garbage_label_is_a_manifest_error() -> None:
    with pytest.raises(ManifestError):
        parse_label("not a manifest")
    with pytest.raises(ManifestError):
        parse_label("[1, 2]")


def test_validation_does_not_change_the_input() -> None:
    data = complete()
    before = copy.deepcopy(data)
    validate_manifest(data)
    assert data == before


@pytest.mark.parametrize("command", ["run ${X:-default}", "run 'unterminated", "${X"])
def test_a_command_the_runner_cannot_expand_is_reported(command: str) -> None:
    problems = validate_manifest(minimal(interface={"command": command}))
    assert [p.json_path for p in problems] == ["$.job.interface.command"]
