"""Rules for workspace paths, S3 keys and URLs, checked without any server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from seedpipe.errors import ConfigError, InvalidInput, PathEscapeError, UnknownBackend
from seedpipe.settings import Settings, WorkspaceSettings
from seedpipe.workspaces import Workspaces, open_url, open_workspace
from seedpipe.workspaces.base import join_url
from seedpipe.workspaces.s3keys import MAX_KEY_BYTES, object_key, parse_s3_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("s3://bucket", ("bucket", "")),
        ("s3://my.bucket-1/", ("my.bucket-1", "")),
        ("s3://bucket/a/b/", ("bucket", "a/b")),
        ("s3://bucket//a//b", ("bucket", "a/b")),
    ],
)
def test_s3_urls_give_a_bucket_and_a_normalised_prefix(url, expected):
    assert parse_s3_url(url) == expected


@pytest.mark.parametrize(
    "url",
    ["s3://Bucket/x", "s3://ab/x", "s3://a..b/x", "s3://under_score", "s3://b-1/x?y=1", "s3:///x"],
)
def test_invalid_bucket_names_and_query_strings_are_config_errors(url):
    with pytest.raises(ConfigError, match="s3://"):
        parse_s3_url(url)


def test_an_s3_prefix_cannot_climb_out_with_dotdot():
    with pytest.raises(PathEscapeError) as err:
        parse_s3_url("s3://bucket/a/../../b")
    assert err.value.field == "url"


def test_keys_join_the_prefix_and_the_normalised_path():
    assert object_key("ws", "a//b/./c.tif") == ("a/b/c.tif", "ws/a/b/c.tif")
    assert object_key("", "c.tif") == ("c.tif", "c.tif")


def test_a_key_may_be_1024_bytes_of_utf8_but_not_one_more():
    prefix = "p"
    fits = "x" * (MAX_KEY_BYTES - len(prefix) - 1)
    assert len(object_key(prefix, fits)[1].encode()) == MAX_KEY_BYTES
    with pytest.raises(InvalidInput, match="1025 bytes") as err:
        object_key(prefix, fits + "x", field="dst")
    assert err.value.field == "dst"


def test_key_length_counts_utf8_bytes_not_characters():
    assert object_key("", "日" * 341)  # 1,023 bytes
    with pytest.raises(InvalidInput, match="1026 bytes"):
        object_key("", "日" * 342)


@pytest.mark.parametrize("bad", ["/abs/key", "../up", "a/../../up"])
def test_keys_that_are_absolute_or_climb_are_path_escapes(bad):
    with pytest.raises(PathEscapeError):
        object_key("ws", bad)


@pytest.mark.parametrize("bad", ["new\nline", "tab\t", "del\x7f", "bell\x07"])
def test_keys_with_control_characters_are_refused(bad):
    with pytest.raises(InvalidInput, match="control character"):
        object_key("ws", bad)


def test_keys_that_are_not_valid_utf8_are_refused():
    undecodable = b"caf\xe9.tif".decode("utf-8", "surrogateescape")
    with pytest.raises(InvalidInput, match="UTF-8"):
        object_key("ws", undecodable)


def test_base_urls_get_the_path_percent_quoted_with_slashes_kept():
    assert (
        join_url("https://h/files/", "a b/c#d?e%f.tif") == "https://h/files/a%20b/c%23d%3Fe%25f.tif"
    )
    assert join_url("https://h/files", "日本.tif") == "https://h/files/%E6%97%A5%E6%9C%AC.tif"


def test_an_s3_workspace_with_a_base_url_needs_no_server_for_urls():
    ws = open_workspace(
        "pub", WorkspaceSettings(url="s3://bucket/pre", base_url="https://cdn.example/p/")
    )
    assert ws.url_for("x y.tif") == "https://cdn.example/p/x%20y.tif"
    ws.settings.base_url = None
    assert ws.record_url("x y.tif") == "s3://bucket/pre/x%20y.tif"


def test_a_file_workspace_url_is_a_file_uri_under_its_root(tmp_path):
    ws = open_url(str(tmp_path / "root"))
    assert ws.url_for("a b.txt") == (tmp_path / "root" / "a b.txt").as_uri()


def test_an_unknown_scheme_suggests_the_nearest_backend():
    with pytest.raises(UnknownBackend, match="did you mean 'file'"):
        open_workspace("w", WorkspaceSettings(url="fiel:///data"))


def test_workspaces_opens_each_name_once_and_names_the_known_ones(tmp_path):
    settings = Settings.load(
        None, workspaces={"raw": {"url": str(tmp_path / "raw")}, "out": {"url": "s3://out-b"}}
    )
    spaces = Workspaces(settings)
    assert spaces["raw"] is spaces["raw"] and sorted(spaces) == ["out", "raw"]
    assert "out" in spaces and "nope" not in spaces and spaces.get("nope") is None
    with pytest.raises(ConfigError, match=r"unknown workspace 'nope' \(known: out, raw\)"):
        spaces["nope"]


def test_opening_workspaces_does_not_import_boto3_until_s3_is_used():
    code = (
        "import sys\n"
        "from seedpipe.workspaces import open_url\n"
        "ws = open_url('s3://lazy-bucket/p')\n"
        "assert 'boto3' not in sys.modules, 'imported too early'\n"
        "ws.client\n"
        "assert 'boto3' in sys.modules\n"
    )
    root = Path(__file__).resolve().parents[4]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)
