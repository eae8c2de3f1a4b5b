"""The SQLite job store: one row per (trigger, file), queued → running → completed|failed|canceled.

Queued jobs run higher ``priority`` first, and in the order they were queued within a priority.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from typing import Any, Literal

from capture.contract.job_errors import JobErrorInfo
from capture.jobs.batch_jobs import BatchJobs
from capture.jobs.model import ERROR_CATEGORIES, STATUSES, WORKER, Job, Pending
from capture.jobs.table import COLUMNS, JSON_COLUMNS, row_to_job
from capture.runtimes.lifeline import Started
from seedpipe.errors import InvalidInput, JobError


class JobStore(BatchJobs):
    """Job records in SQLite (WAL). Safe to share between threads of one process."""

    def create(self, job: Job) -> bool:
        """Insert ``job`` as queued; False when (trigger, file) already has a job."""
        values = asdict(job)
        values["record"] = json.dumps(job.record)
        values["error"] = json.dumps(job.error) if job.error else None
        values["products"] = json.dumps(job.products)
        for key in JSON_COLUMNS:
            values[key] = json.dumps(values[key]) if values[key] is not None else None
        # Column names come from the constant COLUMNS, never from outside.
        sql = (
            f"INSERT OR IGNORE INTO jobs ({', '.join(COLUMNS)}) "  # noqa: S608
            f"VALUES ({', '.join('?' for _ in COLUMNS)})"
        )
        cur = self._exec(sql, tuple(values[c] for c in COLUMNS))
        return cur.rowcount == 1

    def get(self, job_id: str) -> Job | None:
        row = self._exec("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return row_to_job(row) if row else None

    def require(self, job_id: str) -> Job:
        job = self.get(job_id)
        if job is None:
            raise JobError(f"no job with id {job_id!r}")
        return job

    def search(
        self,
        *,
        status: str | None = None,
        job_type: str | None = None,
        limit: int = 100,
        offset: int = 0,
        after: tuple[float, str] | None = None,
    ) -> list[Job]:
        """Jobs by creation (then id); ``after`` (created, id) starts past that job (keyset)."""
        clause, args = self._where(status, job_type, after)
        rows = self._exec(
            f"SELECT * FROM jobs {clause} ORDER BY created, id LIMIT ? OFFSET ?",  # noqa: S608
            (*args, limit, offset),
        ).fetchall()
        return [row_to_job(r) for r in rows]

    def count(self, *, status: str | None = None, job_type: str | None = None) -> int:
        clause, args = self._where(status, job_type, None)
        row = self._exec(f"SELECT count(*) FROM jobs {clause}", tuple(args)).fetchone()  # noqa: S608
        return int(row[0])

    @staticmethod
    def _where(
        status: str | None, job_type: str | None, after: tuple[float, str] | None
    ) -> tuple[str, list[Any]]:
        if status is not None and status not in STATUSES:
            raise InvalidInput(f"must be one of {', '.join(STATUSES)}", field="status")
        where: list[str] = []
        args: list[Any] = []
        if status:
            where.append("status = ?")
            args.append(status)
        if job_type:
            where.append("job_type = ?")
            args.append(job_type)
        if after is not None:
            where.append("(created > ? OR (created = ? AND id > ?))")
            args.extend([after[0], after[0], after[1]])
        return (f"WHERE {' AND '.join(where)}" if where else ""), args

    def counts(self) -> dict[str, int]:
        rows = self._exec("SELECT status, COUNT(*) FROM jobs GROUP BY status").fetchall()
        out: dict[str, int] = dict.fromkeys(STATUSES, 0)
        out.update({r[0]: r[1] for r in rows})
        return out

    def counts_by_type(self) -> dict[tuple[str, str], int]:
        """Jobs per (job type, status), for the operators' metrics."""
        rows = self._exec(
            "SELECT job_type, status, COUNT(*) FROM jobs GROUP BY job_type, status"
        ).fetchall()
        return {(r[0], r[1]): r[2] for r in rows}

    def runnable(self, now: float, limit: int = 100) -> list[Pending]:
        """Queued jobs whose backoff has passed, higher priority first, then in queue order."""
        rows = self._exec(
            "SELECT id, job_type, cpus, mem_mib FROM jobs WHERE status = 'queued' "
            "AND not_before <= ? ORDER BY priority DESC, created, id LIMIT ?",
            (now, limit),
        ).fetchall()
        return [Pending(*r) for r in rows]

    def next_wake(self, after: float = 0.0) -> float | None:
        """When the next queued job's backoff ends, of those still waiting after ``after``."""
        row = self._exec(
            "SELECT MIN(not_before) FROM jobs WHERE status = 'queued' AND not_before > ?",
            (after,),
        ).fetchone()
        return float(row[0]) if row and row[0] is not None else None

    def mark_running(self, job_id: str, log_path: str | None) -> Job:
        """Start a queued job's next attempt; a job canceled meanwhile is returned unchanged."""
        self._exec(
            "UPDATE jobs SET status = 'running', attempt = attempt + 1, started = ?, "
            "ended = NULL, exit_code = NULL, error = NULL, log_path = ? "
            "WHERE id = ? AND status = 'queued'",
            (time.time(), log_path, job_id),
        )
        job = self.require(job_id)
        if job.status == "running":
            self._exec(
                "INSERT OR REPLACE INTO job_executions (job_id, attempt, status, started, worker, "
                "log_path) VALUES (?, ?, 'running', ?, ?, ?)",
                (job_id, job.attempt, job.started, WORKER, log_path),
            )
        return job

    def _end_execution(
        self,
        job_id: str,
        status: str,
        exit_code: int | None = None,
        error: str | None = None,
    ) -> None:
        self._exec(
            "UPDATE job_executions SET status = ?, ended = ?, exit_code = ?, error = ? "
            "WHERE job_id = ? AND ended IS NULL",
            (status, time.time(), exit_code, error, job_id),
        )

    def executions(self, job_id: str) -> list[dict[str, Any]]:
        """Every attempt of a job (Scale's job_exe), oldest first."""
        rows = self._exec(
            "SELECT * FROM job_executions WHERE job_id = ? ORDER BY started, attempt", (job_id,)
        ).fetchall()
        out = []
        for r in rows:
            data = dict(r)
            data["error"] = json.loads(data["error"]) if data["error"] else None
            ended, started = data["ended"], data["started"]
            data["duration_s"] = round(ended - started, 3) if ended is not None else None
            out.append(data)
        return out

    def finish(
        self,
        job_id: str,
        status: Literal["completed", "failed"],
        *,
        exit_code: int | None = None,
        error: JobErrorInfo | None = None,
        duration_s: float | None = None,
        products: list[str] | None = None,
        results: dict[str, Any] | None = None,
    ) -> Job:
        # A job canceled meanwhile stays canceled (its end raced the cancel).
        cur = self._exec(
            "UPDATE jobs SET status = ?, ended = ?, exit_code = ?, error = ?, duration_s = ?, "
            "products = ?, results = ? WHERE id = ? AND status != 'canceled'",
            (
                status,
                time.time(),
                exit_code,
                error.model_dump_json() if error else None,
                duration_s,
                json.dumps(products or []),
                json.dumps(results) if results is not None else None,
                job_id,
            ),
        )
        if cur.rowcount:
            err = error.model_dump_json() if error else None
            self._end_execution(job_id, status, exit_code, err)
        return self.require(job_id)

    def requeue(
        self,
        job_id: str,
        *,
        delay_s: float = 0.0,
        error: JobErrorInfo | None = None,
        exit_code: int | None = None,
        reset_attempts: bool = False,
    ) -> Job:
        """Back to queued (a retry after ``delay_s``); the last error is kept for the record."""
        cur = self._exec(
            "UPDATE jobs SET status = 'queued', not_before = ?, error = ?, exit_code = ?, "
            "ended = ?, attempt = CASE WHEN ? THEN 0 ELSE attempt END "
            "WHERE id = ? AND status != 'canceled'",
            (
                time.time() + delay_s,
                error.model_dump_json() if error else None,
                exit_code,
                time.time(),
                reset_attempts,
                job_id,
            ),
        )
        if cur.rowcount:
            err = error.model_dump_json() if error else None
            self._end_execution(job_id, "failed", exit_code, err)
        return self.require(job_id)

    def cancel(self, job_id: str, by: str) -> Job:
        """Mark a queued or running job canceled (a running one's process is killed by the
        service that runs it); JobError naming the status when it has already ended."""
        cur = self._exec(
            "UPDATE jobs SET status = 'canceled', canceled_by = ?, ended = ? "
            "WHERE id = ? AND status IN ('queued', 'running')",
            (by, time.time(), job_id),
        )
        job = self.require(job_id)
        if cur.rowcount == 1:
            self._end_execution(job_id, "canceled")
        if cur.rowcount != 1:
            raise JobError(
                f"job {job_id}: status is {job.status}; only queued or running jobs can be canceled"
            )
        return job

    def canceled_among(self, job_ids: list[str]) -> list[str]:
        """Which of ``job_ids`` (the ones a service runs) were canceled meanwhile."""
        if not job_ids:
            return []
        marks = ", ".join("?" for _ in job_ids)
        rows = self._exec(
            f"SELECT id FROM jobs WHERE status = 'canceled' AND id IN ({marks})",  # noqa: S608
            tuple(job_ids),
        ).fetchall()
        return [r[0] for r in rows]

    def failed_matching(
        self,
        *,
        job_type: str | None = None,
        error_category: str | None = None,
        since: float | None = None,
    ) -> list[str]:
        """Ids of failed jobs (not of recipe nodes) matching every filter given, oldest first."""
        if error_category is not None and error_category not in ERROR_CATEGORIES:
            raise InvalidInput(
                f"must be one of {', '.join(ERROR_CATEGORIES)}", field="error_category"
            )
        where = ["status = 'failed'", "recipe IS NULL"]
        args: list[Any] = []
        if job_type:
            where.append("job_type = ?")
            args.append(job_type)
        if error_category:
            where.append("json_extract(error, '$.category') = ?")
            args.append(error_category)
        if since is not None:
            where.append("COALESCE(ended, created) >= ?")
            args.append(since)
        rows = self._exec(
            f"SELECT id FROM jobs WHERE {' AND '.join(where)} ORDER BY created, id",  # noqa: S608
            tuple(args),
        ).fetchall()
        return [r[0] for r in rows]

    def set_process(self, job_id: str, started: Started) -> None:
        """Record where a running job's attempt runs (found again after a crash)."""
        self._exec(
            "INSERT OR REPLACE INTO job_processes (job_id, pgid, start, container) "
            "VALUES (?, ?, ?, ?)",
            (job_id, started.pgid, started.start, started.container),
        )

    def clear_process(self, job_id: str) -> None:
        self._exec("DELETE FROM job_processes WHERE job_id = ?", (job_id,))

    def running_processes(self) -> list[tuple[str, Started]]:
        """(job id, where it runs) of every job recorded as running."""
        rows = self._exec(
            "SELECT p.job_id, p.pgid, p.start, p.container FROM job_processes p "
            "JOIN jobs j ON j.id = p.job_id WHERE j.status = 'running'"
        ).fetchall()
        return [(r[0], Started(int(r[1]), r[2], r[3])) for r in rows]

    def recover(self) -> int:
        """Requeue jobs a crash left running; the interrupted attempt does not count."""
        self._exec(
            "UPDATE job_executions SET status = 'lost', ended = ? WHERE ended IS NULL AND "
            "job_id IN (SELECT id FROM jobs WHERE status = 'running')",
            (time.time(),),
        )
        cur = self._exec(
            "UPDATE jobs SET status = 'queued', attempt = MAX(attempt - 1, 0), not_before = 0 "
            "WHERE status = 'running'"
        )
        return cur.rowcount
