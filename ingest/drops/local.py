"""A local drop directory watched with watchdog (inotify, or polling for NFS/SMB mounts)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from ingest.completeness import is_hidden
from ingest.drops.base import Content, Drop, DropStat, Notify, hash_stream
from seedpipe.paths import safe_relpath
from seedpipe.settings import StrikeSettings, file_path

log = logging.getLogger(__name__)

_KINDS = {
    stat.S_IFREG: "file",
    stat.S_IFLNK: "symlink",
    stat.S_IFIFO: "fifo",
    stat.S_IFSOCK: "socket",
    stat.S_IFCHR: "device",
    stat.S_IFBLK: "device",
    stat.S_IFDIR: "directory",
}


class _OverflowSpy(logging.Filter):
    """watchdog only logs a kernel queue overflow; this turns that log line into a rescan."""

    def __init__(self, on_overflow: Callable[[], None]) -> None:
        super().__init__()
        self.on_overflow = on_overflow

    def filter(self, record: logging.LogRecord) -> bool:
        msg = str(record.msg)
        if "queue overflowed" in msg.lower():
            self.on_overflow()
        # watchdog 7 logs this ERROR when stopped mid-read; it is harmless, not an error of ours.
        return "called when the thread is inactive" not in msg


class LocalDrop(Drop):
    """A directory on local disk; ``polling`` swaps inotify for periodic directory snapshots."""

    def __init__(
        self, url: str, root: Path, *, polling: bool = False, poll_interval_s: float = 1.0
    ) -> None:
        super().__init__(url)
        self.root = root
        self._root = str(root)
        self.polling = polling
        self.poll_interval_s = poll_interval_s
        root.mkdir(parents=True, exist_ok=True)

    @classmethod
    def for_strike(cls, strike: StrikeSettings) -> LocalDrop:
        return cls(
            strike.drop,
            file_path(strike.drop),
            polling=strike.polling,
            poll_interval_s=strike.poll_interval_s,
        )

    def _path(self, relpath: str) -> str:
        # The relpath came from the file system under root; still refuse '..' and absolutes
        # (the full check only when a cheap look finds something odd: this runs per event).
        if relpath.startswith("/") or "\x00" in relpath or ".." in relpath.split("/"):
            safe_relpath(relpath, field="source")
        return os.path.join(self._root, relpath)

    def _relpath(self, path: str | bytes) -> str | None:
        p = os.fsdecode(path)
        rel = os.path.relpath(p, self.root)
        if rel == "." or rel.startswith(".."):
            return None
        return rel.replace(os.sep, "/")

    async def watch(self, notify: Notify, rescan: Callable[[], None], stop: asyncio.Event) -> None:
        from watchdog.events import (
            DirCreatedEvent,
            DirMovedEvent,
            FileClosedEvent,
            FileCreatedEvent,
            FileMovedEvent,
            FileSystemEvent,
            FileSystemEventHandler,
        )
        from watchdog.observers import Observer
        from watchdog.observers.polling import PollingObserver

        loop = asyncio.get_running_loop()
        drop = self

        def call(fn: Callable[..., Any], *args: Any) -> None:
            # watchdog calls back on its own thread; the strike lives on the loop.
            if not loop.is_closed():
                loop.call_soon_threadsafe(fn, *args)

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                if event.event_type in ("deleted", "opened", "closed_no_write"):
                    return
                path = event.dest_path if event.event_type == "moved" else event.src_path
                rel = drop._relpath(path)
                if rel is None or is_hidden(rel):
                    return
                if event.is_directory:
                    # A tree moved in arrives as one directory event: its files get none.
                    if event.event_type in ("created", "moved"):
                        call(rescan)
                    return
                call(notify, rel)

        observer: Any = (
            PollingObserver(timeout=self.poll_interval_s) if self.polling else Observer(timeout=0.2)
        )
        spy = _OverflowSpy(lambda: call(rescan))
        names = ("watchdog.observers.inotify_c", "watchdog.observers.inotify")
        spied = [logging.getLogger(n) for n in names]
        for lg in spied:
            lg.addFilter(spy)
        # Only what can make a file appear or complete: the kernel then sends no IN_MODIFY per
        # write and no deletes (our own moves out); growth is caught by the settle re-stat.
        wanted = [FileCreatedEvent, FileMovedEvent, FileClosedEvent, DirCreatedEvent, DirMovedEvent]
        observer.schedule(Handler(), str(self.root), recursive=True, event_filter=wanted)
        observer.start()
        try:
            await stop.wait()
        finally:
            observer.stop()
            await asyncio.to_thread(observer.join, 5)
            for lg in spied:
                lg.removeFilter(spy)

    def scan(self, prefix: str = "") -> Iterator[str]:
        stack = [self.root / prefix if prefix else self.root]
        while stack:
            try:
                entries = list(os.scandir(stack.pop()))
            except OSError as exc:
                log.warning("cannot list %s: %s", self.url, exc.strerror)
                continue
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                else:
                    rel = self._relpath(entry.path)
                    if rel is not None:
                        yield rel

    def stat(self, relpath: str) -> DropStat | None:
        try:
            st = os.lstat(self._path(relpath))
        except (FileNotFoundError, NotADirectoryError):
            return None
        return DropStat(st.st_size, st.st_mtime_ns, _KINDS.get(stat.S_IFMT(st.st_mode), "other"))

    def local_path(self, relpath: str) -> Path:
        return Path(self._path(relpath))

    def read(self, relpath: str, dst: IO[bytes] | None = None) -> Content:
        # O_NOFOLLOW: a file swapped for a symlink after its lstat is refused, not followed;
        # O_NONBLOCK: a FIFO swapped in cannot hang the reader.
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        fd = os.open(self._path(relpath), flags)
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise IsADirectoryError(f"{relpath!r} is not a regular file")
            return hash_stream(fh, dst)

    def delete(self, relpath: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path(relpath))

    def set_aside(self, relpath: str, area: str, name: str | None = None) -> str:
        target = f"{area}/{name or relpath}"
        dest = self._path(target)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        n = 1
        while os.path.lexists(dest):  # a file set aside earlier under this name stays
            n += 1
            target = f"{area}/{name or relpath}~{n}"
            dest = self._path(target)
        os.replace(self._path(relpath), dest)
        return target

    def prune_dir(self, reldir: str, min_age_s: float) -> bool:
        if not reldir or is_hidden(reldir):
            return False  # the root and the set-aside areas stay
        path = self._path(reldir)
        try:
            st = os.lstat(path)
            if not stat.S_ISDIR(st.st_mode) or time.time() - st.st_mtime < min_age_s:
                return False
            os.rmdir(path)  # ENOTEMPTY when a producer put something in it meanwhile
        except OSError:
            return False
        return True
