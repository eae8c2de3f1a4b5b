"""Unit tests of completeness: transfer suffixes, dot-files and the settle clock."""

from __future__ import annotations

from ingest.completeness import SettleTracker, is_hidden, strip_transfer_suffix, transfer_suffix

SUFFIXES = ["_tmp", ".part"]


def test_stripping_removes_the_suffix_not_its_characters():
    assert strip_transfer_suffix("map_tmp", SUFFIXES) == "map"
    assert strip_transfer_suffix("tmp_tmp", SUFFIXES) == "tmp"
    assert strip_transfer_suffix("a/scene.tif.part", SUFFIXES) == "a/scene.tif"
    assert strip_transfer_suffix("temp.tif", SUFFIXES) == "temp.tif"


def test_a_name_that_is_only_the_suffix_is_not_in_transfer():
    assert transfer_suffix("_tmp", SUFFIXES) is None
    assert transfer_suffix("x_tmp", SUFFIXES) == "_tmp"


def test_dot_files_and_dot_directories_are_hidden():
    assert is_hidden(".x.tif") and is_hidden("a/.deferred/b.tif")
    assert not is_hidden("a/b.tif") and not is_hidden("a/b.c.d")


def test_a_file_is_due_only_after_it_stayed_unchanged_for_the_settle_time():
    t = SettleTracker(1.0)
    t.seen("f", 10, 1, now=0.0)
    assert t.due(0.5) == []
    t.seen("f", 20, 2, now=0.6)  # it grew: the clock restarts
    assert t.due(1.2) == []
    assert t.due(1.6) == ["f"]
    assert t.confirm("f", 20, 2, now=1.6) == 0.0
    assert len(t) == 0


def test_a_file_that_changed_since_its_last_look_is_not_confirmed():
    t = SettleTracker(1.0)
    t.seen("f", 10, 1, now=0.0)
    assert t.due(1.0) == ["f"]
    assert t.confirm("f", 11, 1, now=1.0) is None
    assert "f" in t and t.due(1.5) == [] and t.due(2.0) == ["f"]


def test_seeing_an_unchanged_file_again_does_not_restart_the_clock():
    t = SettleTracker(1.0)
    t.seen("f", 1, 1, now=0.0)
    t.seen("f", 1, 1, now=0.9)
    assert t.due(1.0) == ["f"]
