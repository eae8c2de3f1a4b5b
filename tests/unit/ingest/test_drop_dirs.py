"""Directories files left in a local drop: removed once empty and settled, never before."""

from __future__ import annotations

import os
import time
from pathlib import Path

from ingest.drops.local import LocalDrop


def test_only_an_empty_settled_directory_is_removed(tmp_path: Path) -> None:
    drop = LocalDrop(tmp_path.as_uri(), tmp_path)
    for name in ("fresh", "full", "old", ".deferred"):
        (tmp_path / name).mkdir()
    (tmp_path / "full" / "still-writing.dat").write_bytes(b"x")
    past = time.time() - 60
    for name in ("full", "old", ".deferred"):
        os.utime(tmp_path / name, (past, past))
    assert not drop.prune_dir("fresh", 5)  # just changed: a producer may be filling it
    assert not drop.prune_dir("full", 5)
    assert not drop.prune_dir(".deferred", 5)  # the set-aside areas stay
    assert not drop.prune_dir("", 5)  # so does the root
    assert drop.prune_dir("old", 5) and not (tmp_path / "old").exists()
    assert (tmp_path / "fresh").is_dir() and (tmp_path / "full").is_dir()
