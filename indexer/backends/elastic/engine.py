"""The file index on a search engine (Elasticsearch, OpenSearch): one logic, the REST API both
speak. Each engine module supplies only its dialect: the client, one raw request, bulk writes,
the product check and the type of the free-form ``meta_data`` field."""

from __future__ import annotations

import logging
from abc import abstractmethod
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote, urlsplit, urlunsplit

from indexer.backends.base import (
    CollectionSummary,
    FileIndex,
    SearchPage,
    Subscription,
    UpsertResult,
)
from indexer.backends.elastic.mapping import (
    FLATTENED,
    RESULT_WINDOW,
    SETTINGS,
    files_mapping,
    subscriptions_mapping,
    to_document,
)
from indexer.backends.elastic.query import compile_query, compile_search
from indexer.backends.elastic.summary import es_summary, es_summary_body
from seedpipe.errors import CatalogError, InvalidInput
from seedpipe.query.geometry import RecordPlace, clean_records
from seedpipe.query.model import Query
from seedpipe.records import FileRecord
from seedpipe.views import ViewPage, view_of

if TYPE_CHECKING:
    from seedpipe.settings import ElasticsearchSettings, IndexSettings

log = logging.getLogger(__name__)


class EngineError(CatalogError):
    """A request the engine refused: status, error type and reason (never a document)."""

    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        error = body.get("error") if isinstance(body, dict) else body
        if isinstance(error, dict) and error.get("root_cause"):
            error = error["root_cause"][0]  # "all shards failed" says less than the cause
        self.type = error.get("type") if isinstance(error, dict) else None
        if isinstance(error, dict):
            detail = f"{error.get('type', 'error')}: {str(error.get('reason', ''))[:300]}"
        else:
            detail = str(error)[:300]
        super().__init__(f"search engine answered {status}: {detail}")


def client_url(url: str, schemes: dict[str, str], engine: str) -> str:
    """``<engine>://h:9200`` → ``http://h:9200``; credentials in URLs are refused."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        raise CatalogError(
            f"put {engine} credentials in [index.{engine.lower()}] username/password, "
            "not in the URL"
        )
    scheme = schemes.get(parts.scheme, parts.scheme)
    return urlunsplit((scheme, parts.netloc, parts.path, "", ""))


def _q(name: str) -> str:
    return quote(name, safe="")


class SearchEngineIndex(FileIndex):
    """Writes go through the ``<prefix>-files`` alias; versions are external (the record's)."""

    ENGINE: ClassVar[str]
    META_DATA: ClassVar[dict[str, Any]] = FLATTENED

    def __init__(
        self, url: str, settings: IndexSettings | None = None, *, refresh: str | bool | None = None
    ) -> None:
        super().__init__(url)
        self.es_settings = self.section(settings)
        prefix = self.es_settings.index_prefix
        self.alias = f"{prefix}-files"
        self.subs = f"{prefix}-subscriptions"
        # "wait_for" makes writes visible to the next search, "true" at once (tests)
        if refresh is None:
            refresh = self.es_settings.refresh
        self.refresh = refresh if isinstance(refresh, str) else str(refresh).lower()
        # a saved search must match the next record: never left to the refresh interval
        self.subs_refresh = "true" if self.refresh == "true" else "wait_for"
        self.files_mapping = files_mapping(self.META_DATA)
        self.subscriptions_mapping = subscriptions_mapping(self.META_DATA)
        self._client: Any = None

    # ----- the dialect: what each engine module supplies -----

    @classmethod
    @abstractmethod
    def section(cls, settings: IndexSettings | None) -> ElasticsearchSettings:
        """This engine's settings section of ``[index]``."""

    @abstractmethod
    def _make_client(self) -> Any:
        """The engine's async client (imported lazily, with an install hint)."""

    @abstractmethod
    async def _request(
        self, method: str, path: str, body: Any = None, params: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        """One REST call: (status, decoded body); statuses >= 400 are returned, not raised."""

    @abstractmethod
    def _bulk(self, actions: list[dict[str, Any]]) -> AsyncIterator[tuple[bool, Any]]:
        """The client's ``async_streaming_bulk`` over ``actions``, yielding every item."""

    async def _check_product(self) -> None:
        """Refuse a server of another engine (elasticsearch-py checks this by itself)."""

    # ----- shared -----

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self._make_client()
        return self._client

    async def _ok(
        self, method: str, path: str, body: Any = None, params: dict[str, str] | None = None
    ) -> Any:
        status, answer = await self._request(method, path, body, params)
        if status >= 400:
            raise EngineError(status, answer)
        return answer

    async def open(self) -> None:
        await self._check_product()
        template = {"settings": SETTINGS, "mappings": self.files_mapping}
        await self._ok("PUT", f"/_index_template/{_q(self.alias)}",
                       {"index_patterns": [f"{self.alias}-*"], "template": template})  # fmt: skip
        status, _ = await self._request("HEAD", f"/_alias/{_q(self.alias)}")
        if status == 404:
            first = {"aliases": {self.alias: {"is_write_index": True}}}
            status, answer = await self._request("PUT", f"/{_q(self.alias)}-000001", first)
            if status >= 400 and _error_type(answer) != "resource_already_exists_exception":
                raise EngineError(status, answer)  # another copy may have made it meanwhile
        else:  # made by an older seedpipe: add the fields it lacks (engines add, never retype)
            await self._add_fields(self.alias, self.files_mapping)
            await self._ok("PUT", f"/{_q(self.alias)}/_settings",
                           {"index": {"max_result_window": RESULT_WINDOW}})  # fmt: skip
        status, _ = await self._request("HEAD", f"/{_q(self.subs)}")
        if status == 404:
            body = {"settings": SETTINGS, "mappings": self.subscriptions_mapping}
            status, answer = await self._request("PUT", f"/{_q(self.subs)}", body)
            if status >= 400 and _error_type(answer) != "resource_already_exists_exception":
                raise EngineError(status, answer)
        else:
            await self._add_fields(self.subs, self.subscriptions_mapping)

    async def _add_fields(self, index: str, mapping: dict[str, Any]) -> None:
        status, answer = await self._request(
            "PUT", f"/{_q(index)}/_mapping", {"properties": mapping["properties"]}
        )
        if status >= 400:
            raise CatalogError(
                f"{self.ENGINE} index {index} has a mapping this seedpipe cannot extend "
                f"({EngineError(status, answer)}); rebuild it with `seedpipe reindex` under a "
                "new index_prefix"
            )

    async def drop(self) -> None:
        """Delete this prefix's indices and template (tests and ``reindex --fresh``).

        Names each index: Elasticsearch 8+ (and OpenSearch with
        ``action.destructive_requires_name``) refuse wildcard deletes.
        """
        status, answer = await self._request("GET", f"/_alias/{_q(self.alias)}")
        names = sorted(answer) if status == 200 and isinstance(answer, dict) else []
        for name in [*names, self.subs]:
            await self._ok("DELETE", f"/{_q(name)}", params={"ignore_unavailable": "true"})
        status, answer = await self._request("DELETE", f"/_index_template/{_q(self.alias)}")
        if status >= 400 and status != 404:
            raise EngineError(status, answer)

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
        async for ok, item in self._bulk(actions):
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
        tombstone = {"id": file_id, "tombstone": True, "version": version}
        params = {"version": str(version), "version_type": "external_gte",
                  "refresh": self.refresh}  # fmt: skip
        status, answer = await self._request(
            "PUT", f"/{_q(self.alias)}/_doc/{_q(file_id)}", tombstone, params
        )
        if status == 409:
            return UpsertResult(file_id, version, "stale", "a newer version is indexed")
        if status >= 400:
            raise EngineError(status, answer)
        return UpsertResult(file_id, version, "written")

    # ----- reads -----

    async def get(self, file_id: str) -> FileRecord | None:
        status, body = await self._request("GET", f"/{_q(self.alias)}/_doc/{_q(file_id)}")
        if status == 404:
            return None
        if status >= 400:
            raise EngineError(status, body)
        source = body.get("_source") if body.get("found") else None
        if not source or source.get("tombstone") or "record" not in source:
            return None
        return FileRecord.model_validate(source["record"])

    async def _query(self, path: str, body: dict[str, Any], query: Query) -> Any:
        """A search or count; a query over the engine's clause limit is the caller's 400."""
        try:
            return await self._ok("POST", path, body)
        except EngineError as exc:
            if exc.status == 400 and "maxClauseCount" in str(exc):
                field = "data_types_all" if query.data_types_all else None
                raise InvalidInput(
                    f"more values than {self.ENGINE} can compare at once "
                    "(its indices.query.bool.max_clause_count)",
                    field=field,
                ) from exc
            raise

    async def search(self, query: Query) -> SearchPage:
        shown, total, next_token, prev_token = await self._shown(query)
        records = [FileRecord.model_validate(h["_source"]["record"]) for h in shown]
        return SearchPage(
            records=records, total=total, next_token=next_token, prev_token=prev_token
        )

    async def search_views(self, query: Query) -> ViewPage:
        shown, total, next_token, prev_token = await self._shown(query)
        views = [view_of(h["_source"]["record"]) for h in shown]
        return ViewPage(views, total, next_token=next_token, prev_token=prev_token)

    async def _shown(
        self, query: Query
    ) -> tuple[list[dict[str, Any]], int, str | None, str | None]:
        """The page's hits in query order, the total and the page's tokens."""
        body = compile_search(query)
        resp = await self._query(f"/{_q(self.alias)}/_search", body, query)
        hits = resp["hits"]["hits"]
        back = query.token_before  # read backwards from the token's row: turned round here
        more = len(hits) > query.limit
        shown = hits[: query.limit][::-1] if back else hits[: query.limit]

        def token(hit: dict[str, Any], *, before: bool = False) -> str:
            sort = hit["sort"]
            return query.make_token(list(sort[:-1]), str(sort[-1]), before=before)

        next_token = prev_token = None
        if shown:
            if more or back:  # a previous page always has its anchor row after it
                next_token = token(shown[-1])
            if (more and back) or (query.token is not None and not back):
                prev_token = token(shown[0], before=True)
        total = int(resp["hits"]["total"]["value"])
        return shown, total, next_token, prev_token

    async def count(self, query: Query) -> int:
        body = {"query": compile_query(query)}
        resp = await self._query(f"/{_q(self.alias)}/_count", body, query)
        return int(resp["count"])

    async def summarize(self, workspace: str) -> CollectionSummary:
        resp = await self._ok("POST", f"/{_q(self.alias)}/_search", es_summary_body(workspace))
        return es_summary(dict(resp))

    # ----- subscriptions: a percolator index of compiled queries -----

    async def add_subscription(self, subscription: Subscription) -> None:
        doc = {"query": compile_query(subscription.query), "sub_id": subscription.id,
               "subscription": subscription.model_dump(mode="json")}  # fmt: skip
        path = f"/{_q(self.subs)}/_doc/{_q(subscription.id)}"
        await self._ok("PUT", path, doc, {"refresh": self.subs_refresh})

    async def remove_subscription(self, subscription_id: str) -> bool:
        path = f"/{_q(self.subs)}/_doc/{_q(subscription_id)}"
        status, body = await self._request("DELETE", path, params={"refresh": self.subs_refresh})
        if status >= 400 and status != 404:
            raise EngineError(status, body)
        return bool(status < 400 and body.get("result") == "deleted")

    async def _subscriptions(self, query: dict[str, Any]) -> list[Subscription]:
        body = {"query": query, "sort": [{"sub_id": "asc"}], "size": 10_000,
                "_source": ["subscription"]}  # fmt: skip
        resp = await self._ok("POST", f"/{_q(self.subs)}/_search", body)
        return [Subscription.model_validate(h["_source"]["subscription"]) for h in _hits(resp)]

    async def list_subscriptions(self) -> list[Subscription]:
        return await self._subscriptions({"match_all": {}})

    async def match_subscriptions(self, record: FileRecord) -> list[Subscription]:
        ((_, doc, _),) = self._prepared([record], clean_records([record]))
        doc.pop("record")
        return await self._subscriptions({"percolate": {"field": "query", "document": doc}})


def _hits(resp: Any) -> list[dict[str, Any]]:
    return list(resp["hits"]["hits"])


def _error_type(body: Any) -> str | None:
    error = body.get("error") if isinstance(body, dict) else None
    return error.get("type") if isinstance(error, dict) else None


def _reason(info: dict[str, Any]) -> str:
    """A short per-item failure reason: error type and message, never the document."""
    error = info.get("error")
    if isinstance(error, dict):
        return f"{error.get('type', 'error')}: {str(error.get('reason', ''))[:300]}"
    return f"status {info.get('status')}: {str(error)[:300]}"
