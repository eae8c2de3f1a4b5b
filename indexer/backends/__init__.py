"""File index backends, chosen by URL: ``sqlite:///index.db`` or ``elasticsearch://host:9200``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from seedpipe.registry import BackendRegistry

if TYPE_CHECKING:
    from indexer.backends.base import FileIndex
    from seedpipe.settings import IndexSettings

_ES = "indexer.backends.elasticsearch:ElasticsearchIndex"
BACKENDS = BackendRegistry(
    "file index",
    {
        "sqlite": "indexer.backends.sqlite.index:SqliteIndex",
        "elasticsearch": _ES,
        "elasticsearch+http": _ES,
        "elasticsearch+https": _ES,
        "http": _ES,
        "https": _ES,
    },
    {
        s: "pip install 'elasticsearch[async]' (major version = the server's)"
        for s in ("elasticsearch", "elasticsearch+http", "elasticsearch+https", "http", "https")
    },
)


def open_index(settings: IndexSettings) -> FileIndex:
    """The index for ``settings.url`` (not yet opened: use ``async with`` or ``await open()``)."""
    cls = BACKENDS.resolve(settings.url)
    index: FileIndex = cls(settings.url, settings)
    return index
