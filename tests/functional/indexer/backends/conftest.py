"""Index backend fixtures: SQLite and OpenSearch always, Elasticsearch with ELASTICSEARCH_URL."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from indexer.backends.base import FileIndex, UpsertResult
from indexer.backends.sqlite.index import SqliteIndex
from seedpipe.query.geometry import RecordPlace
from seedpipe.records import FileRecord
from seedpipe.settings import ElasticsearchSettings, IndexSettings

ELASTICSEARCH_URL = os.environ.get("ELASTICSEARCH_URL", "")

BACKENDS = [
    pytest.param("sqlite_index", id="sqlite"),
    # every write and search of the test inside one bulk load (see sqlite/bulk.py)
    pytest.param("sqlite_bulk_index", id="sqlite-bulk"),
    # ... inside one load of the boxes only (what a live indexer behind on a backlog runs)
    pytest.param("sqlite_backlog_index", id="sqlite-backlog"),
    # ... with its rows renumbered by place after every write (sqlite/cluster.py)
    pytest.param("sqlite_clustered_index", id="sqlite-clustered"),
    pytest.param("os_index", id="opensearch", marks=[pytest.mark.opensearch]),
    pytest.param(
        "es_index",
        id="elasticsearch",
        marks=[
            pytest.mark.elasticsearch,
            pytest.mark.skipif(
                not ELASTICSEARCH_URL,
                reason="ELASTICSEARCH_URL is not set: no Elasticsearch server on this machine",
            ),
        ],
    ),
]


@pytest.fixture
async def sqlite_index(tmp_path: Path) -> AsyncIterator[FileIndex]:
    async with SqliteIndex(f"sqlite:///{tmp_path / 'index.db'}") as index:
        yield index


@pytest.fixture
async def sqlite_bulk_index(tmp_path: Path) -> AsyncIterator[FileIndex]:
    async with SqliteIndex(f"sqlite:///{tmp_path / 'index.db'}") as index, index.bulk():
        yield index


@pytest.fixture
async def sqlite_backlog_index(tmp_path: Path) -> AsyncIterator[FileIndex]:
    async with (
        SqliteIndex(f"sqlite:///{tmp_path / 'index.db'}") as index,
        index.bulk(whole=False),
    ):
        yield index


class ClusteringIndex(SqliteIndex):
    """Clusters after every write, so each search of a test runs on renumbered rows."""

    async def upsert(
        self, records: list[FileRecord], places: list[RecordPlace] | None = None
    ) -> list[UpsertResult]:
        out = await super().upsert(records, places)
        await self.cluster()
        return out

    async def delete(self, file_id: str, version: int) -> UpsertResult:
        out = await super().delete(file_id, version)
        await self.cluster()
        return out


@pytest.fixture
async def sqlite_clustered_index(tmp_path: Path) -> AsyncIterator[FileIndex]:
    async with ClusteringIndex(f"sqlite:///{tmp_path / 'index.db'}") as index:
        yield index


@pytest.fixture
async def es_index(unique: str) -> AsyncIterator[FileIndex]:
    from indexer.backends.elastic.elasticsearch import ElasticsearchIndex

    settings = IndexSettings(
        url=ELASTICSEARCH_URL,
        elasticsearch=ElasticsearchSettings(index_prefix=f"seedpipe-test-{unique}"),
    )
    index = ElasticsearchIndex(ELASTICSEARCH_URL, settings, refresh="wait_for")
    async with index:
        yield index
        await index.drop()


@pytest.fixture
async def os_index(opensearch_index_url: str, unique: str) -> AsyncIterator[FileIndex]:
    """A fresh index prefix on the session's OpenSearch node, dropped after the test."""
    from indexer.backends.elastic.opensearch import OpenSearchIndex

    settings = IndexSettings(
        url=opensearch_index_url,
        opensearch=ElasticsearchSettings(index_prefix=f"seedpipe-test-{unique}"),
    )
    index = OpenSearchIndex(opensearch_index_url, settings, refresh="true")
    async with index:
        yield index
        await index.drop()


@pytest.fixture(params=BACKENDS)
def index(request: pytest.FixtureRequest) -> FileIndex:
    """Each conformance test runs once per available backend."""
    backend: FileIndex = request.getfixturevalue(request.param)
    return backend
