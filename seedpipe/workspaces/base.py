"""The workspace interface: one API over local disk and S3, confined to its root."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from seedpipe.settings import WorkspaceSettings


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """What a workspace knows of one file; ``path`` is relative to the workspace root (POSIX)."""

    path: str
    size: int
    modified: datetime
    etag: str | None = None


class Workspace(ABC):
    """A named file store. Paths are relative POSIX strings checked by ``safe_relpath``.

    Methods are synchronous (boto3 is); async callers use ``asyncio.to_thread``.
    """

    def __init__(self, name: str, settings: WorkspaceSettings) -> None:
        self.name = name
        self.settings = settings
        self.url = settings.url

    @abstractmethod
    def put_file(self, local: Path, path: str) -> ObjectInfo:
        """Store a local file at ``path`` atomically (readers never see a partial file)."""

    @abstractmethod
    def put_bytes(self, data: bytes, path: str) -> ObjectInfo:
        """Store bytes at ``path`` atomically."""

    @abstractmethod
    def open(self, path: str) -> BinaryIO:
        """Open ``path`` for reading (binary)."""

    @abstractmethod
    def stage(self, path: str, dest: Path) -> Path:
        """Make ``path`` available as the local file ``dest`` (copy or download); returns dest."""

    def local_path(self, path: str) -> Path | None:
        """The file's local path when the workspace is on local disk, else None."""
        return None

    @abstractmethod
    def move(self, src: str, dst: str) -> ObjectInfo:
        """Move within the workspace (rename locally, server-side copy + delete on S3)."""

    @abstractmethod
    def delete(self, path: str) -> None:
        """Delete ``path``; deleting a missing file is not an error."""

    @abstractmethod
    def stat(self, path: str) -> ObjectInfo:
        """Info for ``path``; raises WorkspaceFileNotFound."""

    def exists(self, path: str) -> bool:
        from seedpipe.errors import WorkspaceFileNotFound

        try:
            self.stat(path)
        except WorkspaceFileNotFound:
            return False
        return True

    @abstractmethod
    def list(self, prefix: str = "", *, recursive: bool = True) -> Iterator[ObjectInfo]:
        """Files under ``prefix``, lazily (pages or directory walks as needed)."""

    @abstractmethod
    def url_for(self, path: str) -> str | None:
        """A URL a client can fetch: base_url + path, or a presigned/file URL."""
