"""Downloads: /files/{id}/content streams local files (Range, Content-Disposition), redirects to
a presigned URL for S3 (on a real moto server); asset hrefs and record urls point there."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from composition.http import create_app
from indexer.backends import open_index
from seedpipe.records import FileRecord, WorkspaceRef
from seedpipe.settings import Settings
from seedpipe.workspaces import open_workspace

BODY = bytes(range(256)) * 40  # 10 KiB


def record(file_id: str, workspace: str, path: str, **kw: Any) -> FileRecord:
    return FileRecord(
        id=file_id,
        file_name=Path(path).name,
        workspace=WorkspaceRef(name=workspace),
        file_path=path,
        file_size=len(BODY),
        **kw,
    )


async def serve(settings: Settings, records: list[FileRecord]) -> AsyncIterator[httpx.AsyncClient]:
    async with open_index(settings.index) as index:
        await index.upsert(records)
        app = create_app(settings, index=index)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


@pytest.fixture
async def local(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    (tmp_path / "raw" / "in").mkdir(parents=True)
    (tmp_path / "raw" / "in" / "scene 1.tif").write_bytes(BODY)
    (tmp_path / "pub").mkdir()
    settings = Settings.load(
        None,
        data_dir=str(tmp_path),
        index={"url": "sqlite:///index.db"},
        workspaces={
            "raw": {"url": str(tmp_path / "raw")},
            "pub": {"url": str(tmp_path / "pub"), "base_url": "https://cdn.example/pub"},
        },
    )
    records = [
        record("scene", "raw", "in/scene 1.tif", media_type="image/tiff", url="file:///x"),
        record("gone", "raw", "in/missing.tif"),
        record("public", "pub", "p.png", url="https://cdn.example/pub/p.png"),
        record("meta-url", "raw", "in/scene 1.tif", meta_data={"url": "https://elsewhere.example"}),
    ]
    async for c in serve(settings, records):
        yield c


async def test_content_is_streamed_with_its_media_type_and_name(
    local: httpx.AsyncClient,
) -> None:
    r = await local.get("/files/scene/content")
    assert r.status_code == 200 and r.content == BODY
    assert r.headers["content-type"] == "image/tiff"
    assert r.headers["content-disposition"].startswith("attachment;")
    assert "scene%201.tif" in r.headers["content-disposition"]
    assert r.headers["accept-ranges"] == "bytes"


async def test_a_range_request_gets_those_bytes(local: httpx.AsyncClient) -> None:
    r = await local.get("/files/scene/content", headers={"Range": "bytes=10-19"})
    assert r.status_code == 206 and r.content == BODY[10:20]
    assert r.headers["content-range"] == f"bytes 10-19/{len(BODY)}"
    tail = await local.get("/files/scene/content", headers={"Range": "bytes=-5"})
    assert tail.content == BODY[-5:]
    out = await local.get("/files/scene/content", headers={"Range": "bytes=99999-"})
    assert out.status_code == 416


async def test_missing_records_and_missing_content_are_404s(local: httpx.AsyncClient) -> None:
    assert (await local.get("/files/nope/content")).status_code == 404
    r = await local.get("/files/gone/content")
    assert r.status_code == 404 and "not in its workspace" in r.json()["detail"]


async def test_record_urls_and_asset_hrefs_point_at_the_content_route(
    local: httpx.AsyncClient,
) -> None:
    content = "http://testserver/files/scene/content"
    assert (await local.get("/files/scene")).json()["url"] == content
    page = (await local.get("/files", params={"page_size": 10})).json()["results"]
    urls = {r["id"]: r["url"] for r in page}
    assert urls == {
        "scene": content,
        "gone": "http://testserver/files/gone/content",
        "public": "https://cdn.example/pub/p.png",  # a public base_url is kept
        "meta-url": "http://testserver/files/meta-url/content",
    }
    assert {r["id"]: r["meta_data"] for r in page}["meta-url"] == {
        "url": "https://elsewhere.example"
    }
    item = (await local.get("/collections/raw/items/scene")).json()
    assert item["assets"]["data"]["href"] == content
    public = (await local.get("/collections/pub/items/public")).json()
    assert public["assets"]["data"]["href"] == "https://cdn.example/pub/p.png"


@pytest.mark.s3
async def test_an_s3_workspace_redirects_to_a_presigned_url(
    tmp_path: Path, moto_endpoint: str, s3_bucket: str
) -> None:
    settings = Settings.load(
        None,
        data_dir=str(tmp_path),
        index={"url": "sqlite:///index.db"},
        workspaces={
            "s3": {
                "url": f"s3://{s3_bucket}/prefix",
                "endpoint_url": moto_endpoint,
                "region": "us-east-1",
            }
        },
    )
    open_workspace("s3", settings.workspaces["s3"]).put_bytes(BODY, "a/b.bin")
    records = [record("obj", "s3", "a/b.bin"), record("absent", "s3", "a/none.bin")]
    async for c in serve(settings, records):
        r = await c.get("/files/obj/content")
        assert r.status_code == 307
        location = r.headers["location"]
        assert location.startswith(f"{moto_endpoint}/{s3_bucket}/prefix/a/b.bin?")
        assert "Signature" in location or "X-Amz-Signature" in location
        fetched = httpx.get(location)
        assert fetched.status_code == 200 and fetched.content == BODY
        assert (await c.get("/files/absent/content")).status_code == 404
        page = (await c.get("/files")).json()["results"]
        assert {r["url"] for r in page} == {
            "http://testserver/files/obj/content",
            "http://testserver/files/absent/content",
        }
