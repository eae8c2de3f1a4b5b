"""Drops, where a strike's files arrive, by URL scheme: ``file:///dir`` or ``s3://bucket/prefix``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from seedpipe.errors import ConfigError, UnknownBackend
from seedpipe.registry import BackendRegistry

if TYPE_CHECKING:
    from ingest.drops.base import Drop
    from seedpipe.settings import StrikeSettings

DROPS = BackendRegistry(
    "drop", {"file": "ingest.drops.local:LocalDrop", "s3": "ingest.drops.s3:S3Drop"}
)


def open_drop(strike: StrikeSettings) -> Drop:
    """The drop of a strike."""
    try:
        cls = DROPS.resolve(strike.drop)
    except UnknownBackend as exc:
        raise ConfigError(
            f"strikes[{strike.name}].drop: use file:///dir or s3://bucket/prefix"
        ) from exc
    drop: Drop = cls.for_strike(strike)
    return drop
