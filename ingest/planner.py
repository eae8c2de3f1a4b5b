"""Plan one ingest: refuse what is unsafe, apply the rules, hash, sniff, settle duplicates."""

from __future__ import annotations

import logging
import time
from datetime import datetime
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from ingest.ledger import Ingest, Status
from ingest.rules import place
from seedpipe.errors import InvalidInput, SeedpipeError
from seedpipe.media import sniff
from seedpipe.records import new_file_id

if TYPE_CHECKING:
    from ingest.targets import StrikeParts

log = logging.getLogger(__name__)


def _refuse(row: Ingest, reason: str) -> None:
    row.status, row.mode, row.reason = Status.INGESTING, "reject", reason
    log.warning("strike %s: refused %r: %s", row.strike, row.source, reason)


def _versioned(strike: StrikeParts, workspace: str, path: str) -> tuple[str, int]:
    """The first free ``stem.vN.ext`` beside ``path`` (N from 2)."""
    p = PurePosixPath(path)
    ws = strike.workspaces[workspace]
    for n in range(2, 10_000):
        candidate = str(p.with_name(f"{p.stem}.v{n}{p.suffix}"))
        taken = strike.targets.exists(ws, candidate)
        if not taken and strike.ledger.ingested_at(workspace, candidate) is None:
            return candidate, n
    raise InvalidInput(f"no free version of {path!r} below v10000", field="file_path")


def plan(
    strike: StrikeParts, row: Ingest, taken: dict[tuple[str, str], Ingest], when: datetime
) -> None:
    """Decide what to do with ``row``; leaves it QUEUED only when the file is already gone."""
    drop = strike.drop
    st = drop.stat(row.source)
    if st is None:
        return  # gone before we looked: nothing was accepted, nothing to record
    row.source_size, row.source_mtime_ns = st.size, st.mtime_ns
    row.ingest_started = time.time()
    if st.kind == "symlink":
        _refuse(row, "is a symlink; only regular files are ingested (links may leave the drop)")
        return
    if st.kind != "file":
        _refuse(row, f"is a {st.kind}, not a regular file")
        return
    try:
        placement = place(strike.rules, row.source, strike.settings.workspace, when)
    except InvalidInput as exc:
        _refuse(row, f"rule gives an unsafe target path ({exc})")
        return
    if placement is None:
        row.status, row.mode, row.reason = Status.INGESTING, "defer", "no ingest rule matches"
        return
    try:
        content = drop.read(row.source)
    except FileNotFoundError:
        row.status = Status.QUEUED
        return
    except OSError as exc:
        _refuse(row, f"cannot be read: {exc.strerror or exc}")
        return
    row.checksum, row.bytes = content.checksum, content.size
    row.media_type = sniff(content.head, row.source)
    row.workspace, row.file_path = placement.workspace, placement.file_path
    row.data_types = list(placement.data_types)
    try:
        _settle_duplicates(strike, row, taken)
    except SeedpipeError as exc:
        _refuse(row, f"cannot check the target: {exc}")
        return
    if row.mode is None:
        ws = strike.workspaces[placement.workspace]
        local = drop.local_path(row.source) is not None
        local = local and strike.targets.path(ws, placement.file_path) is not None
        row.mode = "move" if local else "copy"
        row.file_id = row.file_id or new_file_id()
    row.status = Status.INGESTING
    assert row.workspace and row.file_path
    taken[(row.workspace, row.file_path)] = row


def _settle_duplicates(
    strike: StrikeParts, row: Ingest, taken: dict[tuple[str, str], Ingest]
) -> None:
    """Apply the strike's duplicates policy when the target name is already used."""
    assert row.workspace and row.file_path
    key = (row.workspace, row.file_path)
    ws = strike.workspaces[row.workspace]
    prev = taken.get(key)
    if prev is None:
        if not strike.targets.exists(ws, row.file_path):
            return  # free (also after the earlier file was deleted: re-ingest works)
        prev = strike.ledger.ingested_at(*key)
    same = prev is not None and prev.checksum == row.checksum
    who = f"ingest {prev.id} (file {prev.file_id})" if prev else "a file not ingested here"
    policy = strike.settings.duplicates
    if same:
        row.mode = "reject" if policy == "error" else "drop"
        row.reason = f"same content as {who} at {row.workspace}/{row.file_path}"
        if policy == "error":
            row.reason = "duplicate: " + row.reason
        return
    if policy == "replace":
        if prev is not None:
            row.file_id, row.version = prev.file_id, prev.version + 1
        row.reason = f"replaced {who}"
    elif policy == "version":
        row.file_path, n = _versioned(strike, row.workspace, row.file_path)
        row.reason = f"name taken by {who}; stored as version {n}"
    elif policy == "error":
        row.mode, row.reason = "reject", f"duplicate name: {who} is at {row.file_path}"
    else:
        row.mode = "aside"
        row.reason = f"name taken by different content ({who}); kept aside in the drop"
