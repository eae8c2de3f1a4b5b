"""A small catalogue in a real index (SQLite, and the session's OpenSearch node), served by the
app through FastAPI's TestClient."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from composition.http import create_app
from indexer.backends import open_index
from seedpipe.records import FileRecord, JobTypeRef, WorkspaceRef
from seedpipe.settings import Settings


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def catalogue() -> list[FileRecord]:
    """Five records that differ in every filterable field."""

    def rec(**kw: Any) -> FileRecord:
        kw.setdefault("workspace", WorkspaceRef(name="raw"))
        kw.setdefault("file_path", kw["file_name"])
        return FileRecord(**kw)

    return [
        rec(
            id="paris",
            file_name="paris_l8.tif",
            media_type="image/tiff",
            data_type_tags=["landsat", "ortho"],
            data_started=t("2020-01-01T00:00:00"),
            data_ended=t("2020-01-02T00:00:00"),
            created=t("2020-01-03T00:00:00"),
            source_sensor_class="optical",
            source_sensor="L8",
            geometry={"type": "Point", "coordinates": [2.35, 48.85]},
            countries=["FRA"],
            url="https://example.invalid/raw/paris_l8.tif",
        ),
        rec(
            id="alps",
            file_name="alps_ndvi.png",
            workspace=WorkspaceRef(name="products"),
            file_type="PRODUCT",
            media_type="image/png",
            data_type_tags=["sentinel", "ndvi"],
            data_started=t("2021-06-01T12:00:00"),
            created=t("2021-06-02T00:00:00"),
            source_sensor="S2",
            job_type=JobTypeRef(name="ndvi", version="1.0.0"),
            job_output="ndvi_out",
            job="job-7",
            recipe="recipe-1",
            batch="batch-1",
            ancestors=["paris"],
            geometry={
                "type": "Polygon",
                "coordinates": [[[6, 46], [10, 46], [10, 47.5], [6, 47.5], [6, 46]]],
            },
            countries=["CHE", "ITA"],
            meta_data={"cloud": 12, "eo:cloud_cover": 12, "platform": {"name": "S2A"}},
        ),
        rec(
            id="fiji",
            file_name="fiji_l8.tif",
            media_type="image/tiff",
            data_type_tags=["landsat"],
            data_started=t("2019-03-01T00:00:00"),
            data_ended=t("2019-03-31T00:00:00"),
            created=t("2019-04-01T00:00:00"),
            source_sensor="L8",
            geometry={
                "type": "Polygon",
                "coordinates": [[[178, -18], [-178, -18], [-178, -16], [178, -16], [178, -18]]],
            },
            countries=["FJI"],
            meta_data={"cloud": 55, "eo:cloud_cover": 55.5},
        ),
        rec(
            id="notes",
            file_name="notes.txt",
            media_type="text/plain",
            created=t("2022-01-01T00:00:00"),
        ),
        rec(
            id="ny",
            file_name="ny_l8.tif",
            media_type="image/tiff",
            data_type_tags=["landsat"],
            data_started=t("2020-07-04T00:00:00"),
            data_ended=t("2020-07-04T00:00:00"),
            created=t("2020-07-05T00:00:00"),
            source_sensor="L8",
            geometry={"type": "Point", "coordinates": [-74.0, 40.7]},
            countries=["USA"],
        ),
    ]


def api_settings(root: Path, index: dict[str, Any] | None = None) -> Settings:
    return Settings.load(
        None,
        data_dir=str(root),
        index=index or {"url": "sqlite:///index.db"},
        bus={"url": "sqlite:///events.db"},
        workspaces={"raw": {"url": str(root / "raw")}, "products": {"url": str(root / "prod")}},
    )


async def _seed(settings: Settings) -> None:
    async with open_index(settings.index) as index:
        results = await index.upsert(catalogue())
        assert all(r.status == "written" and not r.geometry_error for r in results), results


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("opensearch", marks=pytest.mark.opensearch)]
)
def settings(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """One seeded catalogue per module and backend (a fresh index prefix on OpenSearch)."""
    index = None
    if request.param == "opensearch":
        url = "opensearch://" + request.getfixturevalue("opensearch_url").split("://", 1)[1]
        prefix = f"api-{uuid.uuid4().hex[:10]}"
        index = {"url": url, "opensearch": {"index_prefix": prefix, "refresh": "true"}}
    s = api_settings(tmp_path_factory.mktemp("api"), index)
    asyncio.run(_seed(s))
    return s


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app in process over ASGI (no server, no mocks: the real app and the real index)."""
    async with open_index(settings.index) as index:
        app = create_app(settings, index=index)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


def serve_live(settings: Settings) -> Iterator[str]:
    """The app under a real uvicorn on a loopback port (its own index, opened by lifespan)."""
    import threading

    import uvicorn

    from tests.conftest import free_port, wait_for_port

    port = free_port()
    from indexer.api.http import MAX_REQUEST_HEAD

    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=port,
        log_config=None,
        lifespan="on",
        h11_max_incomplete_event_size=MAX_REQUEST_HEAD,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    assert wait_for_port(port), "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def live_api(settings: Settings) -> Iterator[str]:
    """The catalogue served over HTTP, for clients that need a URL (shared by a module)."""
    yield from serve_live(settings)


def ids(response: Any) -> list[str]:
    body = response.json()
    rows = body["results"] if "results" in body else body["features"]
    return sorted(r["id"] for r in rows)
