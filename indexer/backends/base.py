"""The FileIndex interface every index backend implements, and its small result types.

It is a ``seedpipe.catalogue.CatalogueReader``: the read-only view other services are given.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from seedpipe.catalogue import SearchPage
from seedpipe.query.geometry import RecordPlace
from seedpipe.query.model import Query
from seedpipe.records import FileRecord
from seedpipe.views import FileView, ViewPage

SUBSCRIPTION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")


@dataclass(frozen=True, slots=True)
class UpsertResult:
    """What happened to one record (or delete): written, stale (a newer version wins) or error.

    ``geometry_error`` is set when the record was written without its unusable geometry, so the
    caller can send the reason to the dead-letter queue while the rest stays searchable.
    (A dataclass, not a model: bulk writes make one per record.)
    """

    id: str
    version: int
    status: Literal["written", "stale", "error"]
    reason: str | None = None
    geometry_error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status != "error"


@dataclass(frozen=True, slots=True)
class JsonPage:
    """A page as JSON text: each of ``docs`` is one record's full JSON, the shape of
    ``FileRecord.to_scale()``. Served as it is by ``GET /files``, without decoding records."""

    docs: list[str]
    total: int
    next_token: str | None = None
    prev_token: str | None = None


@dataclass(frozen=True, slots=True)
class CollectionSummary:
    """Counts and extents over current (not deleted, not superseded) records.

    ``start``/``end`` span each record's data time, or its created time when it has none (the
    datetime its STAC item shows).
    """

    count: int = 0
    bbox: tuple[float, float, float, float] | None = None
    start: datetime | None = None
    end: datetime | None = None
    media_types: list[str] = field(default_factory=list)
    file_types: list[str] = field(default_factory=list)
    data_types: list[str] = field(default_factory=list)


class Subscription(BaseModel):
    """A saved search: every record indexed later that matches ``query`` is announced."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, StringConstraints(pattern=SUBSCRIPTION_ID.pattern)]
    name: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    query: Query = Field(default_factory=Query)


class FileIndex(ABC):
    """A searchable catalogue of file records. Writes are idempotent: the record version decides.

    A record is written only if its version is newer than the stored one and than any tombstone
    left by ``delete``; an equal or older version is reported ``stale`` and changes nothing.
    """

    def __init__(self, url: str) -> None:
        self.url = url

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def open(self) -> None:
        """Create tables/indices if missing. Called by ``async with``; safe to call twice."""

    @abstractmethod
    async def upsert(
        self, records: list[FileRecord], places: list[RecordPlace] | None = None
    ) -> list[UpsertResult]:
        """Write newer versions; one result per record, in order. Never raises per item.

        ``places``: the records' cleaned geometries (``clean_records``), when the caller has
        them already; else the backend cleans them.
        """

    def bulk(self, *, whole: bool = True) -> AbstractAsyncContextManager[None]:
        """A bulk load: many ``upsert`` batches in a row (a reindex, a replay, a backlog). A
        backend may defer work on derived structures to the end of the block; every written
        batch stays durable and searches stay exact meanwhile. ``whole``: the load writes
        (about) the whole index, so work in proportion to the index may be deferred too; else
        only work in proportion to the load. Nothing by default.
        """
        return _nothing()

    @abstractmethod
    async def get(self, file_id: str) -> FileRecord | None:
        """The stored record, or None if unknown or deleted."""

    @abstractmethod
    async def delete(self, file_id: str, version: int) -> UpsertResult:
        """Remove the record and leave a tombstone at ``version`` so replays cannot resurrect it.

        Applies when ``version`` is at least the stored one (else ``stale``).
        """

    @abstractmethod
    async def search(self, query: Query) -> SearchPage:
        """Records matching ``query``, ``query.limit`` at a time, after ``query.token``."""

    async def search_views(self, query: Query) -> ViewPage:
        """``search`` as read-only :class:`~seedpipe.views.FileView`s, for pages that are shown
        and not changed (STAC, the CLI); a backend that stores JSON decodes it straight to views.
        """
        page = await self.search(query)
        views = [FileView.from_record(r) for r in page.records]
        return ViewPage(views, page.total, next_token=page.next_token, prev_token=page.prev_token)

    async def search_json(self, query: Query) -> JsonPage:
        """``search`` as JSON text; a backend that stores records as JSON returns it as is."""
        page = await self.search(query)
        docs = [r.model_dump_json() for r in page.records]
        return JsonPage(docs, page.total, next_token=page.next_token, prev_token=page.prev_token)

    @abstractmethod
    async def count(self, query: Query) -> int:
        """How many records match ``query`` (sort, limit and token ignored)."""

    @abstractmethod
    async def summarize(self, workspace: str) -> CollectionSummary:
        """Count, extents and kinds of the workspace's current records, aggregated in place."""

    @abstractmethod
    async def add_subscription(self, subscription: Subscription) -> None:
        """Store (or replace, by id) a saved search."""

    @abstractmethod
    async def list_subscriptions(self) -> list[Subscription]:
        """Every saved search, ordered by id."""

    @abstractmethod
    async def remove_subscription(self, subscription_id: str) -> bool:
        """Forget a saved search; False if there was none with that id."""

    @abstractmethod
    async def match_subscriptions(self, record: FileRecord) -> list[Subscription]:
        """The saved searches ``record`` matches, ordered by id."""

    async def needs_replay(self) -> bool:
        """True when the index was rebuilt empty over one that had records (a layout upgrade),
        so the indexer must replay the event log once; see ``replay_done``."""
        return False

    async def replay_done(self) -> None:
        """The event log has been replayed into this index."""

    @abstractmethod
    async def close(self) -> None:
        """Release connections; the index stays on disk/server."""


@asynccontextmanager
async def _nothing() -> AsyncIterator[None]:
    yield
