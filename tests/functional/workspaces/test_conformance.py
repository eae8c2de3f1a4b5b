"""One conformance suite for every workspace backend: local disk and S3 (a real moto server)."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from seedpipe.checksum import hash_bytes, hash_file
from seedpipe.errors import InvalidInput, PathEscapeError, WorkspaceError, WorkspaceFileNotFound
from seedpipe.settings import WorkspaceSettings
from seedpipe.workspaces import open_workspace
from seedpipe.workspaces.base import Workspace
from seedpipe.workspaces.s3 import S3Workspace

MIB = 1024 * 1024
BACKENDS = ["file_workspace", pytest.param("s3_workspace", marks=pytest.mark.s3)]


def make_file_workspace(root: Path, **options) -> Workspace:
    return open_workspace("local", WorkspaceSettings(url=root.as_uri(), **options))


def make_s3_workspace(endpoint: str, bucket: str, **options) -> Workspace:
    options.setdefault("endpoint_url", endpoint)
    options.setdefault("region", "us-east-1")
    return open_workspace("remote", WorkspaceSettings(url=f"s3://{bucket}/ws/root", **options))


@pytest.fixture
def file_workspace(tmp_path: Path) -> Workspace:
    return make_file_workspace(tmp_path / "root", multipart_threshold_mib=5)


@pytest.fixture
def s3_workspace(moto_endpoint: str, s3_bucket: str) -> Workspace:
    return make_s3_workspace(moto_endpoint, s3_bucket, multipart_threshold_mib=5)


@pytest.fixture(params=BACKENDS)
def ws(request: pytest.FixtureRequest) -> Workspace:
    return request.getfixturevalue(request.param)


def paths_of(ws: Workspace, prefix: str = "", recursive: bool = True) -> set[str]:
    return {info.path for info in ws.list(prefix, recursive=recursive)}


# -- every operation ------------------------------------------------------------------------


def test_put_bytes_then_read_back_gives_the_same_bytes_and_checksum(ws):
    info = ws.put_bytes(b"hello workspace", "a/b/hello.txt")
    assert (info.path, info.size, info.checksum) == (
        "a/b/hello.txt",
        15,
        hash_bytes(b"hello workspace"),
    )
    assert ws.read_bytes("a/b/hello.txt") == b"hello workspace"
    st = ws.stat("a/b/hello.txt")
    assert st.size == 15 and st.modified.tzinfo is not None


def test_put_file_copies_and_keeps_the_local_file(ws, tmp_path):
    local = tmp_path / "in.bin"
    local.write_bytes(os.urandom(4096))
    info = ws.put_file(local, "in/copy.bin")
    assert info.checksum == hash_file(local) and local.exists()
    assert ws.read_bytes("in/copy.bin") == local.read_bytes()


def test_put_file_with_move_consumes_the_local_file(ws, tmp_path):
    local = tmp_path / "drop" / "moved.bin"
    local.parent.mkdir()
    local.write_bytes(b"x" * 10_000)
    expected = hash_file(local)
    info = ws.put_file(local, "moved/moved.bin", move=True)
    assert info.checksum == expected and info.size == 10_000
    assert not local.exists()
    assert ws.read_bytes("moved/moved.bin") == b"x" * 10_000


def test_put_over_an_existing_file_replaces_it(ws):
    ws.put_bytes(b"old old old", "f.txt")
    ws.put_bytes(b"new", "f.txt")
    assert ws.read_bytes("f.txt") == b"new" and ws.stat("f.txt").size == 3


def test_a_reader_never_sees_a_partially_written_file(ws):
    seen: list[bool] = []

    class Slow:
        chunks = [b"a" * 1000, b"b" * 1000, b""]

        def read(self, n=-1):
            seen.append(ws.exists("partial.bin"))
            return self.chunks.pop(0) if self.chunks else b""

    ws.put_stream(Slow(), "partial.bin")
    assert seen and not any(seen)
    assert ws.read_bytes("partial.bin") == b"a" * 1000 + b"b" * 1000
    assert paths_of(ws) == {"partial.bin"}, "no temporary file is left or listed"


def test_concurrent_puts_to_one_path_leave_one_whole_version(ws):
    bodies = [bytes([i]) * 50_000 for i in range(8)]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda b: ws.put_bytes(b, "race.bin"), bodies))
    assert ws.read_bytes("race.bin") in bodies
    assert paths_of(ws) == {"race.bin"}


def test_stage_makes_a_local_file_with_the_same_content(ws, tmp_path):
    ws.put_bytes(b"input data", "in/x.dat")
    dest = ws.stage("in/x.dat", tmp_path / "job" / "inputs" / "x.dat")
    assert dest.read_bytes() == b"input data"
    assert [p.name for p in dest.parent.iterdir()] == ["x.dat"]


def test_a_staged_copy_without_link_is_independent_of_the_workspace(ws, tmp_path):
    ws.put_bytes(b"original", "x.dat")
    dest = ws.stage("x.dat", tmp_path / "x.dat", link=False)
    dest.write_bytes(b"scribbled by a job")
    assert ws.read_bytes("x.dat") == b"original"


def test_staging_a_missing_file_is_not_found_and_leaves_nothing(ws, tmp_path):
    with pytest.raises(WorkspaceFileNotFound):
        ws.stage("nope.dat", tmp_path / "out" / "nope.dat")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_move_renames_within_the_workspace(ws):
    ws.put_bytes(b"payload", "incoming/a.bin")
    info = ws.move("incoming/a.bin", "archive/2024/a.bin")
    assert info.path == "archive/2024/a.bin" and info.size == 7
    assert not ws.exists("incoming/a.bin")
    assert ws.read_bytes("archive/2024/a.bin") == b"payload"


def test_moving_a_missing_file_is_not_found(ws):
    with pytest.raises(WorkspaceFileNotFound):
        ws.move("missing.bin", "elsewhere.bin")


def test_delete_removes_the_file_and_deleting_again_is_no_error(ws):
    ws.put_bytes(b"1", "d/gone.txt")
    ws.delete("d/gone.txt")
    assert not ws.exists("d/gone.txt")
    ws.delete("d/gone.txt")


def test_stat_and_open_of_a_missing_file_are_not_found(ws):
    with pytest.raises(WorkspaceFileNotFound):
        ws.stat("missing.txt")
    with pytest.raises(WorkspaceFileNotFound):
        ws.open("missing.txt")
    assert not ws.exists("missing.txt")


def test_list_is_recursive_and_scoped_to_a_directory_prefix(ws):
    for p in ["a/1.txt", "a/b/2.txt", "a/b/c/3.txt", "ab/4.txt", "top.txt"]:
        ws.put_bytes(p.encode(), p)
    assert paths_of(ws) == {"a/1.txt", "a/b/2.txt", "a/b/c/3.txt", "ab/4.txt", "top.txt"}
    assert paths_of(ws, "a") == {"a/1.txt", "a/b/2.txt", "a/b/c/3.txt"}
    assert paths_of(ws, "a/b/") == {"a/b/2.txt", "a/b/c/3.txt"}
    assert paths_of(ws, "a", recursive=False) == {"a/1.txt"}
    assert paths_of(ws, "", recursive=False) == {"top.txt"}
    sizes = {i.path: i.size for i in ws.list("a")}
    assert sizes["a/b/c/3.txt"] == len(b"a/b/c/3.txt")


def test_listing_a_missing_prefix_is_empty(ws):
    assert paths_of(ws, "no/such/dir") == set()


def test_url_for_with_a_base_url_is_the_quoted_path(ws):
    ws.settings.base_url = "https://data.example.org/files/"
    assert ws.url_for("dir/a b#1.tif") == "https://data.example.org/files/dir/a%20b%231.tif"
    assert ws.record_url("dir/a b#1.tif") == ws.url_for("dir/a b#1.tif")


def test_url_for_without_a_base_url_fetches_the_file(ws):
    ws.put_bytes(b"fetch me", "web/file name.txt")
    url = ws.url_for("web/file name.txt")
    assert url is not None
    if url.startswith("file://"):
        from urllib.request import url2pathname

        assert Path(url2pathname(url[len("file://") :])).read_bytes() == b"fetch me"
    else:
        assert httpx.get(url).content == b"fetch me"


def test_record_url_is_stable_and_names_the_file(ws):
    url = ws.record_url("x/y z.txt")
    assert url == ws.record_url("x/y z.txt") == ws.uri("x/y z.txt")
    assert url.endswith("/x/y%20z.txt") and "?" not in url


def test_sweeping_removes_only_stale_leftovers_of_interrupted_puts(ws, tmp_path):
    ws.put_bytes(b"kept", "d/kept.txt")
    if isinstance(ws, S3Workspace):
        for key in ["ws/root/d/crashed.bin", "ws/root/d/crashed2.bin"]:
            ws.client.create_multipart_upload(Bucket=ws.bucket, Key=key)
        ws.client.create_multipart_upload(Bucket=ws.bucket, Key="elsewhere/not-ours.bin")
        # moto dates every upload 2010-11-10, so the age cut-off is exercised on disk only.
        assert ws.sweep_temporaries(max_age_s=0) == 2
        left = ws.client.list_multipart_uploads(Bucket=ws.bucket).get("Uploads", [])
        assert [u["Key"] for u in left] == ["elsewhere/not-ours.bin"]
    else:
        d = ws.local_path("d/kept.txt").parent
        old, young = d / ".sp-old.seedpipe-tmp", d / ".sp-young.seedpipe-tmp"
        old.write_bytes(b"partial")
        young.write_bytes(b"partial")
        os.utime(old, (1_000_000_000, 1_000_000_000))
        assert ws.sweep_temporaries(max_age_s=3600) == 1
        assert not old.exists() and young.exists()
    assert paths_of(ws) == {"d/kept.txt"}


# -- hostile input --------------------------------------------------------------------------

ESCAPES = ["../outside.txt", "a/../../outside.txt", "/etc/passwd", "", "a\x00b"]


@pytest.mark.parametrize("bad", ESCAPES)
def test_paths_that_escape_or_are_malformed_are_refused_by_every_operation(ws, bad, tmp_path):
    ws.put_bytes(b"ok", "ok.txt")
    calls = [
        lambda: ws.put_bytes(b"x", bad),
        lambda: ws.stat(bad),
        lambda: ws.open(bad),
        lambda: ws.stage(bad, tmp_path / "s"),
        lambda: ws.move("ok.txt", bad),
        lambda: ws.move(bad, "ok2.txt"),
        lambda: ws.delete(bad),
        lambda: ws.url_for(bad),
        lambda: list(ws.list(bad)) if bad else None,
    ]
    for call in calls:
        if bad == "" and call is calls[-1]:
            continue
        with pytest.raises(InvalidInput) as err:
            call()
        assert err.value.field in ("path", "src", "dst", "prefix")
    assert ws.read_bytes("ok.txt") == b"ok"
    assert not (tmp_path / "outside.txt").exists()


HOSTILE_NAMES = [
    "día de los muertos.txt",
    "with space/and\nnewline.bin",
    "日本/データ.tif",
    "emoji 🚀/tab\there.json",
    "percent%20and#hash?&=.txt",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_unicode_space_and_newline_names_survive_every_operation(ws, name, tmp_path):
    if isinstance(ws, S3Workspace) and any(c in name for c in "\n\t"):
        with pytest.raises(InvalidInput, match="control character"):
            ws.put_bytes(b"x", name)
        assert paths_of(ws) == set()
        return
    info = ws.put_bytes(name.encode(), name)
    assert info.path == name
    assert ws.stat(name).size == len(name.encode())
    assert paths_of(ws) == {name}
    assert ws.stage(name, tmp_path / "staged").read_bytes() == name.encode()
    moved = ws.move(name, "moved/" + name)
    assert paths_of(ws) == {moved.path} == {"moved/" + name}
    ws.delete(moved.path)
    assert paths_of(ws) == set()


def test_a_zero_byte_file_is_a_file(ws, tmp_path):
    info = ws.put_bytes(b"", "empty/zero.bin")
    assert info.size == 0 and info.checksum == hash_bytes(b"")
    assert ws.stat("empty/zero.bin").size == 0
    assert paths_of(ws, "empty") == {"empty/zero.bin"}
    assert ws.stage("empty/zero.bin", tmp_path / "z").read_bytes() == b""
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    assert ws.put_file(empty, "empty/again.bin").size == 0


def test_a_20_mib_file_round_trips_and_goes_multipart_on_s3(ws, tmp_path):
    big = tmp_path / "big.bin"
    with big.open("wb") as fh:
        for i in range(20):
            fh.write(bytes([i]) * MIB)
    info = ws.put_file(big, "big/big.bin")
    assert info.size == 20 * MIB and info.checksum == hash_file(big)
    if isinstance(ws, S3Workspace):
        assert info.etag is not None and info.etag.endswith("-4"), "4 parts of 5 MiB"
    staged = ws.stage("big/big.bin", tmp_path / "staged.bin")
    assert hash_file(staged) == info.checksum
    moved = ws.move("big/big.bin", "big/moved.bin")
    assert moved.size == 20 * MIB and not ws.exists("big/big.bin")


@pytest.mark.slow
def test_listing_thousands_of_files_crosses_pages_and_misses_none(ws):
    # moto stores ~170 objects/s whatever the concurrency, so 2,000 is the honest "thousands".
    names = {f"many/{i % 7}/f{i:05d}.txt" for i in range(2000)}
    for name in names:
        local = ws.local_path(name)
        if local is None:
            ws.put_bytes(b"", name)
        else:
            # The subject is listing: skip put's two fsyncs a file on local disk.
            local.parent.mkdir(parents=True, exist_ok=True)
            local.write_bytes(b"")
    if isinstance(ws, S3Workspace):
        ws.page_size = 250  # 8 pages
    listed = [i.path for i in ws.list("many")]
    assert len(listed) == len(names) and set(listed) == names


# -- local disk only: symlinks --------------------------------------------------------------


def test_a_symlinked_directory_that_leads_out_of_the_root_is_refused(file_workspace, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"secret")
    root = file_workspace.local_path("x").parent
    (root / "link").symlink_to(outside, target_is_directory=True)
    for call in [
        lambda: file_workspace.put_bytes(b"evil", "link/evil.txt"),
        lambda: file_workspace.stat("link/secret.txt"),
        lambda: file_workspace.open("link/secret.txt"),
        lambda: file_workspace.stage("link/secret.txt", tmp_path / "stolen"),
        lambda: file_workspace.move("link/secret.txt", "mine.txt"),
        lambda: file_workspace.delete("link/secret.txt"),
        lambda: list(file_workspace.list("link")),
    ]:
        with pytest.raises(PathEscapeError):
            call()
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    assert paths_of(file_workspace) == set()


def test_a_symlinked_file_is_listed_only_when_it_stays_inside_the_root(
    file_workspace, tmp_path, caplog
):
    outside = tmp_path / "secret.txt"
    outside.write_bytes(b"secret")
    file_workspace.put_bytes(b"inside", "real.txt")
    root = file_workspace.local_path("real.txt").parent
    (root / "out.txt").symlink_to(outside)
    (root / "alias.txt").symlink_to(root / "real.txt")
    with caplog.at_level(logging.WARNING, logger="seedpipe.workspaces.file"):
        assert paths_of(file_workspace) == {"real.txt", "alias.txt"}
    assert "out.txt" in caplog.text
    assert file_workspace.read_bytes("alias.txt") == b"inside"
    with pytest.raises(PathEscapeError):
        file_workspace.read_bytes("out.txt")


def test_put_file_with_move_copies_a_symlink_instead_of_renaming_it(file_workspace, tmp_path):
    target = tmp_path / "target.txt"
    target.write_bytes(b"data")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    file_workspace.put_file(link, "in.txt", move=True)
    placed = file_workspace.local_path("in.txt")
    assert placed is not None and not placed.is_symlink() and placed.read_bytes() == b"data"


def test_staging_hard_links_on_the_same_disk(file_workspace, tmp_path):
    file_workspace.put_bytes(b"shared", "x.bin")
    dest = file_workspace.stage("x.bin", tmp_path / "job" / "x.bin")
    assert dest.stat().st_ino == file_workspace.local_path("x.bin").stat().st_ino


def other_disk(tmp_path: Path) -> Path:
    """A scratch directory on another file system when there is one (/dev/shm), else tmp_path."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK) and shm.stat().st_dev != tmp_path.stat().st_dev:
        return Path(tempfile.mkdtemp(dir=shm))
    return Path(tempfile.mkdtemp(dir=tmp_path))


def test_staging_and_moving_in_work_across_file_systems(file_workspace, tmp_path):
    elsewhere = other_disk(tmp_path)
    try:
        local = elsewhere / "drop.bin"
        local.write_bytes(b"from another disk")
        info = file_workspace.put_file(local, "in/drop.bin", move=True)
        assert not local.exists() and info.checksum == hash_bytes(b"from another disk")
        staged = file_workspace.stage("in/drop.bin", elsewhere / "job" / "drop.bin")
        assert staged.read_bytes() == b"from another disk"
        placed = file_workspace.local_path("in/drop.bin")
        same_disk = staged.stat().st_dev == placed.stat().st_dev
        assert (staged.stat().st_ino == placed.stat().st_ino) == same_disk
    finally:
        shutil.rmtree(elsewhere)


def test_moving_in_a_missing_local_file_is_a_file_not_found_error(ws, tmp_path):
    with pytest.raises(FileNotFoundError):
        ws.put_file(tmp_path / "never-existed.bin", "x.bin", move=True)
    assert paths_of(ws) == set()


def test_a_directory_is_not_a_file(file_workspace):
    file_workspace.put_bytes(b"1", "d/f.txt")
    with pytest.raises(WorkspaceFileNotFound):
        file_workspace.stat("d")
    with pytest.raises(WorkspaceError):
        file_workspace.move("d", "e")
    with pytest.raises(WorkspaceError):
        file_workspace.put_bytes(b"1", "d/f.txt/under-a-file.txt")


# -- S3 only: credentials -------------------------------------------------------------------

KEY_ID = "AKIDSEEDPIPETEST0001"
SECRET = "sEcReT/never+log+me/0123456789abcdef"


@pytest.mark.s3
def test_s3_credentials_never_appear_in_logs_errors_records_or_reprs(
    moto_endpoint, s3_bucket, caplog, tmp_path
):
    ws = make_s3_workspace(moto_endpoint, s3_bucket, access_key_id=KEY_ID, secret_access_key=SECRET)
    seen: list[str] = [repr(ws), repr(ws.settings), ws.settings.model_dump_json()]
    with caplog.at_level(logging.DEBUG, logger="seedpipe"):
        seen.append(repr(ws.put_bytes(b"s", "s.txt")))
        seen.append(repr(list(ws.list())))
        seen.append(ws.record_url("s.txt"))
        presigned = ws.url_for("s.txt")
        assert presigned is not None and httpx.get(presigned).content == b"s"
        seen.append(presigned)
        for call in [
            lambda: ws.stat("missing.txt"),
            lambda: ws.move("missing.txt", "b.txt"),
            lambda: ws.stage("missing.txt", tmp_path / "m"),
        ]:
            with pytest.raises(WorkspaceError) as err:
                call()
            seen.append(str(err.value))
        broken = make_s3_workspace(
            moto_endpoint,
            "no-such-bucket-" + s3_bucket,
            access_key_id=KEY_ID,
            secret_access_key=SECRET,
        )
        with pytest.raises(WorkspaceError) as err:
            broken.put_bytes(b"x", "x.txt")
        seen.append(str(err.value))
        seen.append(repr(err.value.__cause__))
    # werkzeug is moto's server logging what it received, not a seedpipe component.
    seen += [r.getMessage() for r in caplog.records if not r.name.startswith("werkzeug")]
    text = "\n".join(seen)
    assert SECRET not in text
    # A presigned URL necessarily names the access key id; nothing else may.
    assert KEY_ID not in text.replace(presigned, "")


@pytest.mark.s3
def test_half_configured_s3_credentials_are_a_config_error_naming_the_settings(
    moto_endpoint, s3_bucket
):
    ws = make_s3_workspace(moto_endpoint, s3_bucket, secret_access_key=SECRET)
    with pytest.raises(Exception, match="access_key_id and secret_access_key") as err:
        ws.stat("x")
    assert SECRET not in str(err.value)


@pytest.mark.s3
def test_keys_written_by_other_tools_that_this_api_cannot_name_are_not_listed(s3_workspace, caplog):
    raw = s3_workspace.client
    for key in ["ws/root/ok.txt", "ws/root/a//b.txt", "ws/root/x/../y.txt", "ws/root/tab\t.txt"]:
        raw.put_object(Bucket=s3_workspace.bucket, Key=key, Body=b"")
    raw.put_object(Bucket=s3_workspace.bucket, Key="ws/root/folder/", Body=b"")
    with caplog.at_level(logging.WARNING, logger="seedpipe.workspaces.s3"):
        assert paths_of(s3_workspace) == {"ok.txt"}
    assert "a//b.txt" in caplog.text and "x/../y.txt" in caplog.text


@pytest.mark.s3
def test_concurrent_threads_share_one_s3_workspace(s3_workspace):
    barrier = threading.Barrier(4)

    def work(i: int) -> bytes:
        barrier.wait()
        s3_workspace.put_bytes(str(i).encode(), f"t/{i}.txt")
        return s3_workspace.read_bytes(f"t/{i}.txt")

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(work, range(4))) == [b"0", b"1", b"2", b"3"]
