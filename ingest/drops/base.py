"""The drop interface: a place files arrive in (a local directory or an S3 prefix)."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from seedpipe.checksum import ChainReader, copy_and_hash, read_up_to
from seedpipe.media import SNIFF_BYTES
from seedpipe.settings import StrikeSettings

Notify = Callable[[str], None]

# Where files that are not ingested are set aside inside the drop (dot-dirs are never watched).
DEFERRED_AREA = ".deferred"
ERRORED_AREA = ".errored"
DUPLICATE_AREA = ".duplicate"


@dataclass(frozen=True, slots=True)
class DropStat:
    size: int
    mtime_ns: int
    kind: str = "file"  # file, symlink, fifo, socket, device, directory


@dataclass(frozen=True, slots=True)
class Content:
    size: int
    checksum: str
    head: bytes


def hash_stream(src: IO[bytes], dst: IO[bytes] | None = None) -> Content:
    """Copy ``src`` to ``dst`` (or nowhere) while hashing; keep the first bytes for sniffing."""
    head = read_up_to(src, SNIFF_BYTES)
    size, checksum = copy_and_hash(ChainReader(head, src), dst)
    return Content(size, checksum, head)


class Drop(ABC):
    """Where one strike's files arrive. Paths are relative POSIX strings (object keys or paths)."""

    #: whether files need the settle clock (S3 objects are complete once they exist)
    settles = True
    #: whether ``claim`` asks a shared store (then strikes claim a batch concurrently)
    leases = False

    def __init__(self, url: str) -> None:
        self.url = url

    @classmethod
    @abstractmethod
    def for_strike(cls, strike: StrikeSettings) -> Drop:
        """The drop a strike's settings describe."""

    @abstractmethod
    async def watch(self, notify: Notify, rescan: Callable[[], None], stop: asyncio.Event) -> None:
        """Call ``notify(relpath)`` for files that may have changed, ``rescan()`` when events
        may have been lost, until ``stop`` is set. Called on the event loop; must not block it."""

    @abstractmethod
    def scan(self, prefix: str = "") -> Iterator[str]:
        """Every candidate file now in the drop (blocking; run it in a thread)."""

    @abstractmethod
    def stat(self, relpath: str) -> DropStat | None:
        """Size and mtime without following symlinks; None when the file is gone."""

    def local_path(self, relpath: str) -> Path | None:
        """The file on local disk, when it is, so it can be renamed instead of copied."""
        return None

    @abstractmethod
    def read(self, relpath: str, dst: IO[bytes] | None = None) -> Content:
        """Hash the file (copying it into ``dst`` when given); FileNotFoundError when gone."""

    @abstractmethod
    def delete(self, relpath: str) -> None:
        """Remove the file; a missing file is not an error."""

    @abstractmethod
    def set_aside(self, relpath: str, area: str, name: str | None = None) -> str:
        """Move the file to ``<area>/<name or relpath>`` inside the drop; returns the new
        relpath (a free one: an earlier file set aside there is never overwritten)."""

    def prune_dir(self, reldir: str, min_age_s: float) -> bool:
        """Remove the directory ``reldir`` if it is empty and unchanged for ``min_age_s``
        (as a file must settle, so must a directory a producer may still be filling)."""
        return False

    def claim(self, relpath: str) -> bool:
        """Take this file for this strike copy, before planning it; False: another copy has it.

        A local folder is watched by one copy; shared drops (S3) lease each object.
        """
        return True

    def release(self, relpath: str) -> None:
        """Give up the claim once the file is dealt with (gone from the drop, or refused)."""

    def close(self) -> None:
        """Release clients."""
