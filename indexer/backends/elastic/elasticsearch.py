"""Elasticsearch file index: template + alias, external versions, bulk writes, percolator.

The official client must match the server's major version: elasticsearch-py 8.x for an ES 8
server, 9.x for ES 9 (``pip install 'elasticsearch[async]>=9,<10'``). It is imported lazily.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from indexer.backends.base import FileIndex, SearchPage, Subscription, UpsertResult
from indexer.backends.es_mapping import (
    FILES_MAPPING,
    SETTINGS,
    SUBSCRIPTIONS_MAPPING,
    to_document,
)
from indexer.backends.es_query import compile_query, compile_search
from indexer.geometry import RecordPlace, clean_records
from indexer.query import Query
from seedpipe.errors import CatalogError, MissingDependency
from seedpipe.records import FileRecord

if TYPE_CHECKING:
    from seedpipe.settings import IndexSettings

log = logging.getLogger(__name__)
SCHEMES = {"elasticsearch": "http", "elasticsearch+http": "http", "elasticsearch+https": "https"}


def client_url(url: str) -> str:
    """``elasticsearch://h:9200`` → ``http://h:9200``; credentials in URLs are refused."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        raise CatalogError(
            "put Elasticsearch credentials in [index.elasticsearch] username/password or "
            "api_key, not in the URL"
        )
    scheme = SCHEMES.get(parts.scheme, parts.scheme)
    return urlunsplit((scheme, parts.netloc, parts.path, "", ""))


class ElasticsearchIndex(FileIndex):
    """Writes go through the ``<prefix>-files`` alias; versions are external (the record's)."""

    def __init__(
        self, url: str, settings: IndexSettings | None = None, *, refresh: str | bool = False
    ) -> None:
        super().__init__(url)
        from seedpipe.settings import ElasticsearchSettings

        self.es_settings = settings.elasticsearch if settings else ElasticsearchSettings()
        prefix = self.es_settings.index_prefix
        self.alias = f"{prefix}-files"
        self.subs = f"{prefix}-subscriptions"
        self.refresh = refresh  # "wait_for" makes writes visible to the next search (tests)
        self._client: Any = None

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

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self._make_client()
        return self._client

    async def open(self) -> None:
        es = self.client
        await es.indices.put_index_template(
            name=self.alias,
            index_patterns=[f"{self.alias}-*"],
            template={"settings": SETTINGS, "mappings": FILES_MAPPING},
        )
        if not await es.indices.exists_alias(name=self.alias):
            await es.indices.create(
                index=f"{self.alias}-000001", aliases={self.alias: {"is_write_index": True}}
            )
        else:  # made by an older seedpipe: add the fields it lacks (ES adds, never retypes)
            await self._add_fields(self.alias, FILES_MAPPING)
        if not await es.indices.exists(index=self.subs):
            await es.indices.create(
                index=self.subs, settings=SETTINGS, mappings=SUBSCRIPTIONS_MAPPING
            )
        else:
            await self._add_fields(self.subs, SUBSCRIPTIONS_MAPPING)

    async def _add_fields(self, index: str, mapping: dict[str, Any]) -> None:
        from elasticsearch import BadRequestError

        try:
            await self.client.indices.put_mapping(index=index, properties=mapping["properties"])
        except BadRequestError as exc:
            raise CatalogError(
                f"elasticsearch index {index} has a mapping this seedpipe cannot extend "
                f"({exc.message}); rebuild it with `seedpipe reindex` under a new index_prefix"
            ) from exc

    async def drop(self) -> None:
        """Delete this prefix's indices and template (tests and ``reindex --fresh``)."""
        es = self.client
        await es.indices.delete(index=f"{self.alias}-*,{self.subs}", ignore_unavailable=True)
        await es.options(ignore_status=404).indices.delete_index_template(name=self.alias)

    async def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()

    # ----- writes -----

    def _prepared(
        self, records: list[FileRecord], places: list[RecordPlace]
    ) -> list[tuple[FileRecord, dict[str, Any], str | None]]:
        out = []
        for r, place in zip(records, places, strict=True):
            clean = place.clean
            r = r.model_copy(
                update={"geometry": clean.geojson if clean else None, "center_point": place.center}
            )
            out.append((r, to_document(r, clean), place.error))
        return out

    async def upsert(
        self, records: list[FileRecord], places: list[RecordPlace] | None = None
    ) -> list[UpsertResult]:
        from elasticsearch.helpers import async_streaming_bulk

        places = places or clean_records(records)
        newest: dict[str, int] = {}
        for i, r in enumerate(records):
            j = newest.get(r.id)
            if j is None or r.version > records[j].version:
                newest[r.id] = i
        results: dict[int, UpsertResult] = {
            i: UpsertResult(r.id, r.version, "stale", "newer in the same batch")
            for i, r in enumerate(records)
            if newest[r.id] != i
        }
        todo = sorted(newest.values())
        prepared = self._prepared([records[i] for i in todo], [places[i] for i in todo])
        actions = [
            {"_op_type": "index", "_index": self.alias, "_id": r.id, "_source": doc,
             "version": r.version, "version_type": "external"}
            for r, doc, _ in prepared
        ]  # fmt: skip
        by_id = {r.id: (i, r, err) for i, (r, _, err) in zip(todo, prepared, strict=True)}
        async for ok, item in async_streaming_bulk(
            self.client, actions, max_retries=5, initial_backoff=1, raise_on_error=False,
            raise_on_exception=False, refresh=self.refresh, yield_ok=True,
        ):  # fmt: skip
            info = next(iter(item.values()))
            i, r, geo_error = by_id[info["_id"]]
            if ok:
                results[i] = UpsertResult(r.id, r.version, "written", None, geo_error)
            elif info.get("status") == 409:
                results[i] = UpsertResult(r.id, r.version, "stale", "a newer version is indexed")
            else:
                results[i] = UpsertResult(r.id, r.version, "error", _reason(info))
        return [
            results.get(i) or UpsertResult(r.id, r.version, "error", "no answer from bulk")
            for i, r in enumerate(records)
        ]

    async def delete(self, file_id: str, version: int) -> UpsertResult:
        from elasticsearch import ConflictError

        try:
            await self.client.index(
                index=self.alias, id=file_id, document={"id": file_id, "tombstone": True,
                "version": version}, version=version, version_type="external_gte",
                refresh=self.refresh,
            )  # fmt: skip
        except ConflictError:
            return UpsertResult(file_id, version, "stale", "a newer version is indexed")
        return UpsertResult(file_id, version, "written")

    # ----- reads -----

    async def get(self, file_id: str) -> FileRecord | None:
        resp = await self.client.options(ignore_status=404).get(index=self.alias, id=file_id)
        body = resp.body
        source = body.get("_source") if body.get("found") else None
        if not source or source.get("tombstone") or "record" not in source:
            return None
        return FileRecord.model_validate(source["record"])

    async def search(self, query: Query) -> SearchPage:
        body = compile_search(query)
        body["source"] = body.pop("_source")
        resp = await self.client.search(index=self.alias, **body)
        hits = resp["hits"]["hits"]
        records = [FileRecord.model_validate(h["_source"]["record"]) for h in hits[: query.limit]]
        next_token = None
        if len(hits) > query.limit:
            sort = hits[query.limit - 1]["sort"]
            next_token = query.make_token(list(sort[:-1]), str(sort[-1]))
        total = int(resp["hits"]["total"]["value"])
        return SearchPage(records=records, total=total, next_token=next_token)

    async def count(self, query: Query) -> int:
        resp = await self.client.count(index=self.alias, query=compile_query(query))
        return int(resp["count"])

    # ----- subscriptions: a percolator index of compiled queries -----

    async def add_subscription(self, subscription: Subscription) -> None:
        await self.client.index(
            index=self.subs, id=subscription.id, refresh="wait_for",
            document={"query": compile_query(subscription.query), "sub_id": subscription.id,
                      "subscription": subscription.model_dump(mode="json")},
        )  # fmt: skip

    async def remove_subscription(self, subscription_id: str) -> bool:
        resp = await self.client.options(ignore_status=404).delete(
            index=self.subs, id=subscription_id, refresh="wait_for"
        )
        return bool(resp.body.get("result") == "deleted")

    async def list_subscriptions(self) -> list[Subscription]:
        resp = await self.client.search(
            index=self.subs, query={"match_all": {}}, sort=[{"sub_id": "asc"}], size=10_000,
            source=["subscription"],
        )  # fmt: skip
        return [Subscription.model_validate(h["_source"]["subscription"]) for h in _hits(resp)]

    async def match_subscriptions(self, record: FileRecord) -> list[Subscription]:
        ((_, doc, _),) = self._prepared([record], clean_records([record]))
        doc.pop("record")
        resp = await self.client.search(
            index=self.subs, query={"percolate": {"field": "query", "document": doc}},
            sort=[{"sub_id": "asc"}], size=10_000, source=["subscription"],
        )  # fmt: skip
        return [Subscription.model_validate(h["_source"]["subscription"]) for h in _hits(resp)]


def _hits(resp: Any) -> list[dict[str, Any]]:
    return list(resp["hits"]["hits"])


def _reason(info: dict[str, Any]) -> str:
    """A short per-item failure reason: error type and message, never the document."""
    error = info.get("error")
    if isinstance(error, dict):
        return f"{error.get('type', 'error')}: {str(error.get('reason', ''))[:300]}"
    return f"status {info.get('status')}: {str(error)[:300]}"
