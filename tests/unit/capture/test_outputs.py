"""Output capture: glob matching confined to OUTPUT_DIR, and seed.outputs.json."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from capture.contract.outputs import json_outputs, match_output
from capture.seed import load_manifest
from capture.seed.models import OutputFile
from seedpipe.errors import InvalidInput, PathEscapeError
from tests.unit.capture.test_seed_manifest import addition, complete


def out(name: str, pattern: str) -> OutputFile:
    return OutputFile(name=name, pattern=pattern)


def test_matches_are_relative_sorted_and_skip_sidecars_and_outputs_json(tmp_path: Path) -> None:
    for name in ["b.png", "a.png", "a.png.metadata.json", "seed.outputs.json", "c.txt"]:
        (tmp_path / name).write_text("x")
    assert match_output(out("O", "*"), tmp_path) == ["a.png", "b.png", "c.txt"]
    assert match_output(out("O", "*.png"), tmp_path) == ["a.png", "b.png"]


def test_matching_is_not_recursive_but_a_known_subdirectory_works(tmp_path: Path) -> None:
    (tmp_path / "sub-1").mkdir()
    (tmp_path / "sub-1" / "deep.png").write_text("x")
    (tmp_path / "top.png").write_text("x")
    assert match_output(out("O", "*.png"), tmp_path) == ["top.png"]
    assert match_output(out("O", "sub-*/*.png"), tmp_path) == ["sub-1/deep.png"]
    assert match_output(out("O", "*"), tmp_path) == ["top.png"]  # directories are not files


@pytest.mark.parametrize("pattern", ["../*", "/etc/passwd", "a/../../*", "**/*.png"])
def test_patterns_that_could_leave_output_dir_are_refused(tmp_path: Path, pattern: str) -> None:
    with pytest.raises(InvalidInput):
        match_output(out("O", pattern), tmp_path)


def test_a_symlink_escaping_output_dir_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("do not capture")
    output = tmp_path / "out"
    output.mkdir()
    os.symlink(secret, output / "result.txt")
    with pytest.raises(PathEscapeError, match=r"result\.txt"):
        match_output(out("O", "*.txt"), output)


def test_a_symlinked_directory_escaping_output_dir_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "x.txt").write_text("x")
    output = tmp_path / "out"
    output.mkdir()
    os.symlink(elsewhere, output / "link")
    with pytest.raises(PathEscapeError):
        match_output(out("O", "link/*.txt"), output)


def test_a_symlink_inside_output_dir_is_captured(tmp_path: Path) -> None:
    (tmp_path / "real.txt").write_text("x")
    os.symlink(tmp_path / "real.txt", tmp_path / "alias.txt")
    assert match_output(out("O", "alias.txt"), tmp_path) == ["alias.txt"]


def test_json_outputs_use_key_or_name_and_are_type_checked(tmp_path: Path) -> None:
    m = load_manifest(complete())
    (tmp_path / "seed.outputs.json").write_text(json.dumps({"cellCount": 256, "dummy": 1}))
    assert json_outputs(m, tmp_path) == {"cell_count": 256, "dummy": 1}
    (tmp_path / "seed.outputs.json").write_text(json.dumps({"cellCount": 256}))
    assert json_outputs(m, tmp_path) == {"cell_count": 256}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"cellCount": "256"}, "cellCount: must be of JSON type integer"),
        ({"cellCount": True}, "cellCount: must be of JSON type integer"),
        ({"dummy": 1}, "cellCount: required"),
        ([1], "must be a JSON object"),
    ],
)
def test_bad_seed_outputs_json_names_the_file_and_member(
    tmp_path: Path, content: object, message: str
) -> None:
    m = load_manifest(complete())
    (tmp_path / "seed.outputs.json").write_text(json.dumps(content))
    with pytest.raises(InvalidInput, match=r"seed\.outputs\.json") as info:
        json_outputs(m, tmp_path)
    assert message in str(info.value)


def test_a_missing_seed_outputs_json_fails_only_when_a_json_output_is_required(
    tmp_path: Path,
) -> None:
    with pytest.raises(InvalidInput, match="missing"):
        json_outputs(load_manifest(addition()), tmp_path)
    data = addition()
    data["job"]["interface"]["outputs"]["json"][0]["required"] = False
    assert json_outputs(load_manifest(data), tmp_path) == {}
