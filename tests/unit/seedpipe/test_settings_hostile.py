"""Hostile settings: bad paths and bad environment values fail at start-up, exit 2, naming the
setting and where its value came from, never with a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from seedpipe.cli import main

STRIKE = """
data_dir = "{data_dir}"
[workspaces.raw]
url = "raw"
[[strikes]]
name = "s"
drop = "{drop}"
workspace = "raw"
"""


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


def _config(tmp_path: Path, data_dir: str = "data", drop: str = "drop") -> Path:
    cfg = tmp_path / "seedpipe.toml"
    cfg.write_text(STRIKE.format(data_dir=data_dir, drop=drop))
    return cfg


@pytest.mark.parametrize(
    ("data_dir", "drop", "setting"),
    [
        ("data", "/proc/nonexistent/drop", "strikes[s].drop"),
        ("data", "a_file", "strikes[s].drop"),
        ("data", "a_file/below", "strikes[s].drop"),
        ("a_file", "drop", "data_dir"),
    ],
)
def test_a_path_setting_that_cannot_be_a_directory_exits_2_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], data_dir: str, drop: str, setting: str
) -> None:
    (tmp_path / "a_file").write_text("x")
    cfg = _config(tmp_path, data_dir, drop)
    code, err = _run(capsys, "ingests", "list", "--config", str(cfg))
    assert code == 2
    assert setting in err


def test_a_config_that_is_a_directory_exits_2_naming_the_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _run(capsys, "jobs", "list", "--config", str(tmp_path))
    assert code == 2
    assert "--config" in err and "is a directory" in err


@pytest.mark.parametrize(
    ("var", "value", "named"),
    [
        ("SEEDPIPE_API__PORT", "abc", "api.port"),
        ("SEEDPIPE_STRIKES__0__SETTLE_S", "x", "strikes"),
        ("SEEDPIPE_API", '{"port": "x"}', "api.port"),
        ("SEEDPIPE_API", "{not json", "api"),
        ("SEEDPIPE_DATA_DIR", "a_file", "data_dir"),
    ],
)
def test_a_bad_environment_override_names_the_variable_not_the_file(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    var: str,
    value: str,
    named: str,
) -> None:
    (tmp_path / "a_file").write_text("x")
    cfg = _config(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(var, value if value != "a_file" else str(tmp_path / "a_file"))
    code, err = _run(capsys, "jobs", "list", "--config", str(cfg))
    assert code == 2
    assert f"environment variable {var}" in err
    assert named in err
    assert "seedpipe.toml" not in err


def test_a_bad_value_in_the_file_still_names_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "base.toml"
    cfg.write_text('[api]\nport = "abc"\n')
    code, err = _run(capsys, "jobs", "list", "--config", str(cfg))
    assert code == 2
    assert "base.toml" in err and "api.port" in err and "environment" not in err


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("SEEDPIPE_API__PORT", "hunter2-secret"),
        ("SEEDPIPE_API", '{"port": "hunter2-secret"}'),
        ("SEEDPIPE_API", "{hunter2-secret"),
        ("SEEDPIPE_WORKSPACES", '{"w": {"url": "s3://b", "secret_access_key": 7, "x": "hunter2"}}'),
    ],
)
def test_a_bad_environment_value_is_never_echoed(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    var: str,
    value: str,
) -> None:
    monkeypatch.setenv(var, value)
    code, err = _run(capsys, "jobs", "list", "--config", str(_config(tmp_path)))
    assert code == 2 and var in err
    assert "hunter2" not in err
