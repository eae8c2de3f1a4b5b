"""Helpers shared by CLI modules: the --config option and settings loading."""

from __future__ import annotations

import argparse

from seedpipe.settings import Settings


def add_config(parser: argparse.ArgumentParser, *, required: bool = False) -> None:
    parser.add_argument(
        "--config",
        "-c",
        required=required,
        metavar="FILE",
        help="seedpipe TOML config (SEEDPIPE_* environment variables override it)",
    )


def load_settings(args: argparse.Namespace) -> Settings:
    """The settings, checked, with their local directories made (a bad one fails here, exit 2,
    naming the setting, rather than as a traceback in whichever service touches it first)."""
    settings = Settings.load(getattr(args, "config", None))
    settings.make_dirs()
    return settings
