"""``seedpipe up`` serves the catalogue and the job records over HTTP while it runs."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.conftest import free_port, wait_for_port
from tests.functional.pipeline.conftest import (
    job_counts,
    load,
    place,
    running_pipeline,
    wait_until,
    write_png,
)


async def test_up_serves_products_by_place_and_time_and_the_jobs_that_made_them(
    pipeline_root: Path,
) -> None:
    settings = load(pipeline_root)
    port = free_port()
    async with running_pipeline(settings, api_port=port):
        for i in range(2):
            write_png(pipeline_root / "drop" / f"img_{i:03d}.png", i)
        await wait_until(lambda: job_counts(settings)["completed"] == 2 or None, "two jobs")
        assert wait_for_port(port)
        lon, lat, day = place(1)
        params = {
            "bbox": f"{lon - 0.1},{lat - 0.1},{lon + 0.1},{lat + 0.1}",
            "datetime": f"{day}T00:01:00Z/{day}T00:02:00Z",
            "file_type": "PRODUCT",
        }
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:

            async def product() -> list[dict[str, object]]:
                found = (await client.get("/files", params=params)).json()
                return list(found["results"])

            (found,) = await wait_until(product, "the product to be searchable")
            assert found["file_name"] == "img_001_watermark.png"
            job = (await client.get(f"/jobs/{found['job']}")).json()
            assert job["status"] == "completed" and job["input"]["file_name"] == "img_001.png"
            listed = (await client.get("/jobs", params={"status": "completed"})).json()
            assert len(listed["results"]) == 2
