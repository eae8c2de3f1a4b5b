"""Where a strike's files go: confined workspace paths cached per batch, and what planning needs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ingest.drops.base import Drop
    from ingest.ledger import Ledger
    from ingest.rules import Rule
    from seedpipe.settings import StrikeSettings
    from seedpipe.workspaces.base import Workspace


class Targets:
    """Workspace paths of a batch's files: confinement is checked once per path per batch."""

    def __init__(self) -> None:
        self.paths: dict[tuple[str, str], Path | None] = {}
        self.made_dirs: set[Path] = set()

    def path(self, ws: Workspace, path: str) -> Path | None:
        """The workspace's local path for ``path`` (None for an object store)."""
        key = (ws.name, path)
        if key not in self.paths:
            self.paths[key] = ws.local_path(path)
        return self.paths[key]

    def exists(self, ws: Workspace, path: str) -> bool:
        local = self.path(ws, path)
        return os.path.lexists(local) if local is not None else ws.exists(path)

    def local(self, workspace: str, path: str) -> Path | None:
        """The local path already worked out for ``path`` this batch, if any."""
        return self.paths.get((workspace, path))

    def made_dir(self, directory: Path) -> None:
        """Create ``directory`` unless this batch already did."""
        if directory not in self.made_dirs:
            directory.mkdir(parents=True, exist_ok=True)
            if len(self.made_dirs) > 10_000:
                self.made_dirs.clear()
            self.made_dirs.add(directory)

    def clear(self) -> None:
        self.paths.clear()


class StrikeParts(Protocol):
    """What planning and executing a batch need of its strike (a ``Strike`` is one)."""

    name: str
    settings: StrikeSettings
    drop: Drop
    workspaces: dict[str, Workspace]
    ledger: Ledger
    rules: list[Rule]
    targets: Targets
    kept: dict[str, tuple[int, int]]
    source_uri: str
    topic: str

    def left(self, rel: str) -> None:
        """``rel`` has left the drop (placed, set aside or deleted)."""
