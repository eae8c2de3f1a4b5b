"""Workspace backends, chosen by URL scheme: ``file:///root`` or ``s3://bucket/prefix``."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

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


def open_url(url: str, name: str = "adhoc", **options: Any) -> Workspace:
    """A workspace for a URL that is not in the settings (a drop folder, a test root).

    ``options`` are WorkspaceSettings fields (endpoint_url, region, base_url, ...); a relative
    ``file:`` URL or bare path is taken against the current directory.
    """
    from pathlib import Path

    from seedpipe.settings import WorkspaceSettings, resolve_url

    return open_workspace(name, WorkspaceSettings(url=resolve_url(url, Path.cwd()), **options))


def open_workspaces(settings: Settings) -> dict[str, Workspace]:
    return {name: open_workspace(name, ws) for name, ws in settings.workspaces.items()}


def get_workspace(settings: Settings, name: str) -> Workspace:
    try:
        return open_workspace(name, settings.workspaces[name])
    except KeyError:
        raise ConfigError(f"unknown workspace {name!r} (known: {_known(settings)})") from None


def _known(settings: Settings) -> str:
    return ", ".join(sorted(settings.workspaces)) or "none configured"


class Workspaces(Mapping[str, "Workspace"]):
    """The configured workspaces by name, each opened on first use and then kept.

    Services hold one of these instead of calling ``get_workspace`` per file: an S3 workspace
    owns a boto3 client and its connection pool, which are costly to build. Thread-safe.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._open: dict[str, Workspace] = {}
        self._lock = threading.Lock()

    def __getitem__(self, name: str) -> Workspace:
        ws = self._open.get(name)
        if ws is not None:
            return ws
        with self._lock:
            if name not in self._open:
                if name not in self.settings.workspaces:
                    known = _known(self.settings)
                    raise ConfigError(f"unknown workspace {name!r} (known: {known})")
                self._open[name] = open_workspace(name, self.settings.workspaces[name])
            return self._open[name]

    def __contains__(self, name: object) -> bool:
        return name in self.settings.workspaces

    def get(self, name: str, default: Any = None) -> Any:
        return self[name] if name in self.settings.workspaces else default

    def __iter__(self) -> Iterator[str]:
        return iter(self.settings.workspaces)

    def __len__(self) -> int:
        return len(self.settings.workspaces)
