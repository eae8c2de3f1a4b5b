"""The workspace interface: one API over local disk and S3, confined to its root."""

from __future__ import annotations

import io
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

from seedpipe.checksum import Readable
from seedpipe.errors import WorkspaceFileNotFound
from seedpipe.paths import safe_relpath
from seedpipe.settings import WorkspaceSettings


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """What a workspace knows of one file; ``path`` is relative to the workspace root (POSIX).

    ``checksum`` (``sha256:<hex>``) is set by the put methods, which hash while they copy.
    """

    path: str
    size: int
    modified: datetime
    etag: str | None = None
    checksum: str | None = None


def join_url(base_url: str, path: str) -> str:
    """``base_url`` + the percent-quoted relative path (slashes kept)."""
    return base_url.rstrip("/") + "/" + quote(path, safe="/")


class Workspace(ABC):
    """A named file store. Paths are relative POSIX strings checked by ``safe_relpath``.

    Methods are synchronous (boto3 is); async callers use ``asyncio.to_thread``. Listing order
    is unspecified.
    """

    def __init__(self, name: str, settings: WorkspaceSettings) -> None:
        self.name = name
        self.settings = settings
        self.url = settings.url

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self.url}>"

    @staticmethod
    def check_path(path: str, field: str = "path") -> str:
        """The normalised relative path, or InvalidInput/PathEscapeError naming ``field``."""
        return safe_relpath(path, field=field)

    @abstractmethod
    def put_stream(self, src: Readable, path: str) -> ObjectInfo:
        """Store everything ``src`` yields at ``path`` atomically, hashing on the way."""

    def put_file(self, local: Path, path: str, *, move: bool = False) -> ObjectInfo:
        """Store a local file at ``path`` atomically (readers never see a partial file).

        With ``move`` the local file is consumed: renamed in when it can be, else copied and
        then removed once the copy is safe.
        """
        self.check_path(path)
        with open(local, "rb") as fh:
            info = self.put_stream(fh, path)
        if move:
            Path(local).unlink(missing_ok=True)
        return info

    def put_bytes(self, data: bytes, path: str) -> ObjectInfo:
        """Store bytes at ``path`` atomically."""
        return self.put_stream(io.BytesIO(data), path)

    @abstractmethod
    def open(self, path: str) -> BinaryIO:
        """Open ``path`` for reading (binary); raises WorkspaceFileNotFound."""

    def read_bytes(self, path: str) -> bytes:
        with self.open(path) as fh:
            return fh.read()

    @abstractmethod
    def stage(self, path: str, dest: Path, *, link: bool = True) -> Path:
        """Make ``path`` available as the local file ``dest`` (link, copy or download).

        ``link`` allows a hard link on the same disk: fast, but the job then shares the inode,
        so pass ``link=False`` for jobs that might write to their inputs.
        """

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
        try:
            self.stat(path)
        except WorkspaceFileNotFound:
            return False
        return True

    @abstractmethod
    def list(self, prefix: str = "", *, recursive: bool = True) -> Iterator[ObjectInfo]:
        """Files under the directory ``prefix`` ("" = all), lazily (pages or directory walks)."""

    def sweep_temporaries(self, max_age_s: float = 3600.0) -> int:
        """Remove what puts interrupted by a crash left behind; returns how many were removed."""
        return 0

    @abstractmethod
    def uri(self, path: str) -> str:
        """Where the file lives, as a URL that carries no credentials (file:// or s3://)."""

    def record_url(self, path: str) -> str:
        """The stable URL for a FileRecord's ``url``: base_url + path, else ``uri(path)``.

        Never a presigned URL: those expire and carry the access key id.
        """
        rel = self.check_path(path)
        if self.settings.base_url:
            return join_url(self.settings.base_url, rel)
        return self.uri(rel)

    @abstractmethod
    def url_for(self, path: str) -> str | None:
        """A URL a client can fetch now: base_url + path, or a presigned/file URL."""
