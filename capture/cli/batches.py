"""``seedpipe batches create|list|show ID|cancel ID``: rerun a job type or a recipe type over
chosen files."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
from typing import Any

from seedpipe.cli.common import add_config, load_settings
from seedpipe.cli.filters import add_filter_arguments, filter_fields


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    create = sub.add_parser(
        "create",
        help="record a batch and queue its jobs or recipes (a running capture service runs them)",
        description="Choose files by search filters, a saved search or an earlier batch.",
        conflict_handler="resolve",  # --job-type names the batch's job type, not a filter
    )
    add_config(create, required=True)
    add_filter_arguments(create)
    what = create.add_mutually_exclusive_group(required=True)
    what.add_argument("--job-type", dest="batch_job_type", metavar="NAME")
    what.add_argument("--recipe-type", metavar="NAME", help="a recipe per file, of this type")
    create.add_argument(
        "--revision",
        type=int,
        metavar="N",
        help="the job type's revision (default: the current one); recipe types have none",
    )
    create.add_argument("--saved-search", metavar="ID")
    create.add_argument("--previous-batch", metavar="ID", help="the files of an earlier batch")
    create.add_argument("--supersede", action="store_true", help="mark earlier products superseded")
    create.add_argument("--dry-run", action="store_true", help="count and sample, queue nothing")
    create.add_argument("--priority", type=int, default=0)
    ls = sub.add_parser("list", help="list batches, newest first")
    add_config(ls, required=True)
    ls.add_argument("--limit", type=int, default=100)
    show = sub.add_parser("show", help="a batch with its progress")
    add_config(show, required=True)
    show.add_argument("id")
    cancel = sub.add_parser("cancel", help="stop a batch: its queued jobs never start")
    add_config(cancel, required=True)
    cancel.add_argument("id")
    cancel.add_argument("--kill-running", action="store_true", help="also kill its running jobs")


def _body(args: argparse.Namespace) -> dict[str, Any]:
    # --job-type is the batch's; the search filter of that name is not offered here.
    fields = filter_fields(args)
    kind = (
        {"recipe_type": args.recipe_type}
        if args.recipe_type is not None
        else {"job_type": args.batch_job_type}
    )
    body: dict[str, Any] = {
        **kind,
        "supersede": args.supersede,
        "dry_run": args.dry_run,
        "priority": args.priority,
    }
    if args.revision is not None:
        body["revision"] = args.revision
    if args.previous_batch:
        body["previous_batch"] = args.previous_batch
    if args.saved_search:
        body["saved_search"] = args.saved_search
    if fields or not (args.previous_batch or args.saved_search):
        body["query"] = fields
    return body


async def _create(settings: Any, body: dict[str, Any]) -> dict[str, Any]:
    from capture.batches.model import parse_request
    from capture.batches.store import BatchStore
    from capture.jobs import JobStore
    from capture.recipes.store import RecipeStore

    request = parse_request(body)
    jobs = JobStore(settings.path("jobs.db"))
    batches = BatchStore(settings.path("batches.db"))
    recipes = RecipeStore(settings.path("recipes.db"))
    try:
        if request.recipe_type is not None:
            return await _create_recipes(settings, request, jobs, batches)
        return await _create_jobs(settings, request, jobs, batches, recipes)
    finally:
        jobs.close()
        batches.close()
        recipes.close()


async def _create_jobs(
    settings: Any, request: Any, jobs: Any, batches: Any, recipes: Any
) -> dict[str, Any]:
    from capture.batches import creation, planner, tracking
    from capture.jobtypes import load_job_types
    from capture.revisions import register_all
    from indexer.backends import open_index

    job_types = load_job_types(settings)
    revisions = register_all(jobs.path, job_types)
    async with open_index(settings.index) as index:
        saved = (
            await creation.saved_query(index, request.saved_search)
            if request.saved_search
            else None
        )
        out = await creation.create(
            request,
            batches=batches,
            jobs=jobs,
            index=index,
            job_types=job_types,
            revisions=revisions,
            saved_query=saved,
            recipes=recipes,
        )
        if request.dry_run:
            return out
        await planner.plan(out["id"], batches, jobs, index, job_types)
        return tracking.progress(batches.require(out["id"]), jobs, recipes)


async def _create_recipes(settings: Any, request: Any, jobs: Any, batches: Any) -> dict[str, Any]:
    """A recipe type's batch, planned through a recipe engine of its own: its first jobs are
    queued in the shared job store, for the capture service to run and carry on."""
    from capture.batches import creation, planner, tracking
    from capture.recipes.offline import open_engine
    from capture.revisions import register_all

    async with open_engine(settings) as (engine, index):
        engine.ctx.revisions = register_all(jobs.path, engine.ctx.job_types)
        saved = (
            await creation.saved_query(index, request.saved_search)
            if request.saved_search
            else None
        )
        out = await creation.create(
            request,
            batches=batches,
            jobs=jobs,
            index=index,
            job_types=engine.ctx.job_types,
            revisions=engine.ctx.revisions,
            saved_query=saved,
            recipe_types=engine.recipe_types,
            recipes=engine.store,
        )
        if request.dry_run:
            return out
        await planner.plan(
            out["id"], batches, engine.ctx.store, index, engine.ctx.job_types, engine=engine
        )
        return tracking.progress(batches.require(out["id"]), engine.ctx.store, engine.store)


def run(args: argparse.Namespace) -> int:
    from capture.batches import tracking
    from capture.batches.store import BatchStore
    from capture.jobs import JobStore
    from capture.recipes.store import RecipeStore

    settings = load_settings(args)
    if args.action == "create":
        print(json.dumps(asyncio.run(_create(settings, _body(args))), indent=2))
        return 0
    jobs = JobStore(settings.path("jobs.db"))
    batches = BatchStore(settings.path("batches.db"))
    recipes = RecipeStore(settings.path("recipes.db"))
    try:
        if args.action == "show":
            print(json.dumps(tracking.progress(batches.require(args.id), jobs, recipes), indent=2))
        elif args.action == "cancel":
            by = f"cli:{getpass.getuser()}"
            out = tracking.cancel(
                args.id, batches, jobs, by, running=args.kill_running, recipes=recipes
            )
            print(json.dumps(out, indent=2))
        else:
            found = [tracking.progress(b, jobs, recipes) for b in batches.recent(limit=args.limit)]
            print(json.dumps(found, indent=2))
        return 0
    finally:
        jobs.close()
        batches.close()
        recipes.close()
