"""End to end on Kafka (tansu) and S3 (moto server) with the SQLite index."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from indexer.backends import open_index
from seedpipe.query.model import Query
from seedpipe.settings import Settings
from tests.functional.pipeline.conftest import (
    EXAMPLE,
    job_counts,
    running_pipeline,
    wait_until,
    write_png,
)

N_FILES = 10


@pytest.mark.kafka
@pytest.mark.s3
@pytest.mark.slow
async def test_pngs_dropped_on_kafka_and_s3_become_searchable_products(
    tmp_path: Path, kafka_url: str, moto_endpoint: str, s3_bucket: str, unique: str
) -> None:
    (tmp_path / "drop").mkdir()
    (tmp_path / "seedpipe.toml").write_text(
        f"""
data_dir = "data"
[bus]
url = "{kafka_url}"
topic_prefix = "p{unique}"
[bus.kafka]
partitions = 2
[workspaces.input]
url = "s3://{s3_bucket}/input"
endpoint_url = "{moto_endpoint}"
region = "us-east-1"
[workspaces.output]
url = "s3://{s3_bucket}/output"
endpoint_url = "{moto_endpoint}"
region = "us-east-1"
[[strikes]]
name = "drop"
drop = "drop"
workspace = "input"
settle_s = 0.2
[[strikes.rules]]
filename_regex = '(?i)\\.png$'
data_types = ["image"]
[[job_types]]
name = "image-watermark"
manifest = "{EXAMPLE / "seed.manifest.json"}"
entrypoint = "python {EXAMPLE / "watermark.py"}"
output_workspace = "output"
[[triggers]]
name = "watermark-png"
job_type = "image-watermark"
input = "INPUT_IMAGE"
[capture]
cpus = 2
"""
    )
    settings = Settings.load(tmp_path / "seedpipe.toml")
    async with running_pipeline(settings):
        for i in range(N_FILES):
            write_png(tmp_path / "drop" / f"img_{i:03d}.png", i)
        await wait_until(
            lambda: job_counts(settings)["completed"] == N_FILES or None, "completed jobs"
        )
        async with open_index(settings.index) as index:

            async def products() -> list[str]:
                page = await index.search(Query(file_types=["PRODUCT"], limit=100))
                updated = await index.count(Query(file_types=["SOURCE"], data_types_all=["png"]))
                return [r.file_path for r in page.records] if updated == N_FILES else []

            paths = await wait_until(
                lambda: _when_len(products(), N_FILES), "products and source updates indexed"
            )
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    listed = s3.list_objects_v2(Bucket=s3_bucket, Prefix="output/jobs/")
    keys = {o["Key"].removeprefix("output/") for o in listed.get("Contents", [])}
    assert set(paths) <= keys and len(paths) == N_FILES
    assert job_counts(settings) == {"queued": 0, "running": 0, "completed": N_FILES, "failed": 0}


async def _when_len(pending: object, n: int) -> list[str] | None:
    got: list[str] = await pending  # type: ignore[misc]
    return got if len(got) == n else None
