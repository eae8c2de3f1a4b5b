"""pystac-client (library and `stac-client` command) against the API on a real uvicorn."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest


def test_pystac_client_searches_by_place_time_and_collection(live_api: str) -> None:
    from pystac_client import Client

    catalog = Client.open(live_api)
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


def test_pystac_client_filters_by_type_and_lineage_with_the_query_extension(
    live_api: str,
) -> None:
    from pystac_client import Client

    catalog = Client.open(live_api)
    landsat = catalog.search(query={"seedpipe:data_types": {"eq": "landsat"}}, bbox=[0, 40, 12, 50])
    assert [i.id for i in landsat.items()] == ["paris"]
    derived = catalog.search(query=["seedpipe:ancestors=paris"], method="GET")
    items = list(derived.items())
    assert [i.id for i in items] == ["alps"]
    assert items[0].properties["seedpipe:job"] == "job-7"


def test_collection_get_items_pages_through_the_collection(live_api: str) -> None:
    from pystac_client import Client

    raw = Client.open(live_api).get_collection("raw")
    assert raw is not None
    assert sorted(i.id for i in raw.get_items()) == ["fiji", "notes", "ny", "paris"]
    assert [i.id for i in raw.get_items("paris")] == ["paris"]
    assert raw.get_item("ny") is not None and raw.get_item("alps") is None


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_search_takes_every_parameter(live_api: str, method: str) -> None:
    from pystac_client import Client

    catalog = Client.open(live_api)
    common: dict[str, Any] = {
        "collections": ["raw", "products"],
        "datetime": "2019-01-01/2021-12-31",
        "limit": 1,
        "max_items": 10,
        "method": method,
        "sortby": "-datetime",
    }
    s = catalog.search(bbox=[-80, 30, 12, 50], **common)
    assert [i.id for i in s.items()] == ["alps", "ny", "paris"]
    assert s.matched() == 3
    s = catalog.search(
        intersects={
            "type": "Polygon",
            "coordinates": [[[0, 40], [12, 40], [12, 50], [0, 50], [0, 40]]],
        },
        ids=["paris", "alps", "ny"],
        query={"seedpipe:file_type": {"eq": "SOURCE"}},
        filter="\"seedpipe:source_sensor\" = 'L8'",
        filter_lang="cql2-text",
        **common,
    )
    assert [i.id for i in s.items()] == ["paris"]
    s = catalog.search(
        filter={"op": "<", "args": [{"property": "eo:cloud_cover"}, 20]},
        filter_lang="cql2-json",
        **common,
    )
    assert [i.id for i in s.items()] == ["alps"]


def stac_client(*args: str) -> dict[str, object]:
    cli = Path(sys.executable).with_name("stac-client")
    done = subprocess.run(
        [str(cli), "search", *args], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_the_stac_client_command_searches(live_api: str) -> None:
    found = stac_client(
        live_api,
        "-c",
        "raw",
        "products",
        "--bbox",
        "-80",
        "-30",
        "180",
        "50",
        "--datetime",
        "2019-01-01/2022-01-01",
        "--query",
        "eo:cloud_cover<60",
        "--sortby=-datetime",
        "--limit",
        "1",
    )
    assert [f["id"] for f in found["features"]] == ["alps", "fiji"]  # type: ignore[attr-defined]
    matched = stac_client(live_api, "--filter", '{"op": "=", "args": [{"property": "id"}, "ny"]}')
    assert [f["id"] for f in matched["features"]] == ["ny"]  # type: ignore[attr-defined]
    get = stac_client(live_api, "--method", "GET", "--ids", "ny", "fiji", "--sortby", "id")
    assert [f["id"] for f in get["features"]] == ["fiji", "ny"]  # type: ignore[attr-defined]
