"""Purge (Scale's purge): delete a file and, when asked, everything derived from it, from their
workspaces and (through ``file.deleted`` events the indexer handles) the catalogue. Jobs that
used or made them keep a note of it in ``jobs.db`` (table ``purges``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seedpipe.errors import InvalidInput, WorkspaceFileNotFound
from seedpipe.events import FILE_DELETED, FILES_TOPIC, file_event
from seedpipe.records import FileRecord, utcnow
from seedpipe.sqlite import connect

if TYPE_CHECKING:
    from seedpipe.bus.base import EventBus
    from seedpipe.catalogue import CatalogueReader
    from seedpipe.settings import Settings
    from seedpipe.workspaces import Workspaces

log = logging.getLogger(__name__)

SOURCE = "seedpipe/capture/purge"
PAGE = 1000
SCHEMA = """
CREATE TABLE IF NOT EXISTS purges (
    file_id TEXT NOT NULL,
    job_id TEXT,
    recipe_id TEXT,
    role TEXT NOT NULL,
    purged REAL NOT NULL,
    by TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS purges_job ON purges (job_id);
"""


async def collect(index: CatalogueReader, file_id: str, descendants: bool) -> list[FileRecord]:
    """The file and (with ``descendants``) every product with it among its ancestors, walked
    page by page; descendants first, so a crash halfway never leaves an orphaned product."""
    from seedpipe.query.model import Query

    root = await index.get(file_id)
    if root is None or root.is_deleted:
        raise InvalidInput(f"no file with id {file_id!r}", field="id")
    found: list[FileRecord] = []
    if descendants:
        token = None
        while True:
            query = Query(derived_from=[file_id], include_superseded=True, limit=PAGE, token=token)
            page = await index.search(query)
            found += [r for r in page.records if r.id != file_id]
            token = page.next_token
            if token is None:
                break
    return [*found, root]


def users(jobs_db: Path, records: list[FileRecord]) -> list[dict[str, Any]]:
    """Queued or running jobs (recipe nodes among them) that take one of ``records`` as input."""
    ids = [r.id for r in records]
    out: list[dict[str, Any]] = []
    db = connect(jobs_db)
    try:
        for fid in ids:
            rows = db.execute(
                "SELECT id, status, recipe FROM jobs WHERE status IN ('queued', 'running') "
                "AND (file_id = ? OR instr(COALESCE(inputs, ''), ?) > 0)",
                (fid, f'"id": "{fid}"'),
            ).fetchall()
            out += [{"file": fid, "job": r[0], "status": r[1], "recipe": r[2]} for r in rows]
    except sqlite3.OperationalError:  # no job store yet
        return []
    finally:
        db.close()
    return out


def running_recipes_using(recipes_db: Path, records: list[FileRecord]) -> list[dict[str, Any]]:
    """Running recipes whose inputs or files hold one of ``records``."""
    out: list[dict[str, Any]] = []
    if not recipes_db.exists():
        return out
    db = connect(recipes_db)
    try:
        for r in records:
            needle = f'"{r.id}"'
            rows = db.execute(
                "SELECT id FROM recipes WHERE status = 'running' AND "
                "(instr(inputs, ?) > 0 OR instr(files, ?) > 0)",
                (needle, needle),
            ).fetchall()
            out += [{"file": r.id, "recipe": row[0]} for row in rows]
    except sqlite3.OperationalError:
        return []
    finally:
        db.close()
    return out


async def purge(
    settings: Settings,
    index: CatalogueReader,
    bus: EventBus | None,
    workspaces: Workspaces,
    file_id: str,
    *,
    descendants: bool = False,
    dry_run: bool = False,
    force: bool = False,
    by: str = "cli",
) -> dict[str, Any]:
    """Purge one file (and its descendants); returns what went (or would go, on a dry run).
    InvalidInput naming ``force`` when queued or running work still uses them."""
    records = await collect(index, file_id, descendants)
    in_use = users(settings.path("jobs.db"), records)
    in_use += running_recipes_using(settings.path("recipes.db"), records)
    listed = [
        {"id": r.id, "file_name": r.file_name, "workspace": r.workspace.name, "path": r.file_path}
        for r in records
    ]
    report: dict[str, Any] = {"dry_run": dry_run, "files": listed, "in_use": in_use}
    if dry_run:
        return report
    if in_use and not force:
        what = ", ".join(sorted({u.get("job") or u["recipe"] for u in in_use}))
        raise InvalidInput(
            f"{len(in_use)} queued or running jobs or recipes still use these files ({what}); "
            "purge with --force to go ahead",
            field="force",
        )
    if bus is None:
        raise InvalidInput("no event bus to announce the deletes on", field="bus")
    now = utcnow()
    for r in records:
        ws = workspaces[r.workspace.name]
        with contextlib.suppress(WorkspaceFileNotFound, FileNotFoundError):
            await asyncio.to_thread(ws.delete, r.file_path)
        gone = r.bump(is_deleted=True, deleted=now)
        await bus.publish(settings.topic(FILES_TOPIC), file_event(FILE_DELETED, gone, SOURCE))
    _note(settings.path("jobs.db"), records, by)
    log.info("purged %d files (%s and descendants: %s)", len(records), file_id, descendants)
    return report


def _note(jobs_db: Path, records: list[FileRecord], by: str) -> None:
    """Jobs that used a purged file as input, and the jobs and recipes that made one, say so."""
    from seedpipe.sqlite import open_store

    db = open_store(jobs_db, SCHEMA)
    try:
        now = time.time()
        for r in records:
            if r.job:
                db.execute(
                    "INSERT INTO purges VALUES (?, ?, ?, 'product', ?, ?)",
                    (r.id, r.job, r.recipe, now, by),
                )
            with contextlib.suppress(sqlite3.OperationalError):
                for (job_id,) in db.execute(
                    "SELECT id FROM jobs WHERE file_id = ? OR instr(COALESCE(inputs, ''), ?) > 0",
                    (r.id, f'"id": "{r.id}"'),
                ).fetchall():
                    db.execute(
                        "INSERT INTO purges VALUES (?, ?, NULL, 'input', ?, ?)",
                        (r.id, job_id, now, by),
                    )
    finally:
        db.close()


def purges_of(jobs_db: Path, job_id: str) -> list[dict[str, Any]]:
    """What was purged of a job's inputs and products."""
    from seedpipe.sqlite import open_store

    db = open_store(jobs_db, SCHEMA)
    try:
        rows = db.execute(
            "SELECT file_id, role, purged, by FROM purges WHERE job_id = ? ORDER BY purged",
            (job_id,),
        ).fetchall()
        return [{"file": r[0], "role": r[1], "purged": r[2], "by": r[3]} for r in rows]
    finally:
        db.close()
