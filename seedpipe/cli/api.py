"""``seedpipe api``: serve /files, the STAC API and the routers of other services (uvicorn)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from seedpipe.cli.common import add_config, load_settings

if TYPE_CHECKING:
    from fastapi import APIRouter

    from seedpipe.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config(parser, required=True)
    parser.add_argument("--host", help="address to bind (default: api.host)")
    parser.add_argument("--port", type=int, help="port to bind (default: api.port)")


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from indexer.api import create_app
    from indexer.api.http import MAX_REQUEST_HEAD

    settings = load_settings(args)
    app = create_app(settings, extra_routers=extra_routers(settings))
    uvicorn.run(
        app,
        host=args.host or settings.api.host,
        port=settings.api.port if args.port is None else args.port,
        log_config=None,  # keep the handlers the CLI configured
        h11_max_incomplete_event_size=MAX_REQUEST_HEAD,
    )
    return 0


def extra_routers(settings: Settings) -> list[APIRouter]:
    """Routers other services contribute: the ``/jobs`` API of capture, when it is installed."""
    import importlib.util

    routers = []
    if importlib.util.find_spec("capture") and importlib.util.find_spec("capture.api"):
        from capture.api import jobs_router

        routers.append(jobs_router(settings))
    return routers
