"""A job's stdout and stderr into ``job.log``, capped so a chatty job cannot fill the disk."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

CHUNK = 64 * 1024
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
# After the job's process group is gone, a daemon it left in another session may still hold
# the pipe open: the log stops waiting for end-of-file after this long.
DRAIN_S = 5.0


async def pump(stream: asyncio.StreamReader, path: Path, max_bytes: int) -> int:
    """Copy ``stream`` to the end of ``path`` until end-of-file, keeping the first
    ``max_bytes``; the rest is read (the job never blocks on a full pipe) and counted, and a
    closing line says how much was left out. Returns the bytes left out."""
    kept = dropped = 0
    with path.open("ab") as out:
        while chunk := await stream.read(CHUNK):
            room = max_bytes - kept
            if room > 0:
                out.write(chunk[:room])
                kept += min(room, len(chunk))
            dropped += max(0, len(chunk) - max(room, 0))
        if dropped:
            out.write(
                f"\n[seedpipe: job.log keeps the first {max_bytes} bytes of this run; "
                f"{dropped} more were left out]\n".encode()
            )
    if dropped:
        log.warning("job log %s capped: %d bytes left out", path, dropped)
    return dropped


class JobLog:
    """A pipe for the job's stdout and stderr, copied into ``path`` by ``pump``.

    The pipe is our own, not the subprocess transport's: waiting for the job's exit must not
    also wait for every process that inherited the pipe (a daemon the job left behind).
    """

    def __init__(self, path: Path, max_bytes: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self._read_fd, self.write_fd = os.pipe()
        self._task: asyncio.Task[int] | None = None
        self._transport: asyncio.BaseTransport | None = None

    async def start(self) -> None:
        """Once the job is spawned: drop our copy of the write end and start copying."""
        os.close(self.write_fd)
        self.write_fd = -1
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=CHUNK)
        self._transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(self._read_fd, "rb", 0)
        )
        self._task = asyncio.create_task(pump(reader, self.path, self.max_bytes))

    def abandon(self) -> None:
        """The job never started: close both ends."""
        for fd in (self._read_fd, self.write_fd):
            with contextlib.suppress(OSError):
                os.close(fd)

    async def finish(self) -> None:
        """Wait for the copy once the job is over, briefly (see DRAIN_S), then close."""
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), DRAIN_S)
            except TimeoutError:
                log.warning(
                    "job output pipe still open %gs after the job ended; log closed", DRAIN_S
                )
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
        if self._transport is not None:
            self._transport.close()
        else:  # cancelled before start(): nothing reads the pipe
            self.abandon()
