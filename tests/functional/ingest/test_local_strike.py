"""A strike on a real directory watched with real inotify: placement, records, hostile input."""

from __future__ import annotations

import hashlib
import os
import threading
import time

import pytest

from ingest.ledger import Ingest, Status
from ingest.strike import Ready
from seedpipe.workspaces import open_workspaces

NAMES = {
    "with space.tif": b"II*\x00" + b"\x00" * 8,
    "ünïcødé ✓.txt": b"unicode",
    "new\nline.dat": b"newline",
    "a..b.txt": b"dots",
    "sub/dir/deep.bin": b"deep",
    "empty.dat": b"",
    "$(touch pwned).png": b"subshell",
    "`touch pwned2`;rm -rf ~.png": b"backticks",
    "-rf --no-preserve-root.png": b"dash",
    "evil\n06:00:00.000 ERROR   seedpipe.auth: forged line.png": b"log line",
    "rtl\u202egnp.exe": b"bidi",
    "n" * 251 + ".dat": b"longest name",
}


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def write(path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


async def test_dropped_files_are_moved_into_the_workspace_with_one_event_each(env):
    async with env.running(env.strike()):
        for name, data in NAMES.items():
            write(env.drop / name, data)
        await env.until(lambda: env.final() == len(NAMES))
        # nested drops leave no empty directories (once they settled, as files must)
        await env.until(lambda: not (env.drop / "sub").exists())
    assert {r.source for r in env.rows("INGESTED")} == set(NAMES)
    for name, data in NAMES.items():
        assert (env.ws / name).read_bytes() == data
        assert not (env.drop / name).exists()
    events = env.events()
    assert len(events) == len(NAMES)
    workspace = open_workspaces(env.settings())["ws"]
    by_path = {e.file_record().file_path: e.file_record() for e in events}
    for name, data in NAMES.items():
        rec = by_path[name]
        assert rec.checksum == sha(data) and rec.file_size == len(data)
        assert rec.file_type == "SOURCE" and rec.workspace.name == "ws"
        assert rec.url == workspace.record_url(name)
        assert rec.file_name == name.rsplit("/", 1)[-1]
    assert by_path["with space.tif"].media_type == "image/tiff"
    assert not any(env.drop.parent.rglob("pwned*"))  # names are data, never run


async def test_files_already_in_the_drop_are_found_by_the_start_up_rescan(env):
    write(env.drop / "before/a.txt", b"a")
    async with env.running(env.strike()):
        await env.until(lambda: env.final() == 1)
    assert (env.ws / "before/a.txt").read_bytes() == b"a"


async def test_the_polling_observer_ingests_too(env):
    async with env.running(env.strike(polling=True)):
        write(env.drop / "p.txt", b"p")
        await env.until(lambda: env.final() == 1)
    assert env.rows()[0].status is Status.INGESTED


async def test_a_file_still_growing_is_ingested_whole_after_it_settles(env):
    full = b"x" * 1000
    target = env.drop / "growing.dat"

    def grow() -> None:
        with target.open("wb") as fh:
            for i in range(10):
                fh.write(full[i * 100 : (i + 1) * 100])
                fh.flush()
                time.sleep(0.08)

    async with env.running(env.strike(settle_s=0.3)):
        writer = threading.Thread(target=grow)
        writer.start()
        await env.until(lambda: env.final() == 1)
        writer.join()
    [row] = env.rows()
    assert row.status is Status.INGESTED and row.checksum == sha(full) and row.bytes == 1000


async def test_a_transfer_suffix_holds_the_file_until_it_is_renamed(env):
    strike = env.strike(rules=[{"filename_regex": ".*"}])
    async with env.running(strike):
        write(env.drop / "map_tmp", b"partial")
        write(env.drop / "scene.tif.part", b"partial")
        write(env.drop / "abandoned.part", b"partial")
        await env.until(lambda: len(env.rows("TRANSFERRING")) == 3)
        transferring = {r.source: r.id for r in env.rows("TRANSFERRING")}
        assert set(transferring) == {"map", "scene.tif", "abandoned"}
        os.rename(env.drop / "map_tmp", env.drop / "map")
        os.rename(env.drop / "scene.tif.part", env.drop / "scene.tif")
        (env.drop / "abandoned.part").unlink()
        await env.until(lambda: env.final() == 2)
        strike.rescan()  # the next rescan forgets a transfer that can no longer finish
        await env.until(lambda: strike.rescans >= 2 and not env.rows("TRANSFERRING"))
    rows = env.rows("INGESTED")
    assert sorted(r.file_path for r in rows) == ["map", "scene.tif"]
    assert {r.source: r.id for r in rows} == {k: transferring[k] for k in ("map", "scene.tif")}
    assert all(r.transfer_started and r.transfer_started < r.transfer_ended for r in rows)
    assert len(env.rows()) == 2


async def test_dot_files_are_never_ingested(env):
    strike = env.strike()
    async with env.running(strike):
        write(env.drop / ".hidden", b"h")
        write(env.drop / "visible", b"v")
        await env.until(lambda: env.final() == 1)
    assert [r.source for r in env.rows()] == ["visible"]
    assert (env.drop / ".hidden").exists()


async def test_a_symlink_out_of_the_drop_is_refused_and_kept_aside(env, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("do not ingest")
    async with env.running(env.strike()):
        os.symlink(secret, env.drop / "link.txt")
        write(env.drop / "ok.txt", b"ok")
        await env.until(lambda: env.final() == 2)
    [bad] = env.rows("ERRORED")
    assert bad.source == "link.txt" and "symlink" in (bad.reason or "")
    assert os.path.islink(env.drop / ".errored/link.txt")
    assert not (env.ws / "link.txt").exists() and secret.read_text() == "do not ingest"
    assert env.rows("INGESTED")[0].source == "ok.txt"


async def test_an_unreadable_file_is_errored_and_the_watcher_keeps_going(env):
    # chmod 000 does not stop root; a FIFO cannot be read as a file by anyone.
    async with env.running(env.strike()):
        os.mkfifo(env.drop / "pipe.tif")
        write(env.drop / "after.txt", b"after")
        await env.until(lambda: env.final() == 2)
    [bad] = env.rows("ERRORED")
    assert bad.source == "pipe.tif" and "fifo" in (bad.reason or "")
    assert (env.ws / "after.txt").read_bytes() == b"after"


async def test_a_file_no_rule_matches_is_deferred_and_kept(env):
    strike = env.strike(rules=[{"filename_regex": r"\.tif$", "data_types": ["image"]}])
    async with env.running(strike):
        write(env.drop / "notes.txt", b"n")
        write(env.drop / "img.tif", b"i")
        await env.until(lambda: env.final() == 2)
    [deferred] = env.rows("DEFERRED")
    assert deferred.source == "notes.txt" and deferred.reason == "no ingest rule matches"
    assert (env.drop / ".deferred/notes.txt").read_bytes() == b"n"
    [ok] = env.rows("INGESTED")
    assert ok.data_types == ["image"]


async def test_rules_place_files_in_another_workspace_by_template(env):
    rule = {
        "filename_regex": r"^(?P<sensor>[a-z]+)_.*\.tif$",
        "new_workspace": "other",
        "new_file_path": "{sensor}/{yyyy}/",
    }
    async with env.running(env.strike(rules=[rule])):
        write(env.drop / "wv_1.tif", b"wv")
        await env.until(lambda: env.final() == 1)
    [row] = env.rows("INGESTED")
    year = time.strftime("%Y", time.gmtime())
    assert (row.workspace, row.file_path) == ("other", f"wv/{year}/wv_1.tif")
    assert (env.tmp / "other" / "wv" / year / "wv_1.tif").read_bytes() == b"wv"


async def test_a_file_deleted_mid_ingest_is_errored_not_lost_track_of(env):
    strike = env.strike()
    write(env.drop / "gone.txt", b"g")
    st = os.stat(env.drop / "gone.txt")
    ready = Ready("gone.txt", st.st_size, st.st_mtime_ns, time.time(), time.time())
    rows = [Ingest(strike="s", source=ready.source, source_size=ready.size)]
    env.ledger.add(rows)
    strike._plan_all(rows)
    assert rows[0].status is Status.INGESTING
    (env.drop / "gone.txt").unlink()
    events = strike._execute_all(rows)
    assert events == [] and rows[0].status is Status.ERRORED
    assert "disappeared" in (rows[0].reason or "")


@pytest.mark.parametrize(
    ("policy", "status", "kept_aside"),
    [("skip", "DUPLICATE", True), ("error", "ERRORED", True), ("replace", "INGESTED", False)],
)
async def test_duplicate_names_follow_the_strike_policy(env, policy, status, kept_aside):
    async with env.running(env.strike(duplicates=policy)):
        write(env.drop / "a.txt", b"first")
        await env.until(lambda: env.final() == 1)
        write(env.drop / "a.txt", b"second")
        await env.until(lambda: env.final() == 2)
    second = env.rows()[-1]
    assert second.status == status
    aside = [p for p in (".duplicate/a.txt", ".errored/a.txt") if (env.drop / p).exists()]
    if kept_aside:
        assert len(aside) == 1 and (env.drop / aside[0]).read_bytes() == b"second"
        assert (env.ws / "a.txt").read_bytes() == b"first"
    else:
        assert aside == [] and (env.ws / "a.txt").read_bytes() == b"second"
    if policy == "replace":
        first = env.rows()[0]
        assert second.file_id == first.file_id and second.version == 2


async def test_version_policy_keeps_both_files(env):
    async with env.running(env.strike(duplicates="version")):
        write(env.drop / "a.txt", b"first")
        await env.until(lambda: env.final() == 1)
        write(env.drop / "a.txt", b"second")
        await env.until(lambda: env.final() == 2)
    assert (env.ws / "a.txt").read_bytes() == b"first"
    assert (env.ws / "a.v2.txt").read_bytes() == b"second"


async def test_the_same_content_again_is_a_duplicate_and_the_copy_is_dropped(env):
    async with env.running(env.strike(duplicates="skip")):
        write(env.drop / "a.txt", b"same")
        await env.until(lambda: env.final() == 1)
        write(env.drop / "a.txt", b"same")
        await env.until(lambda: env.final() == 2)
    dup = env.rows()[-1]
    assert dup.status is Status.DUPLICATE and "same content" in (dup.reason or "")
    assert not (env.drop / "a.txt").exists() and len(env.events()) == 1


async def test_re_ingesting_after_a_delete_works(env):
    async with env.running(env.strike()):
        write(env.drop / "a.txt", b"one")
        await env.until(lambda: env.final() == 1)
        (env.ws / "a.txt").unlink()
        write(env.drop / "a.txt", b"one")
        await env.until(lambda: env.final() == 2)
    first, second = env.rows()
    assert first.status is second.status is Status.INGESTED
    assert first.file_id != second.file_id and (env.ws / "a.txt").read_bytes() == b"one"


async def test_a_plan_interrupted_by_a_crash_is_finished_exactly_once_on_restart(env):
    crashed = env.strike()
    for i in range(4):
        write(env.drop / f"f{i}.txt", f"data {i}".encode())
    rows = [Ingest(strike="s", source=f"f{i}.txt") for i in range(4)]
    unplanned = Ingest(strike="s", source="f9.txt")
    env.ledger.add([*rows, unplanned])
    crashed._plan_all(rows)
    env.ledger.update(rows)  # the plans are committed ...
    for row in rows[:2]:
        crashed._execute(row)  # ... two files were placed, then the process died
    assert not (env.drop / "f0.txt").exists() and (env.drop / "f3.txt").exists()

    restarted = env.strike()
    await restarted.recover()
    assert sorted(r.source for r in env.rows("INGESTED")) == [f"f{i}.txt" for i in range(4)]
    assert env.ledger.get(unplanned.id or 0) is None  # no plan yet: forgotten, rescan finds it
    events = env.events()
    assert sorted(e.file_record().file_path for e in events) == [f"f{i}.txt" for i in range(4)]
    ids = {r.file_id for r in env.rows("INGESTED")}
    assert ids == {r.file_id for r in rows}  # the ids planned before the crash
    for i in range(4):
        assert (env.ws / f"f{i}.txt").read_bytes() == f"data {i}".encode()
    await restarted.recover()  # recovering again changes nothing
    assert len(env.events()) == 4


async def test_a_kernel_queue_overflow_triggers_a_rescan(env):
    import logging

    strike = env.strike()
    async with env.running(strike):
        await env.until(lambda: strike.rescans == 1)  # the start-up rescan
        logging.getLogger("watchdog.observers.inotify_c").warning(
            "Inotify queue overflowed; filesystem events were lost"
        )
        await env.until(lambda: strike.rescans == 2)


async def test_a_name_that_is_not_utf8_is_recorded_escaped_and_set_aside(env):
    bad = os.path.join(os.fsencode(env.drop), b"sub", b"bad\xff\xfe.png")
    os.makedirs(os.path.dirname(bad))
    async with env.running(env.strike()):
        with open(bad, "wb") as fh:
            fh.write(b"latin-1 name")
        write(env.drop / "good.txt", b"good")
        await env.until(lambda: env.final() == 2)
        await env.until(lambda: not (env.drop / "sub").exists())
    rows = {r.source: r for r in env.rows()}
    assert set(rows) == {"good.txt", "sub/bad\\xff\\xfe.png"}
    refused = rows["sub/bad\\xff\\xfe.png"]
    assert refused.status is Status.ERRORED and "not UTF-8" in (refused.reason or "")
    assert not os.path.exists(bad)
    aside = env.drop / ".errored" / "sub" / "bad\\xff\\xfe.png"
    assert aside.read_bytes() == b"latin-1 name"
    assert (env.drop / ".errored").is_dir()


BACKSLASHED = {
    "back\\slash;rm -rf ~.png": b"one",
    "\\lead.png": b"two",
    "trail\\": b"three",
    "sub/in\\side.dat": b"four",
}


async def test_a_backslash_in_a_drop_name_is_an_ordinary_character(env):
    async with env.running(env.strike()):
        for name, data in BACKSLASHED.items():
            write(env.drop / name, data)
        await env.until(lambda: env.final() == len(BACKSLASHED))
    assert {r.source for r in env.rows("INGESTED")} == set(BACKSLASHED)
    by_path = {e.file_record().file_path: e.file_record() for e in env.events()}
    assert set(by_path) == set(BACKSLASHED)
    for name, data in BACKSLASHED.items():
        assert (env.ws / name).read_bytes() == data
        assert by_path[name].file_name == name.rsplit("/", 1)[-1]
    assert not (env.ws / "back").exists() and not (env.ws / "lead.png").exists()


async def test_a_directory_a_producer_is_still_filling_is_not_removed(env):
    async with env.running(env.strike()):
        write(env.drop / "batch" / "one.dat", b"1")
        await env.until(lambda: env.final() == 1)
        # the producer goes on writing into the directory the first file left
        write(env.drop / "batch" / "two.dat", b"2")
        await env.until(lambda: env.final() == 2)
        await env.until(lambda: not (env.drop / "batch").exists())
    assert {r.source for r in env.rows("INGESTED")} == {"batch/one.dat", "batch/two.dat"}
