"""Execute ingest plans: place files, set aside what is refused, build SOURCE records.

Every step can be repeated after a crash: a plan whose file is already placed is finished,
one whose file is gone and not placed is ERRORED.
"""

from __future__ import annotations

import errno
import logging
import os
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from ingest.drops.base import DEFERRED_AREA, DUPLICATE_AREA, ERRORED_AREA
from ingest.ledger import Ingest, Status
from seedpipe.errors import SeedpipeError
from seedpipe.events import FILE_INGESTED, file_event
from seedpipe.records import FileRecord, WorkspaceRef
from seedpipe.workspaces.base import Workspace

if TYPE_CHECKING:
    from ingest.targets import StrikeParts

log = logging.getLogger(__name__)

OutboxRow = tuple[int, str, str, bytes]


def execute_all(strike: StrikeParts, rows: list[Ingest]) -> list[OutboxRow]:
    """Execute the plans of ``rows``; the events of those that ended INGESTED."""
    events: list[OutboxRow] = []
    for row in rows:
        if row.status is not Status.INGESTING:
            continue
        try:
            execute(strike, row)
        except Exception as exc:
            if not isinstance(exc, OSError | SeedpipeError):
                log.exception("strike %s: placing %r failed", strike.name, row.source)
            row.status, row.reason = Status.ERRORED, f"could not place the file: {exc}"
            log.warning("strike %s: %s: %s", strike.name, row.source, row.reason)
            st = strike.drop.stat(row.source)
            if st is not None:
                strike.kept[row.source] = (st.size, st.mtime_ns)
        row.ingest_ended = time.time()
        if row.status is Status.INGESTED and row.id is not None:
            event = file_event(FILE_INGESTED, record(strike, row), strike.source_uri)
            events.append((row.id, strike.topic, event.id, event.to_bytes()))
    return events


def execute(strike: StrikeParts, row: Ingest) -> None:
    """Carry out a plan; safe to repeat after a crash at any point."""
    present = strike.drop.stat(row.source) is not None
    mode = row.mode
    if mode in ("move", "copy"):
        assert row.workspace and row.file_path
        ws = strike.workspaces[row.workspace]
        if present:
            _place(strike, row, ws, row.file_path)
            strike.left(row.source)
        elif not strike.targets.exists(ws, row.file_path):
            row.status, row.reason = Status.ERRORED, "the file disappeared during ingest"
            return
        row.status = Status.INGESTED
        return
    final = {
        "defer": (Status.DEFERRED, DEFERRED_AREA),
        "reject": (Status.ERRORED, ERRORED_AREA),
        "aside": (Status.DUPLICATE, DUPLICATE_AREA),
        "drop": (Status.DUPLICATE, None),
    }
    status, area = final[mode or "reject"]
    if present and area is None:
        strike.drop.delete(row.source)
        strike.left(row.source)
    elif present and area is not None:
        try:
            strike.drop.set_aside(row.source, area)
            strike.left(row.source)
        except OSError as exc:
            st = strike.drop.stat(row.source)
            if st is not None:
                strike.kept[row.source] = (st.size, st.mtime_ns)
            row.reason = f"{row.reason}; left in place ({exc.strerror or exc})"
    row.status = status


def _move_in(src: Path, dst: Path) -> None:
    """Move a drop file to its place: hard link, then unlink the drop's name.

    Unlike a rename this sends the drop's watcher no IN_MOVED_FROM, which watchdog would hold
    and search for half a second per file. A crash between the two steps leaves both names
    on one inode; running this again just unlinks. Where links are refused, rename.
    """
    try:
        os.link(src, dst, follow_symlinks=False)
    except FileExistsError:
        if not os.path.samestat(os.lstat(src), os.lstat(dst)):
            # Replacing an earlier file (the plan said so): link aside, then swap atomically.
            tmp = dst.with_name(f".sp-{uuid.uuid4().hex}.seedpipe-tmp")
            os.link(src, tmp, follow_symlinks=False)
            os.replace(tmp, dst)
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EMLINK, errno.EOPNOTSUPP):
            raise
        os.replace(src, dst)
        return
    os.unlink(src)


def _place(strike: StrikeParts, row: Ingest, ws: Workspace, path: str) -> None:
    src = strike.drop.local_path(row.source)
    dst = strike.targets.path(ws, path)
    if row.mode == "move" and src is not None and dst is not None:
        strike.targets.made_dir(dst.parent)
        try:
            _move_in(src, dst)
            return
        except FileNotFoundError:
            if not os.path.lexists(src):
                raise
            dst.parent.mkdir(parents=True, exist_ok=True)  # removed since we made it
            _move_in(src, dst)
            return
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
    if src is not None:
        # Copy then delete; the workspace makes the copy atomic and removes the source.
        ws.put_file(src, path, move=True)
        return
    with tempfile.TemporaryDirectory(prefix="seedpipe-ingest-") as tmp:
        local = Path(tmp) / "data"
        with local.open("wb") as fh:
            content = strike.drop.read(row.source, fh)
        row.checksum, row.bytes = content.checksum, content.size
        ws.put_file(local, path, move=True)
    strike.drop.delete(row.source)


def record(strike: StrikeParts, row: Ingest) -> FileRecord:
    assert row.workspace and row.file_path
    local = strike.targets.local(row.workspace, row.file_path)
    return source_record(row, strike.workspaces[row.workspace], local)


def source_record(row: Ingest, ws: Workspace, local: Path | None = None) -> FileRecord:
    """The SOURCE file record of an ingested file (Scale's field names).

    ``local`` is the file's already confined local path, when known: without a base_url the
    record's url is then its file URI, as ``record_url`` gives, minus a second symlink walk.
    """
    assert row.file_path and row.file_id
    started = datetime.fromtimestamp(row.ingest_started or time.time(), UTC)
    if local is not None and not ws.settings.base_url:
        url = local.as_uri()
    else:
        url = ws.record_url(row.file_path)
    return FileRecord(
        id=row.file_id,
        file_name=PurePosixPath(row.file_path).name,
        workspace=WorkspaceRef(name=ws.name),
        file_path=row.file_path,
        url=url,
        media_type=row.media_type or "application/octet-stream",
        file_type="SOURCE",
        file_size=row.bytes,
        checksum=row.checksum,
        data_type_tags=row.data_types,
        created=started,
        last_modified=started,
        version=row.version,
        meta_data={"ingest": {"strike": row.strike, "id": row.id, "source": row.source}},
    )
