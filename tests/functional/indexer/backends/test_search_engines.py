"""What only search engines have: an index made by an older seedpipe gains the fields this one
writes; ``drop`` names every index it deletes (Elasticsearch 8+ and the test node refuse
wildcard deletes); a query over the engine's clause limit is the caller's 400.

Runs on the session's OpenSearch node, and on Elasticsearch when ELASTICSEARCH_URL is set.
"""

from __future__ import annotations

from typing import Any

import pytest

from indexer.backends.elastic.engine import SearchEngineIndex
from indexer.backends.elastic.mapping import SETTINGS
from seedpipe.errors import InvalidInput
from seedpipe.query.model import Query
from seedpipe.records import FileRecord
from seedpipe.settings import ElasticsearchSettings, IndexSettings
from tests.functional.indexer.backends.conftest import ELASTICSEARCH_URL

LINEAGE = ("job", "recipe", "recipe_node", "batch", "ancestors")
ENGINES = [
    pytest.param("opensearch", id="opensearch", marks=[pytest.mark.opensearch]),
    pytest.param(
        "elasticsearch",
        id="elasticsearch",
        marks=[
            pytest.mark.elasticsearch,
            pytest.mark.skipif(not ELASTICSEARCH_URL, reason="ELASTICSEARCH_URL is not set"),
        ],
    ),
]


def older(mapping: dict[str, Any]) -> dict[str, Any]:
    props = {k: v for k, v in mapping["properties"].items() if k not in LINEAGE}
    return {**mapping, "properties": props}


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest, unique: str) -> SearchEngineIndex:
    """An index object on a fresh prefix, not yet opened."""
    section = ElasticsearchSettings(index_prefix=f"seedpipe-test-{unique}")
    if request.param == "opensearch":
        from indexer.backends.elastic.opensearch import OpenSearchIndex

        url = request.getfixturevalue("opensearch_index_url")
        return OpenSearchIndex(url, IndexSettings(url=url, opensearch=section), refresh="true")
    from indexer.backends.elastic.elasticsearch import ElasticsearchIndex

    settings = IndexSettings(url=ELASTICSEARCH_URL, elasticsearch=section)
    return ElasticsearchIndex(ELASTICSEARCH_URL, settings, refresh="true")


async def test_an_index_without_the_lineage_fields_gains_them_on_open(
    engine: SearchEngineIndex,
) -> None:
    index = engine
    try:
        await index._ok("PUT", f"/{index.alias}-000001", {
            "settings": SETTINGS, "mappings": older(index.files_mapping),
            "aliases": {index.alias: {"is_write_index": True}},
        })  # fmt: skip
        await index._ok("PUT", f"/{index.subs}", {
            "settings": SETTINGS, "mappings": older(index.subscriptions_mapping),
        })  # fmt: skip
        async with index:
            record = FileRecord(
                id="p", file_name="p.tif", workspace={"name": "w"}, file_path="p.tif",
                job="j1", ancestors=["src"],
            )  # fmt: skip
            [result] = await index.upsert([record])
            assert result.status == "written", result
            page = await index.search(Query(derived_from=["src"], jobs=["j1"]))
            assert [r.id for r in page.records] == ["p"]
    finally:
        await index.drop()
        await index.close()


async def test_drop_deletes_every_index_of_its_prefix_by_name(engine: SearchEngineIndex) -> None:
    index = engine
    async with index:
        second = f"{index.alias}-000002"  # a rollover's index, behind the same alias
        await index._ok("PUT", f"/{second}", {"aliases": {index.alias: {}}})
        await index.drop()
        for name in (f"{index.alias}-000001", second, index.subs):
            status, _ = await index._request("HEAD", f"/{name}")
            assert status == 404, name
        status, _ = await index._request("GET", f"/_index_template/{index.alias}")
        assert status == 404


async def test_a_query_over_the_engines_clause_limit_is_refused_naming_the_parameter(
    engine: SearchEngineIndex,
) -> None:
    limit = "indices.query.bool.max_clause_count"
    index = engine
    async with index:
        try:
            await index._ok("PUT", "/_cluster/settings", {"transient": {limit: 1024}})
            q = Query(data_types_all=[f"t{i}" for i in range(2000)])
            with pytest.raises(InvalidInput) as err:
                await index.search(q)
            assert err.value.field == "data_types_all"
            with pytest.raises(InvalidInput):
                await index.count(q)
        finally:
            await index._ok("PUT", "/_cluster/settings", {"transient": {limit: None}})
            await index.drop()
