"""Workspace backends, chosen by URL scheme: ``file:///root`` or ``s3://bucket/prefix``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from seedpipe.errors import ConfigError
from seedpipe.registry import BackendRegistry

if TYPE_CHECKING:
    from seedpipe.settings import Settings, WorkspaceSettings
    from seedpipe.workspaces.base import Workspace

BACKENDS = BackendRegistry(
    "workspace",
    {"file": "seedpipe.workspaces.file:FileWorkspace", "s3": "seedpipe.workspaces.s3:S3Workspace"},
    {"s3": "pip install boto3"},
)


def open_workspace(name: str, settings: WorkspaceSettings) -> Workspace:
    cls = BACKENDS.resolve(settings.url)
    ws: Workspace = cls(name, settings)
    return ws


def open_workspaces(settings: Settings) -> dict[str, Workspace]:
    return {name: open_workspace(name, ws) for name, ws in settings.workspaces.items()}


def get_workspace(settings: Settings, name: str) -> Workspace:
    try:
        return open_workspace(name, settings.workspaces[name])
    except KeyError:
        known = ", ".join(sorted(settings.workspaces)) or "none configured"
        raise ConfigError(f"unknown workspace {name!r} (known: {known})") from None
