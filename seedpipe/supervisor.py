"""Running a service's tasks together: until stopped, all stopped on the first failure; signals."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Iterator, Mapping
from typing import Any

log = logging.getLogger(__name__)


@contextlib.contextmanager
def stop_on_signals(stop: asyncio.Event) -> Iterator[asyncio.Event]:
    """SIGINT and SIGTERM set ``stop`` while the block runs (where the loop can take handlers)."""
    loop = asyncio.get_running_loop()
    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
    try:
        yield stop
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


async def supervise(
    work: Mapping[str, Awaitable[object]],
    stop: asyncio.Event,
    *,
    stopping: asyncio.Event | None = None,
    any_end_stops: bool = True,
    cancel: bool = False,
) -> None:
    """Run ``work`` (name -> awaitable) until ``stop`` is set or one of them fails.

    With ``any_end_stops`` a task that returns stops the others too (services run until told
    to stop, so an early return means something went wrong). Then ``stopping`` (default
    ``stop``) is set, the tasks are cancelled when ``cancel`` is true, every task is awaited,
    and the first failure is raised. A task cancelled while stopping is not a failure.
    """
    tasks: dict[asyncio.Future[Any], str] = {
        asyncio.ensure_future(w): name for name, w in work.items()
    }
    stopper: asyncio.Future[Any] = asyncio.ensure_future(stop.wait())
    failure: BaseException | None = None
    try:
        pending: set[asyncio.Future[Any]] = set(tasks)
        while pending and not stop.is_set():
            done, pending = await asyncio.wait(
                [*pending, stopper], return_when=asyncio.FIRST_COMPLETED
            )
            done.discard(stopper)
            pending.discard(stopper)
            for task in done:
                if not task.cancelled() and task.exception() is not None:
                    failure = failure or task.exception()
                    log.error("%s failed: %s", tasks[task], task.exception())
            if failure is not None or (done and any_end_stops):
                break
    finally:
        (stopping or stop).set()
        stopper.cancel()
        if cancel:
            for task in tasks:
                task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
    if failure is None:
        failure = next(
            (
                r
                for r in results
                if isinstance(r, BaseException) and not isinstance(r, asyncio.CancelledError)
            ),
            None,
        )
    if failure is not None:
        raise failure
