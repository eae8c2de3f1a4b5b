"""Live updates for the page: one bus consumer per process fanned out to server-sent events.

Every page connection gets a bounded queue; a browser that reads too slowly loses events (it is
told to resync) and never holds up the consumer, so the bus is never backed up by a page.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from seedpipe import events

if TYPE_CHECKING:
    from seedpipe.events import CloudEvent
    from seedpipe.settings import Settings

log = logging.getLogger(__name__)

QUEUE_SIZE = 256
HEARTBEAT_S = 15.0
POLL_S = 0.5
MAX_SUBSCRIBERS = 1000


class Subscriber:
    """One page's queue of server-sent event lines."""

    def __init__(self, size: int = QUEUE_SIZE) -> None:
        self.queue: asyncio.Queue[str] = asyncio.Queue(size)
        self.lagged = False

    def offer(self, message: str) -> None:
        if self.lagged:
            return  # a resync is on its way: what was missed is read again through the API
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.lagged = True

    async def next(self, wait_s: float) -> str | None:
        if self.lagged and self.queue.empty():
            self.lagged = False
            return sse("resync", {})
        try:
            return await asyncio.wait_for(self.queue.get(), wait_s)
        except TimeoutError:
            return None


def sse(kind: str, data: dict[str, Any]) -> str:
    return f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def message_for(event: CloudEvent) -> str | None:
    """What a page needs of an event (ids, names, states), never the whole record."""
    if event.type in events.FILE_EVENT_TYPES:
        record = event.data  # a file event carries the record itself
        return sse(
            "file",
            {
                "type": event.type,
                "id": event.subject or record.get("id"),
                "file_name": record.get("file_name"),
                "file_type": record.get("file_type"),
            },
        )
    if event.type in events.JOB_EVENT_TYPES:
        data = event.data if isinstance(event.data, dict) else {}
        job = {
            "type": event.type,
            "id": event.subject,
            "job_type": data.get("job_type"),
            "status": data.get("status"),
        }
        if data.get("recipe"):  # a recipe node's job: an open recipe view redraws its node
            job.update(recipe=data["recipe"], recipe_node=data.get("recipe_node"))
        return sse("job", job)
    if event.type in events.RECIPE_EVENT_TYPES:
        data = event.data if isinstance(event.data, dict) else {}
        node = data.get("node") if isinstance(data.get("node"), dict) else None
        recipe = {
            "type": event.type,
            "id": event.subject or data.get("id"),
            "recipe_type": data.get("recipe_type"),
            "status": data.get("status"),
        }
        if node is not None:
            recipe["node"] = {"name": node.get("name"), "state": node.get("state")}
        return sse("recipe", recipe)
    return None


class LiveFeed:
    """Consumes the files, jobs and recipes topics as this process's own group, from now on."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.subscribers: set[Subscriber] = set()
        self.stop = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        # Set when the server is asked to stop: open streams end, so the server can drain.
        self.ending = asyncio.Event()
        self.group = f"seedpipe-web-{_host()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"

    def subscribe(self) -> Subscriber | None:
        if len(self.subscribers) >= MAX_SUBSCRIBERS:
            return None
        if self.task is None or self.task.done():
            self.stop.clear()
            self.task = asyncio.get_running_loop().create_task(self._run())
        sub = Subscriber()
        self.subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)

    def deliver(self, event: CloudEvent) -> None:
        message = message_for(event)
        if message is not None:
            for sub in list(self.subscribers):
                sub.offer(message)

    async def _run(self) -> None:
        from seedpipe.bus import open_bus

        topics = [
            self.settings.topic(events.FILES_TOPIC),
            self.settings.topic(events.JOBS_TOPIC),
            self.settings.topic(events.RECIPES_TOPIC),
        ]

        async def handle(event: CloudEvent) -> None:
            self.deliver(event)

        while not self.stop.is_set():
            try:
                async with open_bus(self.settings.bus) as bus:
                    await bus.consume(
                        topics, self.group, handle, stop=self.stop, from_beginning=False
                    )
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the page's feed must not take the API down
                log.warning("web: live feed stopped (%s: %s); retrying", type(exc).__name__, exc)
                for sub in list(self.subscribers):
                    sub.lagged = True
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stop.wait(), 5.0)

    def end_streams(self) -> None:
        self.ending.set()

    async def close(self) -> None:
        self.stop.set()
        if self.task is not None:
            try:
                await asyncio.wait_for(self.task, 10.0)
            except (TimeoutError, asyncio.CancelledError):
                self.task.cancel()
            except Exception as exc:
                log.debug("web: live feed ended with %s", exc)


def _host() -> str:
    name = "".join(c if c.isalnum() or c in "-_" else "-" for c in socket.gethostname())
    return name[:40] or "host"


async def stream(feed: LiveFeed, sub: Subscriber, disconnected: Any) -> AsyncIterator[str]:
    yield "retry: 3000\n\n"
    quiet = 0.0
    while not feed.ending.is_set():
        message = await sub.next(POLL_S)
        if await disconnected():
            return
        if message is not None:
            quiet = 0.0
            yield message
            continue
        quiet += POLL_S
        if quiet >= HEARTBEAT_S:  # a comment line keeps proxies from closing an idle stream
            quiet = 0.0
            yield ": keep-alive\n\n"
