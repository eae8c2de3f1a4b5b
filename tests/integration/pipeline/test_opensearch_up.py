"""``seedpipe up`` with ``[index] url = "opensearch://…"``: dropped PNGs become products that the
HTTP API finds by place and time in a live OpenSearch index, and a saved search announces each."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from indexer.backends import open_index
from indexer.backends.base import Subscription
from seedpipe.bus import open_bus
from seedpipe.events import SUBSCRIPTIONS_TOPIC, CloudEvent
from seedpipe.query.model import Query
from tests.conftest import free_port, wait_for_port
from tests.functional.pipeline.conftest import (
    config_text,
    job_counts,
    load,
    place,
    running_pipeline,
    wait_until,
    write_png,
)

N_FILES = 6
pytestmark = pytest.mark.opensearch


async def test_up_on_opensearch_serves_products_by_place_and_time_and_matches_saved_searches(
    tmp_path: Path, opensearch_index_url: str, unique: str
) -> None:
    index_toml = f'[index]\nurl = "{opensearch_index_url}"\n[index.opensearch]\n'
    index_toml += f'index_prefix = "up-{unique}"\n'  # refresh stays the production default
    (tmp_path / "drop").mkdir()
    (tmp_path / "seedpipe.toml").write_text(config_text(tmp_path, index_toml))
    settings = load(tmp_path)
    assert settings.index.url.startswith("opensearch://")
    products = Subscription(id="products", name="products", query=Query(file_types=["PRODUCT"]))
    async with open_index(settings.index) as index:
        await index.add_subscription(products)
    port = free_port()
    try:
        async with running_pipeline(settings, api_port=port):
            for i in range(N_FILES):
                write_png(tmp_path / "drop" / f"img_{i:03d}.png", i)
            await wait_until(
                lambda: job_counts(settings)["completed"] == N_FILES or None, "every job"
            )
            assert wait_for_port(port)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                for i in range(N_FILES):
                    lon, lat, day = place(i)
                    params = {
                        "bbox": f"{lon - 0.1},{lat - 0.1},{lon + 0.1},{lat + 0.1}",
                        "datetime": f"{day}T00:01:00Z/{day}T00:02:00Z",
                        "file_type": "PRODUCT",
                    }

                    async def product(params: dict[str, str] = params) -> list[dict[str, str]]:
                        found = (await client.get("/files", params=params)).json()
                        return list(found["results"])

                    (found,) = await wait_until(product, f"product {i} searchable")
                    assert found["file_name"] == f"img_{i:03d}_watermark.png"
                    source = await client.get("/files", params={"file_name": f"img_{i:03d}.png"})
                    (src,) = source.json()["results"]
                    assert found["ancestors"] == [src["id"]]
                    assert "png" in src["data_type_tags"]  # the input sidecar's update
                stac = await client.get("/search", params={"bbox": "-180,-90,180,90", "limit": 100})
                assert stac.status_code == 200
                assert len(stac.json()["features"]) == 2 * N_FILES
        async with open_bus(settings.bus) as bus:
            matched: list[CloudEvent] = []

            async def collect(event: CloudEvent) -> None:
                matched.append(event)

            topic = settings.topic(SUBSCRIPTIONS_TOPIC)
            await bus.consume([topic], f"reader-{unique}", collect, until_caught_up=True)
        assert len(matched) == N_FILES, [e.type for e in matched]
    finally:
        async with open_index(settings.index) as index:
            await index.drop()  # type: ignore[attr-defined]
