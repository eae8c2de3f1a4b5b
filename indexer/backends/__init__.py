"""File index backends, chosen by URL: ``sqlite:///index.db``, ``elasticsearch://host:9200``,
``opensearch://host:9200`` (``+https`` for TLS)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from seedpipe.registry import BackendRegistry

if TYPE_CHECKING:
    from indexer.backends.base import FileIndex
    from seedpipe.settings import IndexSettings

_ES = "indexer.backends.elastic.elasticsearch:ElasticsearchIndex"
_OS = "indexer.backends.elastic.opensearch:OpenSearchIndex"
_ES_SCHEMES = ("elasticsearch", "elasticsearch+http", "elasticsearch+https", "http", "https")
_OS_SCHEMES = ("opensearch", "opensearch+http", "opensearch+https")
BACKENDS = BackendRegistry(
    "file index",
    {"sqlite": "indexer.backends.sqlite.index:SqliteIndex"}
    | {s: _ES for s in _ES_SCHEMES}
    | {s: _OS for s in _OS_SCHEMES},
    {s: "pip install 'elasticsearch[async]' (major version = the server's)" for s in _ES_SCHEMES}
    | {s: "pip install 'opensearch-py[async]'" for s in _OS_SCHEMES},
)


def open_index(settings: IndexSettings) -> FileIndex:
    """The index for ``settings.url`` (not yet opened: use ``async with`` or ``await open()``)."""
    cls = BACKENDS.resolve(settings.url)
    index: FileIndex = cls(settings.url, settings)
    return index
