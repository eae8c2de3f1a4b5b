"""Unit tests of the shared contracts: settings, events, records, paths, registry, CLI."""

from __future__ import annotations

import pytest

from seedpipe.cli import main
from seedpipe.errors import ConfigError, InvalidInput, PathEscapeError, UnknownBackend
from seedpipe.events import FILE_INGESTED, CloudEvent, file_event
from seedpipe.paths import confined, safe_relpath
from seedpipe.records import MAX_INT64, FileRecord, WorkspaceRef, product_file_id
from seedpipe.registry import BackendRegistry
from seedpipe.settings import Settings, sqlite_path


def test_relative_sqlite_urls_resolve_against_the_data_dir(tmp_path):
    cfg = tmp_path / "seedpipe.toml"
    cfg.write_text('data_dir = "d"\n[bus]\nurl = "sqlite:///ev.db"\n')
    s = Settings.load(cfg)
    assert sqlite_path(s.bus.url) == tmp_path / "d" / "ev.db"
    # resolving twice changes nothing
    assert Settings.load(cfg, bus={"url": s.bus.url}).bus.url == s.bus.url


def test_environment_overrides_the_config_file(tmp_path, monkeypatch):
    cfg = tmp_path / "seedpipe.toml"
    cfg.write_text("[api]\nport = 9000\n")
    monkeypatch.setenv("SEEDPIPE_API__PORT", "9100")
    assert Settings.load(cfg).api.port == 9100


def test_bad_settings_name_the_field(tmp_path):
    cfg = tmp_path / "seedpipe.toml"
    cfg.write_text('[api]\nport = "nope"\n')
    with pytest.raises(ConfigError, match=r"api\.port"):
        Settings.load(cfg)


def test_unknown_workspace_in_a_strike_is_a_config_error(tmp_path):
    cfg = tmp_path / "seedpipe.toml"
    cfg.write_text('[[strikes]]\nname = "s"\ndrop = "drop"\nworkspace = "nowhere"\n')
    with pytest.raises(ConfigError, match="unknown workspace 'nowhere'"):
        Settings.load(cfg)


def test_secret_settings_never_print(tmp_path):
    cfg = tmp_path / "seedpipe.toml"
    cfg.write_text(
        '[workspaces.w]\nurl = "s3://b/p"\naccess_key_id = "AKIAXXXX"\n'
        'secret_access_key = "supersecret"\n'
    )
    s = Settings.load(cfg)
    assert "supersecret" not in repr(s) and "supersecret" not in s.model_dump_json()


def test_event_round_trips_and_carries_the_full_record():
    rec = FileRecord(file_name="a.png", workspace=WorkspaceRef(name="w"), file_path="x/a.png")
    ev = file_event(FILE_INGESTED, rec, source="test")
    back = CloudEvent.from_bytes(ev.to_bytes())
    assert back.key == rec.id
    assert back.file_record() == rec


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b"\xff\xfe", "$"),
        (b"{not json", "$"),
        (b"[]", "$"),
        (b'{"source": "s", "type": "nope"}', "type"),
    ],
)
def test_bad_event_payloads_name_what_is_wrong(raw, field):
    with pytest.raises(InvalidInput) as info:
        CloudEvent.from_bytes(raw)
    assert info.value.field == field


@pytest.mark.parametrize(
    ("field", "fields"),
    [
        ("data.file_size", lambda n: {"file_size": n}),
        ("data.version", lambda n: {"version": n}),
        (
            "data.job_type.revision",
            lambda n: {"job_type": {"name": "j", "version": "1", "revision": n}},
        ),
    ],
)
def test_integers_past_what_an_index_stores_are_refused_by_field(field, fields):
    """Past MAX_INT64 (SQLite's INTEGER, Elasticsearch's long) a value is bad input named by its
    field, not an overflow inside a batch's write; MAX_INT64 itself is kept as it is."""
    rec = FileRecord(file_name="a.png", workspace=WorkspaceRef(name="w"), file_path="x/a.png")
    base = rec.model_dump(mode="json")
    with pytest.raises(InvalidInput) as info:
        CloudEvent(type=FILE_INGESTED, source="t", data=base | fields(MAX_INT64 + 1)).file_record()
    assert info.value.field == field
    edge = base | fields(MAX_INT64)
    got = CloudEvent(type=FILE_INGESTED, source="t", data=edge).file_record()
    assert got.model_dump(mode="json") == edge


def test_oversized_event_is_refused():
    with pytest.raises(InvalidInput, match="over the"):
        CloudEvent.from_bytes(b"x" * 2048, max_bytes=1024)


def test_product_ids_are_deterministic_and_order_free():
    a = product_file_id("wm", "1.0", "out.png", ["i1", "i2"])
    assert a == product_file_id("wm", "1.0", "out.png", ["i2", "i1"])
    assert a != product_file_id("wm", "1.0", "out.png", ["i1"])


@pytest.mark.parametrize("bad", ["../x", "a/../../x", "/etc/passwd", "", "a\x00b"])
def test_paths_from_outside_never_escape(bad):
    with pytest.raises(InvalidInput):
        safe_relpath(bad)


def test_symlink_escape_is_refused(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "link").symlink_to(tmp_path)
    with pytest.raises(PathEscapeError):
        confined(root, "link/secret")
    assert confined(root, "./a//b") == root.resolve() / "a/b"


def test_unknown_scheme_suggests_the_right_one():
    reg = BackendRegistry("bus", {"kafka": "x:y", "sqlite": "x:z"})
    with pytest.raises(UnknownBackend, match="did you mean 'kafka'"):
        reg.resolve("kafak://h:1")


def test_cli_help_lists_commands(capsys):
    assert main(["--help"]) == 0
    assert "search" in capsys.readouterr().out


def test_cli_unknown_command_suggests(capsys):
    assert main(["serch"]) == 2
    assert "Did you mean 'search'" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["back\\slash;rm -rf ~.png", "\\lead.png", "a\\..\\b", "trail\\"])
def test_a_backslash_is_an_ordinary_character_of_a_posix_name(name):
    from seedpipe.paths import safe_relpath

    assert safe_relpath(name) == name
    assert safe_relpath(f"dir/{name}") == f"dir/{name}"
