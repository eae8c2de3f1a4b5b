"""Unit tests of the ingest ledger and its outbox."""

from __future__ import annotations

from ingest.ledger import Ingest, Ledger, Status


def test_ingests_survive_reopening_the_ledger(tmp_path):
    ledger = Ledger(tmp_path / "ingest.db")
    ing = Ingest(strike="s", source="a b\n.tif", source_size=3, data_types=["x"])
    ledger.add([ing])
    ing.status, ing.workspace, ing.file_path = Status.INGESTING, "ws", "a.tif"
    ledger.update([ing])
    ledger.close()
    again = Ledger(tmp_path / "ingest.db")
    [active] = again.active()
    assert active.source == "a b\n.tif" and active.status is Status.INGESTING
    assert active.data_types == ["x"]


def test_the_event_is_queued_in_the_same_transaction_as_the_ingested_status(tmp_path):
    ledger = Ledger(tmp_path / "ingest.db")
    ing = Ingest(strike="s", source="a")
    ledger.add([ing])
    assert ing.id is not None
    ing.status, ing.workspace, ing.file_path = Status.INGESTED, "ws", "a"
    ledger.update([ing], [(ing.id, "t", "e1", b"{}")])
    [ev] = ledger.outbox()
    assert ev.ingest_id == ing.id and ledger.active() == []
    ledger.mark_inflight([ev])
    assert ledger.outbox() == [] and ledger.outbox("inflight") == [ev]
    ledger.mark_sent([ev], published=5.0)
    assert ledger.outbox("inflight") == []
    got = ledger.get(ing.id)
    assert got is not None and got.published == 5.0


def test_ingested_at_finds_the_newest_file_at_a_target_path(tmp_path):
    ledger = Ledger(tmp_path / "ingest.db")
    a = Ingest(strike="s", source="a", status=Status.INGESTED, workspace="w", file_path="p")
    b = Ingest(strike="s", source="b", status=Status.INGESTED, workspace="w", file_path="p")
    c = Ingest(strike="s", source="c", status=Status.ERRORED, workspace="w", file_path="p")
    ledger.add([a, b, c])
    found = ledger.ingested_at("w", "p")
    assert found is not None and found.id == b.id
    assert ledger.ingested_at("w", "q") is None
    assert [i.source for i in ledger.find(status="INGESTED")] == ["b", "a"]
    assert ledger.counts() == {"INGESTED": 2, "ERRORED": 1}
