"""Scale's Scan: register the files already in a workspace as SOURCE files, where they lie."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ingest.completeness import is_hidden
from ingest.drops.base import hash_stream
from ingest.executor import OutboxRow, source_record
from ingest.ledger import Ingest, Ledger, Status
from ingest.rules import Rule, compile_rules
from seedpipe.errors import SeedpipeError
from seedpipe.events import FILE_INGESTED, FILES_TOPIC, file_event
from seedpipe.media import sniff
from seedpipe.records import new_file_id
from seedpipe.settings import Settings, StrikeSettings
from seedpipe.workspaces import get_workspace
from seedpipe.workspaces.base import ObjectInfo, Workspace

BATCH = 200
Progress = Callable[[int, int], None]


@dataclass
class ScanReport:
    found: int = 0
    ingested: int = 0
    known: int = 0
    unmatched: int = 0
    errored: int = 0
    planned: list[tuple[str, list[str]]] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)


def scan_rules(settings: Settings, workspace: str) -> list[Rule]:
    """The rules of the first strike into ``workspace``; without one, every file matches."""
    for strike in settings.strikes:
        if strike.workspace == workspace:
            return compile_rules(strike)
    return compile_rules(StrikeSettings(name="scan", drop="file:///", workspace=workspace))


def scan_workspace(
    settings: Settings,
    workspace: str,
    ledger: Ledger,
    *,
    recursive: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ScanReport:
    """Ingest the files in ``workspace`` not yet known to the ledger; their events go to its
    outbox. Files stay where they are (rules give data types; their new_file_path is ignored).
    """
    ws = get_workspace(settings, workspace)
    rules = scan_rules(settings, workspace)
    name = f"scan:{workspace}"
    # A scan killed between its two commits left plans; the files were not touched.
    ledger.remove([r.id for r in ledger.active(name) if r.id is not None])
    topic = settings.topic(FILES_TOPIC)
    report = ScanReport()
    objects = [o for o in ws.list("", recursive=recursive) if not is_hidden(o.path)]
    report.found = len(objects)
    when = datetime.now(UTC)
    batch: list[Ingest] = []
    for done, obj in enumerate(objects, 1):
        matched = next((r for r in rules if r.regex.search(obj.path)), None)
        if matched is None:
            report.unmatched += 1
        elif ledger.ingested_at(workspace, obj.path) is not None:
            report.known += 1
        elif dry_run:
            report.planned.append((obj.path, list(matched.data_types)))
        else:
            row = _row(ws, name, obj, matched, when, report)
            if row is not None:
                batch.append(row)
        if len(batch) >= BATCH:
            _commit(ledger, ws, batch, topic, report)
            batch = []
        if progress is not None:
            progress(done, len(objects))
    if batch:
        _commit(ledger, ws, batch, topic, report)
    return report


def _row(
    ws: Workspace, name: str, obj: ObjectInfo, rule: Rule, when: datetime, report: ScanReport
) -> Ingest | None:
    now = time.time()
    try:
        with ws.open(obj.path) as fh:
            content = hash_stream(fh)
    except (OSError, SeedpipeError) as exc:
        report.errored += 1
        report.errors.append((obj.path, str(exc)))
        return None
    return Ingest(
        strike=name,
        source=obj.path,
        status=Status.INGESTING,
        source_size=obj.size,
        workspace=ws.name,
        file_path=obj.path,
        file_id=new_file_id(),
        checksum=content.checksum,
        bytes=content.size,
        media_type=sniff(content.head, obj.path),
        data_types=list(rule.data_types),
        mode="scan",
        queued=now,
        ingest_started=now,
    )


def _commit(ledger: Ledger, ws: Workspace, rows: list[Ingest], topic: str, rep: ScanReport) -> None:
    ledger.add(rows)
    events: list[OutboxRow] = []
    for row in rows:
        assert row.id is not None
        row.status, row.ingest_ended = Status.INGESTED, time.time()
        event = file_event(FILE_INGESTED, source_record(row, ws), f"seedpipe/scan/{ws.name}")
        events.append((row.id, topic, event.id, event.to_bytes()))
    ledger.update(rows, events)
    rep.ingested += len(rows)
