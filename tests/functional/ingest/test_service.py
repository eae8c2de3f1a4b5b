"""The ingest service end to end on the SQLite bus: events exactly once, scan, CLI, locking."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from pathlib import Path

import pytest

from ingest.ledger import Ingest, Ledger, Status
from ingest.outbox import Outbox
from ingest.service import IngestService
from seedpipe.bus import open_bus
from seedpipe.cli import main
from seedpipe.errors import IngestError
from seedpipe.events import FILE_INGESTED, FILES_TOPIC, CloudEvent, file_event
from seedpipe.records import FileRecord, WorkspaceRef
from seedpipe.settings import Settings


def config(tmp: Path, **strike: object) -> Path:
    extra = "".join(f"{k} = {json.dumps(v)}\n" for k, v in strike.items())
    cfg = tmp / "seedpipe.toml"
    cfg.write_text(
        f'data_dir = "data"\n[bus]\nurl = "sqlite:///events.db"\n'
        f'[workspaces.ws]\nurl = "{tmp / "ws"}"\n'
        f'[[strikes]]\nname = "s"\ndrop = "{tmp / "drop"}"\nworkspace = "ws"\nsettle_s = 0.1\n'
        + extra
    )
    return cfg


async def bus_events(settings: Settings) -> list[CloudEvent]:
    got: list[CloudEvent] = []

    async def collect(batch: list[CloudEvent]) -> None:
        got.extend(batch)

    async with open_bus(settings.bus) as bus:
        group = f"reader-{time.monotonic_ns()}"
        await bus.consume_batches([FILES_TOPIC], group, collect, until_caught_up=True)
    return got


async def wait_published(ledger: Ledger, n: int) -> None:
    deadline = time.monotonic() + 20
    while sum(1 for r in ledger.find(limit=10_000) if r.published) < n:
        assert time.monotonic() < deadline, ledger.counts()
        await asyncio.sleep(0.05)


async def test_each_dropped_file_is_published_exactly_once_on_the_bus(tmp_path):
    settings = Settings.load(config(tmp_path))
    drop = tmp_path / "drop"
    drop.mkdir()
    contents = {f"f{i:02d}.dat": f"content {i}".encode() for i in range(20)}
    stop = asyncio.Event()
    async with open_bus(settings.bus) as bus:
        task = asyncio.create_task(IngestService(settings, bus).run(stop))
        for name, data in contents.items():
            (drop / name).write_bytes(data)
        ledger = Ledger(settings.path("ingest.db"))
        await wait_published(ledger, len(contents))
        stop.set()
        await task
    events = await bus_events(settings)
    assert sorted(e.file_record().file_path for e in events) == sorted(contents)
    for e in events:
        rec = e.file_record()
        assert e.type == FILE_INGESTED and e.subject == rec.id
        assert rec.checksum == "sha256:" + hashlib.sha256(contents[rec.file_path]).hexdigest()
    assert ledger.outbox() == [] and ledger.outbox("inflight") == []
    ledger.close()


async def test_a_second_ingest_process_on_the_same_data_dir_is_refused(tmp_path):
    settings = Settings.load(config(tmp_path))
    stop = asyncio.Event()
    async with open_bus(settings.bus) as bus:
        first = asyncio.create_task(IngestService(settings, bus).run(stop))
        while not settings.path("ingest.db").exists():
            await asyncio.sleep(0.01)
        with pytest.raises(IngestError, match="another ingest process"):
            await IngestService(settings, bus).run(asyncio.Event())
        stop.set()
        await first


async def test_inflight_events_left_by_a_crash_are_published_only_if_missing(tmp_path):
    settings = Settings.load(config(tmp_path))
    ledger = Ledger(settings.path("ingest.db"))
    rows = [Ingest(strike="s", source=n, status=Status.INGESTED) for n in ("on-bus", "lost")]
    ledger.add(rows)
    events = []
    for row in rows:
        rec = FileRecord(file_name=row.source, workspace=WorkspaceRef(name="ws"), file_path="x")
        events.append(file_event(FILE_INGESTED, rec, "test"))
    ids = [r.id for r in rows if r.id is not None]
    ledger.update(rows, [(i, FILES_TOPIC, e.id, e.to_bytes()) for i, e in zip(ids, events)])
    ledger.mark_inflight(ledger.outbox())
    async with open_bus(settings.bus) as bus:
        await bus.publish(FILES_TOPIC, events[0])  # the crash came after this publish
        outbox = Outbox(ledger, bus, settings.bus)
        await outbox.settle_inflight(FILES_TOPIC)
        while await outbox.publish_batch():
            pass
    on_bus = [e.id for e in await bus_events(settings)]
    assert sorted(on_bus) == sorted(e.id for e in events)
    ledger.close()


def test_scan_ingests_files_already_in_the_workspace_once(tmp_path, capsys):
    cfg = config(tmp_path)
    ws = tmp_path / "ws"
    (ws / "deep/er").mkdir(parents=True)
    (ws / "top.txt").write_bytes(b"top")
    (ws / "deep/er/low.txt").write_bytes(b"low")
    assert main(["scan", "--config", str(cfg), "ws", "--dry-run"]) == 0
    assert "would ingest 'top.txt'" in capsys.readouterr().out
    assert main(["scan", "--config", str(cfg), "ws", "--recursive"]) == 0
    assert "2 found, 2 ingested" in capsys.readouterr().out
    assert main(["scan", "--config", str(cfg), "ws", "--recursive"]) == 0
    assert "0 ingested, 2 already known" in capsys.readouterr().out
    events = asyncio.run(bus_events(Settings.load(cfg)))
    assert sorted(e.file_record().file_path for e in events) == ["deep/er/low.txt", "top.txt"]
    assert (ws / "top.txt").exists()  # a scan leaves files where they are


def test_ingests_list_filters_by_status_and_prints_json(tmp_path, capsys):
    cfg = config(tmp_path)
    settings = Settings.load(cfg)
    ledger = Ledger(settings.path("ingest.db"))
    ledger.add(
        [
            Ingest(strike="s", source="a", status=Status.INGESTED),
            Ingest(strike="s", source="b\nc", status=Status.ERRORED, reason="fifo"),
        ]
    )
    ledger.close()
    args = ["ingests", "list", "--config", str(cfg)]
    assert main([*args, "--status", "errored", "--format", "json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["source"] == "b\nc" and row["reason"] == "fifo"
    assert main([*args, "--strike", "s"]) == 0
    table = capsys.readouterr().out
    assert "b\\nc" in table and "INGESTED" in table
