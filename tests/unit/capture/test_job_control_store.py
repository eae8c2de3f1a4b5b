"""Job control in the store: priorities, cancel, bulk requeue filters, added columns."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from capture.contract.job_errors import failure
from capture.control import parse_queue_request, parse_since, requeue_failed
from capture.jobs import Job, JobStore, job_id_for
from seedpipe.errors import InvalidInput, JobError


def make_job(file_id: str, *, priority: int = 0, created: float | None = None) -> Job:
    return Job(
        id=job_id_for("t", file_id),
        job_type="watermark",
        job_type_version="1.0.0",
        trigger="t",
        file_id=file_id,
        event_id="e",
        input_name="INPUT_IMAGE",
        record={"id": file_id},
        priority=priority,
        created=created if created is not None else time.time(),
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[JobStore]:
    s = JobStore(tmp_path / "jobs.db")
    yield s
    s.close()


def test_higher_priority_runs_first_and_the_same_priority_in_queue_order(
    store: JobStore,
) -> None:
    for i, prio in enumerate([0, 5, 0, 5, -1]):
        store.create(make_job(f"f{i}", priority=prio, created=1000.0 + i))
    order = [p.id for p in store.runnable(time.time())]
    expected = [job_id_for("t", f) for f in ("f1", "f3", "f0", "f2", "f4")]
    assert order == expected


def test_a_canceled_queued_job_never_starts_and_says_who_canceled_it(store: JobStore) -> None:
    job = make_job("a")
    store.create(job)
    canceled = store.cancel(job.id, "cli:alice")
    assert (canceled.status, canceled.canceled_by) == ("canceled", "cli:alice")
    assert store.runnable(time.time()) == []
    assert store.mark_running(job.id, None).status == "canceled"
    assert store.counts()["canceled"] == 1


def test_cancelling_a_finished_job_is_refused_naming_its_status(store: JobStore) -> None:
    job = make_job("a")
    store.create(job)
    store.mark_running(job.id, None)
    store.finish(job.id, "completed", exit_code=0)
    with pytest.raises(JobError, match="status is completed"):
        store.cancel(job.id, "api")


def test_a_running_canceled_job_is_found_among_the_running_ones(store: JobStore) -> None:
    a, b = make_job("a"), make_job("b")
    store.create(a)
    store.create(b)
    store.mark_running(a.id, None)
    store.mark_running(b.id, None)
    store.cancel(a.id, "api")
    assert store.canceled_among([a.id, b.id]) == [a.id]
    assert store.canceled_among([]) == []


def test_bulk_requeue_takes_only_failed_jobs_matching_every_filter(store: JobStore) -> None:
    jobs = [make_job(f"f{i}", created=1000.0 + i) for i in range(4)]
    for j in jobs:
        store.create(j)
        store.mark_running(j.id, None)
    store.finish(jobs[0].id, "failed", error=failure("x", "X", "bad data", "data"))
    store.finish(jobs[1].id, "failed", error=failure("y", "Y", "lost disk", "system"))
    store.finish(jobs[2].id, "failed", error=failure("z", "Z", "bad job", "job"))
    store.finish(jobs[3].id, "completed", exit_code=0)
    assert requeue_failed(store, error_category="system", dry_run=True) == [jobs[1].id]
    assert store.get(jobs[1].id).status == "failed"  # type: ignore[union-attr]
    assert requeue_failed(store, job_type="other") == []
    assert requeue_failed(store, since=time.time() + 3600) == []
    ids = requeue_failed(store)
    assert ids == [jobs[0].id, jobs[1].id, jobs[2].id]
    requeued = store.get(jobs[0].id)
    assert requeued is not None and (requeued.status, requeued.attempt) == ("queued", 0)
    with pytest.raises(InvalidInput, match="error_category"):
        requeue_failed(store, error_category="cosmic")


def test_since_takes_an_iso_time_or_an_age_and_names_the_field_otherwise() -> None:
    assert parse_since("2026-01-01T00:00:00Z") == 1767225600.0
    assert abs(parse_since("2h") - (time.time() - 7200)) < 5
    with pytest.raises(InvalidInput, match=r"^since:"):
        parse_since("yesterday")


def test_a_job_request_takes_null_as_left_out_and_refuses_other_non_objects() -> None:
    assert parse_queue_request({"job_type": "t", "inputs": None, "json": None}) == ("t", {}, {}, 0)
    got = parse_queue_request({"job_type": "t", "inputs": {"IN": "f1"}, "priority": -3})
    assert got == ("t", {"IN": ["f1"]}, {}, -3)
    for field, value in [("inputs", []), ("inputs", ""), ("inputs", 0), ("json", []), ("json", 0)]:
        with pytest.raises(InvalidInput, match=rf"^{field}:"):
            parse_queue_request({"job_type": "t", field: value})


def test_a_store_written_before_priorities_gains_them_as_integers(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    old = sqlite3.connect(path)
    old.execute(
        "CREATE TABLE jobs (id TEXT PRIMARY KEY, job_type TEXT NOT NULL, job_type_version TEXT "
        "NOT NULL, trigger TEXT NOT NULL, file_id TEXT NOT NULL, event_id TEXT NOT NULL, "
        "input_name TEXT NOT NULL, record TEXT NOT NULL, status TEXT NOT NULL, attempt INTEGER "
        "NOT NULL DEFAULT 0, max_attempts INTEGER NOT NULL, cpus REAL NOT NULL DEFAULT 1, "
        "mem_mib REAL NOT NULL DEFAULT 0, created REAL NOT NULL, not_before REAL NOT NULL "
        "DEFAULT 0, started REAL, ended REAL, duration_s REAL, exit_code INTEGER, error TEXT, "
        "log_path TEXT, products TEXT NOT NULL DEFAULT '[]', UNIQUE (trigger, file_id))"
    )
    old.execute(
        "INSERT INTO jobs (id, job_type, job_type_version, trigger, file_id, event_id, "
        "input_name, record, status, max_attempts, created) "
        "VALUES ('old', 'w', '1', 't', 'f', 'e', 'I', '{}', 'queued', 3, 1)"
    )
    old.commit()
    old.close()
    store = JobStore(path)
    try:
        job = store.get("old")
        assert job is not None and job.priority == 0 and job.job_type_revision is None
        store.create(make_job("new", priority=3))
        assert next(p.id for p in store.runnable(time.time())) == job_id_for("t", "new")
    finally:
        store.close()


def test_every_attempt_is_an_execution_with_its_own_outcome(store: JobStore) -> None:
    job = make_job("a")
    store.create(job)
    store.mark_running(job.id, "/logs/1.log")
    store.requeue(job.id, error=failure("io", "IO", "disk gone", "system"), exit_code=None)
    store.mark_running(job.id, "/logs/2.log")
    store.recover()  # a crash: that execution is lost, the attempt does not count
    store.mark_running(job.id, "/logs/3.log")
    store.finish(job.id, "completed", exit_code=0)
    exes = store.executions(job.id)
    assert [(e["attempt"], e["status"], e["log_path"]) for e in exes] == [
        (1, "failed", "/logs/1.log"),
        (2, "lost", "/logs/2.log"),
        (2, "completed", "/logs/3.log"),
    ]
    assert exes[0]["error"]["category"] == "system" and exes[2]["exit_code"] == 0
    assert all(e["worker"] and e["duration_s"] is not None for e in exes)


def test_a_job_canceled_while_it_ends_stays_canceled(store: JobStore) -> None:
    job = make_job("a")
    store.create(job)
    store.mark_running(job.id, None)
    store.cancel(job.id, "api")
    assert store.finish(job.id, "completed", exit_code=0).status == "canceled"
    assert store.requeue(job.id, delay_s=1).status == "canceled"
    assert [e["status"] for e in store.executions(job.id)] == ["canceled"]
