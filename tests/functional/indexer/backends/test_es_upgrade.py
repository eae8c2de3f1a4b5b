"""An Elasticsearch index made by an older seedpipe gains the fields this one writes.

Runs only against a real server (ELASTICSEARCH_URL); nothing here stands in for one.
"""

from __future__ import annotations

import pytest

from indexer.backends.es_mapping import FILES_MAPPING, SETTINGS, SUBSCRIPTIONS_MAPPING
from seedpipe.query.model import Query
from seedpipe.records import FileRecord
from seedpipe.settings import ElasticsearchSettings, IndexSettings
from tests.functional.indexer.backends.conftest import ELASTICSEARCH_URL

pytestmark = [
    pytest.mark.elasticsearch,
    pytest.mark.skipif(
        not ELASTICSEARCH_URL,
        reason="ELASTICSEARCH_URL is not set: no Elasticsearch server on this machine",
    ),
]
LINEAGE = ("job", "recipe", "recipe_node", "batch", "ancestors")


def older(mapping: dict) -> dict:
    props = {k: v for k, v in mapping["properties"].items() if k not in LINEAGE}
    return {**mapping, "properties": props}


async def test_an_index_without_the_lineage_fields_gains_them_on_open(unique: str) -> None:
    from indexer.backends.elasticsearch import ElasticsearchIndex

    settings = IndexSettings(
        url=ELASTICSEARCH_URL,
        elasticsearch=ElasticsearchSettings(index_prefix=f"seedpipe-test-{unique}"),
    )
    index = ElasticsearchIndex(ELASTICSEARCH_URL, settings, refresh="wait_for")
    es = index.client
    try:
        await es.indices.create(
            index=f"{index.alias}-000001",
            settings=SETTINGS,
            mappings=older(FILES_MAPPING),
            aliases={index.alias: {"is_write_index": True}},
        )
        await es.indices.create(
            index=index.subs, settings=SETTINGS, mappings=older(SUBSCRIPTIONS_MAPPING)
        )
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
