"""The catalogue as other services see it: a narrow, read-only view of the file index."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel, ConfigDict

from seedpipe.records import FileRecord

if TYPE_CHECKING:
    from seedpipe.query.model import Query


class SearchPage(BaseModel):
    """One page of results in query order; ``next_token`` is None on the last page,
    ``prev_token`` on the first (and on a page reached without a token)."""

    model_config = ConfigDict(extra="forbid")

    records: list[FileRecord]
    total: int
    next_token: str | None = None
    prev_token: str | None = None


class CatalogueReader(Protocol):
    """What capture may ask of the catalogue (to build INPUT_METADATA, to find what a product
    supersedes): records by id and searches. Every index backend is one."""

    async def get(self, file_id: str) -> FileRecord | None: ...

    async def search(self, query: Query) -> SearchPage: ...
