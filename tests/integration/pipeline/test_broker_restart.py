"""The pipeline on Kafka carries on when the broker restarts mid-run (tansu keeps its log in S3)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from indexer.backends import open_index
from seedpipe.query.model import Query
from seedpipe.settings import Settings
from tests.conftest import Tansu
from tests.functional.pipeline.conftest import (
    config_text,
    job_counts,
    running_pipeline,
    wait_until,
    write_png,
)

N_FILES = 16


@pytest.mark.kafka
@pytest.mark.s3
@pytest.mark.slow
async def test_every_file_is_processed_once_across_a_broker_restart(
    tmp_path: Path, durable_broker: Tansu
) -> None:
    (tmp_path / "drop").mkdir()
    (tmp_path / "seedpipe.toml").write_text(
        config_text(tmp_path, bus=f"kafka://{durable_broker.bootstrap}")
        + "\n[bus.kafka]\npartitions = 2\n"
    )
    settings = Settings.load(tmp_path / "seedpipe.toml")
    half = N_FILES // 2
    async with running_pipeline(settings):
        for i in range(half):
            write_png(tmp_path / "drop" / f"img_{i:03d}.png", i)
        await wait_until(lambda: job_counts(settings)["completed"] >= 2 or None, "first jobs")
        await asyncio.to_thread(durable_broker.stop)
        for i in range(half, N_FILES):  # files keep arriving while the broker is down
            write_png(tmp_path / "drop" / f"img_{i:03d}.png", i)
        await asyncio.to_thread(durable_broker.start)
        await wait_until(
            lambda: job_counts(settings)["completed"] == N_FILES or None,
            "every job after the restart",
            timeout=150,
        )
        async with open_index(settings.index) as index:

            async def settled() -> bool:
                products = await index.count(Query(file_types=["PRODUCT"]))
                sources = await index.count(Query(file_types=["SOURCE"], data_types_all=["png"]))
                return (products, sources) == (N_FILES, N_FILES)

            await wait_until(settled, "the index to hold every product and source", timeout=150)
    assert job_counts(settings) == {"queued": 0, "running": 0, "completed": N_FILES, "failed": 0}
