"""``seedpipe jobs list|show|retry|cancel|requeue``: jobs in the capture service's store."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime

from seedpipe.cli.common import add_config, load_settings
from seedpipe.errors import JobError

STATUSES = ("queued", "running", "completed", "failed", "canceled")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    ls = sub.add_parser("list", help="list jobs, oldest first")
    add_config(ls, required=True)
    ls.add_argument("--status", choices=STATUSES)
    ls.add_argument("--job-type", metavar="NAME")
    ls.add_argument("--limit", type=int, default=100)
    ls.add_argument("--format", choices=["table", "json"], default="table")
    show = sub.add_parser("show", help="show one job with its log")
    add_config(show, required=True)
    show.add_argument("id")
    retry = sub.add_parser("retry", help="requeue a failed job (a running service picks it up)")
    add_config(retry, required=True)
    retry.add_argument("id")
    cancel = sub.add_parser(
        "cancel", help="cancel a queued or running job (a running one's processes are killed)"
    )
    add_config(cancel, required=True)
    cancel.add_argument("id")
    requeue = sub.add_parser("requeue", help="requeue failed jobs in bulk")
    add_config(requeue, required=True)
    requeue.add_argument("--status", choices=["failed"], required=True)
    requeue.add_argument("--job-type", metavar="NAME")
    requeue.add_argument("--error-category", choices=["system", "data", "job"])
    requeue.add_argument("--since", metavar="WHEN", help="ISO 8601 time or an age: 30m, 12h, 7d")
    requeue.add_argument("--dry-run", action="store_true", help="list them, requeue nothing")


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S") if ts else ""


def run(args: argparse.Namespace) -> int:
    from capture.http.jobs import read_log_tail
    from capture.jobs import JobStore

    settings = load_settings(args)
    store = JobStore(settings.path("jobs.db"))
    try:
        if args.action == "show":
            job = store.require(args.id)
            print(json.dumps({**job.to_dict(), "input": job.record}, indent=2, default=str))
            exes = store.executions(job.id)
            print(f"--- executions ({len(exes)}) ---")
            for i, exe in enumerate(exes, 1):
                err = (exe["error"] or {}).get("name") or ""
                took = f"{exe['duration_s']:.2f}s" if exe["duration_s"] is not None else ""
                print(
                    f"{i}. attempt {exe['attempt']} {exe['status']} {_when(exe['started'])} "
                    f"{took} exit {exe['exit_code']} {err} on {exe['worker']} "
                    f"log {exe['log_path'] or '(none)'}"
                )
            from capture.purge import purges_of

            for p in purges_of(settings.path("jobs.db"), job.id):
                print(f"purged {p['role']} {p['file']} at {_when(p['purged'])} by {p['by']}")
            log_text = read_log_tail(job.log_path)
            print(f"--- log {job.log_path or '(none)'} ---")
            print(log_text if log_text is not None else "(no log)")
            return 0
        if args.action == "retry":
            job = store.require(args.id)
            if job.status != "failed":
                raise JobError(f"job {job.id} is {job.status}; only failed jobs can be retried")
            if job.recipe is not None:
                raise JobError(
                    f"job {job.id} is node {job.recipe_node!r} of recipe {job.recipe}: "
                    f"retry the recipe (seedpipe recipes retry {job.recipe})"
                )
            store.requeue(job.id, reset_attempts=True)
            print(f"job {job.id} requeued")
            return 0
        if args.action == "cancel":
            import getpass

            from capture.control import cancel_job

            job = cancel_job(store, args.id, f"cli:{getpass.getuser()}")
            print(f"job {job.id} canceled (it was {'running' if job.started else 'queued'})")
            return 0
        if args.action == "requeue":
            from capture.control import parse_since, requeue_failed

            since = parse_since(args.since) if args.since else None
            ids = requeue_failed(
                store,
                job_type=args.job_type,
                error_category=args.error_category,
                since=since,
                dry_run=args.dry_run,
            )
            verb = "would requeue" if args.dry_run else "requeued"
            for job_id in ids:
                print(job_id)
            print(f"{verb} {len(ids)} failed jobs")
            return 0
        jobs = store.search(status=args.status, job_type=args.job_type, limit=args.limit)
        if args.format == "json":
            print(json.dumps([j.to_dict() for j in jobs], indent=2, default=str))
            return 0
        from rich.console import Console
        from rich.table import Table

        table = Table("id", "job type", "status", "attempt", "created", "duration s", "error")
        for j in jobs:
            table.add_row(
                j.id,
                j.job_type,
                j.status,
                str(j.attempt),
                _when(j.created),
                f"{j.duration_s:.2f}" if j.duration_s is not None else "",
                (j.error or {}).get("name") or "",
            )
        Console().print(table)
        return 0
    finally:
        store.close()
