"""``seedpipe api``: serve /files, the STAC API and the routers of other services (uvicorn)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from seedpipe.cli.common import add_config, load_settings

if TYPE_CHECKING:
    from types import FrameType


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config(parser, required=True)
    parser.add_argument("--host", help="address to bind (default: api.host)")
    parser.add_argument("--port", type=int, help="port to bind (default: api.port)")


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from composition.http import create_app
    from indexer.api.http import MAX_REQUEST_HEAD

    settings = load_settings(args)
    app = create_app(settings)

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            app.state.live.end_streams()  # the page's live streams would keep it open
            super().handle_exit(sig, frame)

    config = uvicorn.Config(
        app,
        host=args.host or settings.api.host,
        port=settings.api.port if args.port is None else args.port,
        log_config=None,  # keep the handlers the CLI configured
        timeout_graceful_shutdown=3,
        h11_max_incomplete_event_size=MAX_REQUEST_HEAD,
    )
    Server(config).run()
    return 0
