"""The two search-engine dialects share one logic and differ only where the engines do."""

from __future__ import annotations

import pytest

from indexer.backends import BACKENDS
from indexer.backends.elastic.elasticsearch import ElasticsearchIndex
from indexer.backends.elastic.opensearch import OpenSearchIndex, client_url
from seedpipe.errors import CatalogError
from seedpipe.settings import ElasticsearchSettings, IndexSettings


@pytest.mark.parametrize(
    ("url", "cls"),
    [
        ("opensearch://h:9200", OpenSearchIndex),
        ("opensearch+https://h:9200", OpenSearchIndex),
        ("elasticsearch://h:9200", ElasticsearchIndex),
        ("https://h:9200", ElasticsearchIndex),
    ],
)
def test_each_scheme_chooses_its_engine(url: str, cls: type) -> None:
    assert BACKENDS.resolve(url) is cls


def test_opensearch_urls_become_http_urls_and_refuse_credentials() -> None:
    assert client_url("opensearch://os:9200") == "http://os:9200"
    assert client_url("opensearch+https://os:9200") == "https://os:9200"
    with pytest.raises(CatalogError) as err:
        client_url("opensearch+https://admin:hunter2@os:9200")
    assert "hunter2" not in str(err.value) and "index.opensearch" in str(err.value)


def test_meta_data_is_flattened_on_elasticsearch_and_flat_object_on_opensearch() -> None:
    es = ElasticsearchIndex("elasticsearch://h:9")
    os_ = OpenSearchIndex("opensearch://h:9")
    assert es.files_mapping["properties"]["meta_data"]["type"] == "flattened"
    assert os_.files_mapping["properties"]["meta_data"] == {"type": "flat_object"}
    assert os_.subscriptions_mapping["properties"]["meta_data"] == {"type": "flat_object"}
    rest = {k: v for k, v in es.files_mapping["properties"].items() if k != "meta_data"}
    assert rest == {k: v for k, v in os_.files_mapping["properties"].items() if k != "meta_data"}


def test_opensearch_takes_its_own_settings_section() -> None:
    settings = IndexSettings(
        url="opensearch://h:9", opensearch=ElasticsearchSettings(index_prefix="cat")
    )
    index = OpenSearchIndex(settings.url, settings)
    assert (index.alias, index.subs) == ("cat-files", "cat-subscriptions")


def test_an_api_key_for_opensearch_is_refused_naming_the_setting() -> None:
    settings = IndexSettings(
        url="opensearch://h:9", opensearch=ElasticsearchSettings(api_key="k-secret")
    )
    with pytest.raises(CatalogError) as err:
        _ = OpenSearchIndex(settings.url, settings).client
    assert "index.opensearch.api_key" in str(err.value) and "k-secret" not in str(err.value)
