"""The jobs table: its schema, the columns a store written by an older seedpipe gains on
open, and a row read back as a Job."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from capture.jobs.model import Job
from seedpipe.sqlite import LockedStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    job_type TEXT NOT NULL,
    job_type_version TEXT NOT NULL,
    trigger TEXT NOT NULL,
    file_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    input_name TEXT NOT NULL,
    record TEXT NOT NULL,
    status TEXT NOT NULL,
    attempt INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    cpus REAL NOT NULL DEFAULT 1,
    mem_mib REAL NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    not_before REAL NOT NULL DEFAULT 0,
    started REAL,
    ended REAL,
    duration_s REAL,
    exit_code INTEGER,
    error TEXT,
    log_path TEXT,
    products TEXT NOT NULL DEFAULT '[]',
    recipe TEXT,
    recipe_node TEXT,
    recipe_type TEXT,
    inputs TEXT,
    results TEXT,
    priority INTEGER NOT NULL DEFAULT 0,
    job_type_revision INTEGER,
    canceled_by TEXT,
    batch TEXT,
    supersede INTEGER NOT NULL DEFAULT 1,
    UNIQUE (trigger, file_id)
);
CREATE TABLE IF NOT EXISTS job_processes (
    job_id TEXT PRIMARY KEY,
    pgid INTEGER NOT NULL,
    start INTEGER,
    container TEXT
);
CREATE TABLE IF NOT EXISTS job_executions (
    job_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    status TEXT NOT NULL,
    started REAL NOT NULL,
    ended REAL,
    exit_code INTEGER,
    error TEXT,
    worker TEXT NOT NULL,
    log_path TEXT,
    PRIMARY KEY (job_id, attempt, started)
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status, not_before);
CREATE INDEX IF NOT EXISTS jobs_type ON jobs (job_type, status);
"""
# Made after the columns a store written by an older seedpipe gains on open.
INDEXES = """
CREATE INDEX IF NOT EXISTS jobs_queue ON jobs (status, priority DESC, created, id);
CREATE INDEX IF NOT EXISTS jobs_batch ON jobs (batch, status) WHERE batch IS NOT NULL;
"""

COLUMNS = [
    "id",
    "job_type",
    "job_type_version",
    "trigger",
    "file_id",
    "event_id",
    "input_name",
    "record",
    "status",
    "attempt",
    "max_attempts",
    "cpus",
    "mem_mib",
    "created",
    "not_before",
    "started",
    "ended",
    "duration_s",
    "exit_code",
    "error",
    "log_path",
    "products",
    "recipe",
    "recipe_node",
    "recipe_type",
    "inputs",
    "results",
    "priority",
    "job_type_revision",
    "canceled_by",
    "batch",
    "supersede",
]
# Columns added after the first release: a store written before them gains them on open.
ADDED_COLUMNS = {
    "recipe": "TEXT",
    "recipe_node": "TEXT",
    "recipe_type": "TEXT",
    "inputs": "TEXT",
    "results": "TEXT",
    "priority": "INTEGER NOT NULL DEFAULT 0",
    "job_type_revision": "INTEGER",
    "canceled_by": "TEXT",
    "batch": "TEXT",
    "supersede": "INTEGER NOT NULL DEFAULT 1",
}
JSON_COLUMNS = ("inputs", "results")


def row_to_job(row: sqlite3.Row) -> Job:
    data = dict(row)
    data["record"] = json.loads(data["record"])
    data["error"] = json.loads(data["error"]) if data["error"] else None
    data["products"] = json.loads(data["products"])
    for key in JSON_COLUMNS:
        data[key] = json.loads(data[key]) if data[key] else None
    data["supersede"] = bool(data["supersede"])
    return Job(**data)


class JobTable(LockedStore):
    """The opened job store: one SQLite connection (WAL) behind a lock."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, SCHEMA, table="jobs", added=ADDED_COLUMNS, indexes=INDEXES)
