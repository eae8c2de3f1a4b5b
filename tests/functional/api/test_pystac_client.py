"""pystac-client searches the API served by a real uvicorn on a loopback port."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from composition.http import create_app
from seedpipe.settings import Settings
from tests.conftest import free_port, wait_for_port


@pytest.fixture
def live_url(settings: Settings) -> Iterator[str]:
    import uvicorn

    port = free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_config=None, lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    assert wait_for_port(port), "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_pystac_client_searches_by_place_time_and_collection(live_url: str) -> None:
    from pystac_client import Client

    catalog = Client.open(live_url)
    assert {c.id for c in catalog.get_collections()} == {"raw", "products"}
    search = catalog.search(bbox=[0, 40, 12, 50], datetime="2019-06-01/2022-01-01")
    assert sorted(i.id for i in search.items()) == ["alps", "paris"]
    wrapped = catalog.search(bbox=[179, -20, -179, -15], collections=["raw"])
    assert [i.id for i in wrapped.items()] == ["fiji"]
    paged = catalog.search(collections=["raw"], limit=1, method="GET")
    assert sorted(i.id for i in paged.items()) == ["fiji", "notes", "ny", "paris"]
    posted = catalog.search(max_items=3, limit=1, method="POST")
    items = list(posted.items())
    assert len(items) == 3 and len({i.id for i in items}) == 3
    assert items[0].assets["data"].media_type


def test_pystac_client_filters_by_type_and_lineage_with_the_query_extension(live_url: str) -> None:
    from pystac_client import Client

    catalog = Client.open(live_url)
    landsat = catalog.search(query={"seedpipe:data_types": {"eq": "landsat"}}, bbox=[0, 40, 12, 50])
    assert [i.id for i in landsat.items()] == ["paris"]
    derived = catalog.search(query=["seedpipe:ancestors=paris"], method="GET")
    items = list(derived.items())
    assert [i.id for i in items] == ["alps"]
    assert items[0].properties["seedpipe:job"] == "job-7"
