"""The job store's batch queries: a batch's page of jobs inserted at once, counted,
canceled, and walked by input file."""

from __future__ import annotations

import json
import time
from dataclasses import asdict

from capture.jobs.model import STATUSES, Job
from capture.jobs.table import COLUMNS, JSON_COLUMNS, JobTable
from seedpipe.sqlite import transaction


class BatchJobs(JobTable):
    """The queries of a batch's jobs (``batch`` set)."""

    def create_many(self, jobs: list[Job]) -> int:
        """Insert ``jobs`` in one transaction (a batch's page); returns how many were new."""
        if not jobs:
            return 0
        sql = (
            f"INSERT OR IGNORE INTO jobs ({', '.join(COLUMNS)}) "  # noqa: S608
            f"VALUES ({', '.join('?' for _ in COLUMNS)})"
        )
        rows = []
        for job in jobs:
            values = asdict(job)
            values["record"] = json.dumps(job.record)
            values["error"] = json.dumps(job.error) if job.error else None
            values["products"] = json.dumps(job.products)
            for key in JSON_COLUMNS:
                values[key] = json.dumps(values[key]) if values[key] is not None else None
            rows.append(tuple(values[c] for c in COLUMNS))
        with self._lock, transaction(self._db) as db:
            before = db.total_changes
            db.executemany(sql, rows)
            return db.total_changes - before

    def batch_counts(self, batch: str) -> dict[str, int]:
        """Jobs of ``batch`` by status (every status present, zero when none)."""
        rows = self._exec(
            "SELECT status, COUNT(*) FROM jobs WHERE batch = ? GROUP BY status", (batch,)
        ).fetchall()
        out: dict[str, int] = dict.fromkeys(STATUSES, 0)
        out.update({r[0]: r[1] for r in rows})
        return out

    def cancel_batch(self, batch: str, by: str, *, running: bool) -> int:
        """Cancel a batch's queued jobs (and running ones when ``running``)."""
        states = "('queued', 'running')" if running else "('queued')"
        cur = self._exec(
            "UPDATE jobs SET status = 'canceled', canceled_by = ?, ended = ? "  # noqa: S608
            f"WHERE batch = ? AND status IN {states}",
            (by, time.time(), batch),
        )
        self._exec(
            "UPDATE job_executions SET status = 'canceled', ended = ? WHERE ended IS NULL AND "
            "job_id IN (SELECT id FROM jobs WHERE batch = ? AND status = 'canceled')",
            (time.time(), batch),
        )
        return cur.rowcount

    def running_recipes(self, batch: str) -> list[str]:
        """The recipes of ``batch`` with a job running now (no more than the workers run)."""
        rows = self._exec(
            "SELECT DISTINCT recipe FROM jobs WHERE batch = ? AND status = 'running' "
            "AND recipe IS NOT NULL",
            (batch,),
        ).fetchall()
        return [str(r[0]) for r in rows]

    def cancel_recipes(self, batch: str, recipes: list[str], by: str, *, running: bool) -> int:
        """Cancel the queued jobs of ``batch``'s ``recipes`` (running ones too when
        ``running``)."""
        states = "('queued', 'running')" if running else "('queued')"
        canceled = 0
        for start in range(0, len(recipes), 500):
            chunk = recipes[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            now = time.time()
            cur = self._exec(
                "UPDATE jobs SET status = 'canceled', canceled_by = ?, ended = ? "  # noqa: S608
                f"WHERE batch = ? AND status IN {states} AND recipe IN ({marks})",
                (by, now, batch, *chunk),
            )
            canceled += cur.rowcount
            self._exec(
                "UPDATE job_executions SET status = 'canceled', ended = ? "  # noqa: S608
                "WHERE ended IS NULL AND job_id IN (SELECT id FROM jobs WHERE batch = ? "
                f"AND status = 'canceled' AND recipe IN ({marks}))",
                (now, batch, *chunk),
            )
        return canceled

    def batch_file_ids(
        self, batch: str, after: int = 0, limit: int = 1000
    ) -> list[tuple[int, str]]:
        """(rowid, input file id) of a batch's jobs after ``after``, in rowid order (a cursor)."""
        rows = self._exec(
            "SELECT rowid, file_id FROM jobs WHERE batch = ? AND rowid > ? ORDER BY rowid LIMIT ?",
            (batch, after, limit),
        ).fetchall()
        return [(int(r[0]), str(r[1])) for r in rows]
