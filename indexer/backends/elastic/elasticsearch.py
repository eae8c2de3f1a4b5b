"""Elasticsearch's dialect of the search-engine index: elasticsearch-py, ``flattened`` meta_data.

The official client must match the server's major version: elasticsearch-py 8.x for an ES 8
server, 9.x for ES 9 (``pip install 'elasticsearch[async]>=9,<10'``). It is imported lazily and
checks by itself that the server is Elasticsearch.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from indexer.backends.elastic import engine
from indexer.backends.elastic.mapping import FLATTENED
from seedpipe.errors import MissingDependency

if TYPE_CHECKING:
    from seedpipe.settings import ElasticsearchSettings, IndexSettings

SCHEMES = {"elasticsearch": "http", "elasticsearch+http": "http", "elasticsearch+https": "https"}
JSON = {"accept": "application/json", "content-type": "application/json"}


def client_url(url: str) -> str:
    """``elasticsearch://h:9200`` → ``http://h:9200``; credentials in URLs are refused."""
    return engine.client_url(url, SCHEMES, "Elasticsearch")


class ElasticsearchIndex(engine.SearchEngineIndex):
    ENGINE = "Elasticsearch"
    META_DATA = FLATTENED

    @classmethod
    def section(cls, settings: IndexSettings | None) -> ElasticsearchSettings:
        from seedpipe.settings import ElasticsearchSettings

        return settings.elasticsearch if settings else ElasticsearchSettings()

    def _make_client(self) -> Any:
        try:
            from elasticsearch import AsyncElasticsearch
        except ImportError as exc:
            raise MissingDependency(
                "elasticsearch", "pip install 'elasticsearch[async]' (major = server's)"
            ) from exc
        s = self.es_settings
        kwargs: dict[str, Any] = {
            "request_timeout": s.request_timeout_s,
            "retry_on_status": (429, 502, 503, 504),
            "max_retries": 5,
            "verify_certs": s.verify_certs,
        }
        if s.ca_certs:
            kwargs["ca_certs"] = s.ca_certs
        if s.api_key is not None:
            kwargs["api_key"] = s.api_key.get_secret_value()
        elif s.username and s.password is not None:
            kwargs["basic_auth"] = (s.username, s.password.get_secret_value())
        return AsyncElasticsearch(client_url(self.url), **kwargs)

    async def _request(
        self, method: str, path: str, body: Any = None, params: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        from elasticsearch import ApiError

        headers = JSON if body is not None else {"accept": "application/json"}
        try:
            resp = await self.client.perform_request(
                method, path, params=params, headers=headers, body=body
            )
        except ApiError as exc:
            return int(exc.meta.status), exc.body
        return int(resp.meta.status), resp.body

    async def _bulk(self, actions: list[dict[str, Any]]) -> AsyncIterator[tuple[bool, Any]]:
        from elasticsearch.helpers import async_streaming_bulk

        async for ok, item in async_streaming_bulk(
            self.client, actions, max_retries=5, initial_backoff=1, raise_on_error=False,
            raise_on_exception=False, refresh=self.refresh, yield_ok=True,
        ):  # fmt: skip
            yield ok, item
