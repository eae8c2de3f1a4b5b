"""OpenSearch's dialect of the search-engine index: opensearch-py, ``flat_object`` meta_data.

Tested with OpenSearch 2.19 and opensearch-py 3.x (``pip install 'opensearch-py[async]'``),
imported lazily. ``open()`` checks that the server is OpenSearch, as elasticsearch-py does for
Elasticsearch.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from indexer.backends.elastic import engine
from seedpipe.errors import CatalogError, MissingDependency

if TYPE_CHECKING:
    from seedpipe.settings import ElasticsearchSettings, IndexSettings

SCHEMES = {"opensearch": "http", "opensearch+http": "http", "opensearch+https": "https"}
HINT = "pip install 'opensearch-py[async]'"
EXPECTED = (404, 409)


def _status_of(answer: Any) -> int:
    """The status of an answer the client returned without raising (2xx, or one of EXPECTED):
    error bodies carry it; a document GET or DELETE says it found nothing."""
    if isinstance(answer, dict):
        if isinstance(answer.get("status"), int) and "error" in answer:
            return int(answer["status"])
        if answer.get("found") is False or answer.get("result") == "not_found":
            return 404
    return 200


def client_url(url: str) -> str:
    """``opensearch://h:9200`` → ``http://h:9200``; credentials in URLs are refused."""
    return engine.client_url(url, SCHEMES, "OpenSearch")


class OpenSearchIndex(engine.SearchEngineIndex):
    ENGINE = "OpenSearch"
    # flat_object (OpenSearch 2.7+) keeps free-form keys out of the mapping, like flattened
    META_DATA = {"type": "flat_object"}

    @classmethod
    def section(cls, settings: IndexSettings | None) -> ElasticsearchSettings:
        from seedpipe.settings import ElasticsearchSettings

        return settings.opensearch if settings else ElasticsearchSettings()

    def _make_client(self) -> Any:
        try:
            from opensearchpy import AsyncOpenSearch
        except ImportError as exc:
            raise MissingDependency("opensearchpy", HINT) from exc
        s = self.es_settings
        if s.api_key is not None:
            raise CatalogError("index.opensearch.api_key: OpenSearch takes username/password")
        kwargs: dict[str, Any] = {
            "timeout": s.request_timeout_s,
            "retry_on_status": (429, 502, 503, 504),
            "retry_on_timeout": True,
            "max_retries": 5,
            "verify_certs": s.verify_certs,
        }
        if s.ca_certs:
            kwargs["ca_certs"] = s.ca_certs
        if s.username and s.password is not None:
            kwargs["http_auth"] = (s.username, s.password.get_secret_value())
        return AsyncOpenSearch([client_url(self.url)], **kwargs)

    async def _request(
        self, method: str, path: str, body: Any = None, params: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        from opensearchpy import TransportError

        try:
            # 404 and 409 are answers here (unknown id, stale version), not failures to log
            answer = await self.client.transport.perform_request(
                method, path, params=params, body=body, ignore=EXPECTED
            )
        except TransportError as exc:
            if not isinstance(exc.status_code, int):
                raise  # no answer at all (connection refused, timeout): not a status
            return exc.status_code, exc.info
        if method == "HEAD":  # opensearch-py answers a HEAD with True/False
            return (200 if answer else 404), None
        return _status_of(answer), answer

    async def _bulk(self, actions: list[dict[str, Any]]) -> AsyncIterator[tuple[bool, Any]]:
        from opensearchpy.helpers import async_streaming_bulk

        async for ok, item in async_streaming_bulk(
            self.client, actions, max_retries=5, initial_backoff=1, raise_on_error=False,
            raise_on_exception=False, refresh=self.refresh, yield_ok=True,
        ):  # fmt: skip
            yield ok, item

    async def _check_product(self) -> None:
        status, info = await self._request("GET", "/")
        if status >= 400:
            raise engine.EngineError(status, info)
        version = info.get("version", {}) if isinstance(info, dict) else {}
        if version.get("distribution") != "opensearch":
            raise CatalogError(
                f"index.url {client_url(self.url)} is not an OpenSearch server "
                f"(distribution {version.get('distribution')!r}); use elasticsearch:// for one"
            )
