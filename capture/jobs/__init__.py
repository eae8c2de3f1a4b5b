"""The SQLite job store: one row per (trigger, file), queued → running → completed|failed|canceled.

Queued jobs run higher ``priority`` first, and in the order they were queued within a priority.
The record is in ``model``, the table in ``table``, the queries in ``store`` and ``batch_jobs``.
"""

from capture.jobs.model import (
    ERROR_CATEGORIES,
    JOB_NAMESPACE,
    STATUSES,
    TERMINAL,
    WORKER,
    Job,
    JobStatus,
    Pending,
    job_id_for,
)
from capture.jobs.store import JobStore
from capture.jobs.table import ADDED_COLUMNS, COLUMNS, INDEXES, JSON_COLUMNS, SCHEMA

__all__ = [
    "ADDED_COLUMNS",
    "COLUMNS",
    "ERROR_CATEGORIES",
    "INDEXES",
    "JOB_NAMESPACE",
    "JSON_COLUMNS",
    "SCHEMA",
    "STATUSES",
    "TERMINAL",
    "WORKER",
    "Job",
    "JobStatus",
    "JobStore",
    "Pending",
    "job_id_for",
]
