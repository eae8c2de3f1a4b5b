"""``GET /metrics``: the ground's counters (seedpipe.metrics), jobs from the job store, and how
long the API's catalogue searches take."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from seedpipe.metrics import SEARCH_SECONDS, registry

if TYPE_CHECKING:
    from capture.jobs import JobStore

router = APIRouter(tags=["operations"])

# The routes whose time is a catalogue search (path shapes, so the series stay few).
SEARCH_ROUTES: tuple[tuple[str, Callable[[str], bool]], ...] = (
    ("/files", lambda p: p == "/files"),
    ("/search", lambda p: p == "/search"),
    (
        "/collections/{id}/items",
        lambda p: p.startswith("/collections/") and p.endswith("/items") and p.count("/") == 3,
    ),
)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    return Response(generate_latest(registry()), media_type=CONTENT_TYPE_LATEST)


class JobsCollector(Collector):
    """Jobs in the store by job type and status, read when Prometheus scrapes."""

    def __init__(self, store: Callable[[], JobStore | None]) -> None:
        self.store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "seedpipe_jobs",
            "Jobs in the job store by job type and status",
            labels=["job_type", "status"],
        )
        store = self.store()
        if store is not None:
            for (job_type, status), n in sorted(store.counts_by_type().items()):
                family.add_metric([job_type, status], n)
        yield family

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())


_collectors: list[JobsCollector] = []


def watch_jobs(store: Callable[[], JobStore | None]) -> None:
    """Report the jobs of ``store`` (the newest app's store: one registry per process)."""
    if _collectors:
        _collectors[0].store = store
        return
    collector = JobsCollector(store)
    registry().register(collector)
    _collectors.append(collector)


class SearchTimer:
    """Times the search routes (to the last byte sent), labelled by route."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = None
        if scope["type"] == "http":
            path = scope["path"]
            route = next((name for name, match in SEARCH_ROUTES if match(path)), None)
        if route is None:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        ok = True

        async def sending(message: Message) -> None:
            nonlocal ok
            if message["type"] == "http.response.start":
                ok = message["status"] < 400
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            if ok:
                SEARCH_SECONDS.labels(route=route).observe(time.perf_counter() - started)
