"""The job store: one job per (trigger, file), state changes, recovery after a crash."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from capture.contract import job_errors
from capture.jobs import Job, JobStore, job_id_for
from seedpipe.errors import InvalidInput


def make_job(trigger: str = "t", file_id: str = "f1") -> Job:
    return Job(
        id=job_id_for(trigger, file_id),
        job_type="watermark",
        job_type_version="1.0.0",
        trigger=trigger,
        file_id=file_id,
        event_id="e1",
        input_name="INPUT_IMAGE",
        record={"id": file_id},
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[JobStore]:
    s = JobStore(tmp_path / "jobs.db")
    yield s
    s.close()


def test_a_replayed_trigger_does_not_create_a_second_job(store: JobStore) -> None:
    assert store.create(make_job())
    assert not store.create(make_job())
    assert store.counts()["queued"] == 1


def test_the_same_file_under_two_triggers_gives_two_jobs(store: JobStore) -> None:
    assert store.create(make_job("a"))
    assert store.create(make_job("b"))
    assert len(store.search()) == 2


def test_job_ids_are_stable_across_workers() -> None:
    assert job_id_for("t", "f") == job_id_for("t", "f") != job_id_for("t", "g")


def test_a_job_goes_queued_running_completed_with_timings(store: JobStore) -> None:
    job = make_job()
    store.create(job)
    running = store.mark_running(job.id, "/logs/x.log")
    assert (running.status, running.attempt, running.log_path) == ("running", 1, "/logs/x.log")
    done = store.finish(job.id, "completed", exit_code=0, duration_s=0.5, products=["p"])
    assert done.status == "completed" and done.products == ["p"] and done.ended is not None
    assert done.started is not None and done.ended >= done.started


def test_jobs_left_running_by_a_crash_are_requeued_without_spending_an_attempt(
    tmp_path: Path,
) -> None:
    first = JobStore(tmp_path / "jobs.db")
    job = make_job()
    first.create(job)
    first.mark_running(job.id, None)
    first.close()
    second = JobStore(tmp_path / "jobs.db")
    assert second.recover() == 1
    again = second.require(job.id)
    assert (again.status, again.attempt) == ("queued", 0)
    second.close()


def test_a_retry_waits_for_its_backoff(store: JobStore) -> None:
    job = make_job()
    store.create(job)
    store.mark_running(job.id, None)
    store.requeue(job.id, delay_s=60, error=job_errors.timeout(30))
    assert store.runnable(now=0) == []
    assert store.require(job.id).error == job_errors.timeout(30).model_dump()


def test_listing_by_an_unknown_status_names_the_field(store: JobStore) -> None:
    with pytest.raises(InvalidInput, match="status"):
        store.search(status="exploded")


def test_listing_filters_by_status_and_job_type(store: JobStore) -> None:
    store.create(make_job("a"))
    b = make_job("b")
    store.create(b)
    store.mark_running(b.id, None)
    store.finish(b.id, "failed", error=job_errors.failure("x", "X", "x failed", "job"))
    assert [j.trigger for j in store.search(status="failed")] == ["b"]
    assert len(store.search(job_type="watermark")) == 2
    assert store.search(job_type="other") == []
