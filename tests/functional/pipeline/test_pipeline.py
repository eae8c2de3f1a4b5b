"""End to end on the embedded defaults: dropped PNGs become searchable watermarked products."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from capture.service import CaptureService
from indexer.backends import open_index
from seedpipe.bus import open_bus
from seedpipe.events import (
    FILE_INGESTED,
    FILES_TOPIC,
    JOB_COMPLETED,
    JOB_QUEUED,
    JOB_STARTED,
    JOBS_TOPIC,
    CloudEvent,
)
from seedpipe.query.model import Query, TimeInterval
from tests.functional.pipeline.conftest import (
    ingest_statuses,
    job_counts,
    load,
    place,
    running_pipeline,
    wait_until,
    write_png,
)

N_FILES = 40


@pytest.mark.slow
async def test_dropped_pngs_become_searchable_products_and_update_their_sources(
    pipeline_root: Path,
) -> None:
    settings = load(pipeline_root)
    async with running_pipeline(settings):
        for i in range(N_FILES):
            write_png(pipeline_root / "drop" / f"img_{i:03d}.png", i)
        await wait_until(
            lambda: job_counts(settings)["completed"] == N_FILES or None,
            f"{N_FILES} completed jobs",
        )
        async with open_index(settings.index) as index:

            async def indexed() -> bool:
                products = await index.count(Query(file_types=["PRODUCT"]))
                updated = await index.count(Query(file_types=["SOURCE"], data_types_all=["png"]))
                return products == N_FILES and updated == N_FILES

            await wait_until(indexed, "products and source updates indexed")
            sources = {
                r.file_name: r
                for r in (await index.search(Query(file_types=["SOURCE"], limit=1000))).records
            }
            for i in range(N_FILES):
                lon, lat, day = place(i)
                start = datetime.fromisoformat(f"{day}T00:05:00+00:00")
                found = await index.search(
                    Query(
                        bbox=(lon - 0.01, lat - 0.01, lon + 0.01, lat + 0.01),
                        datetime=TimeInterval(start=start, end=start + timedelta(seconds=1)),
                        file_types=["PRODUCT"],
                    )
                )
                names = [r.file_name for r in found.records]
                assert f"img_{i:03d}_watermark.png" in names, (i, names)
                product = next(r for r in found.records if r.file_name.startswith(f"img_{i:03d}"))
                source = sources[f"img_{i:03d}.png"]
                # Lineage: the product names its job, output and the source it came from.
                assert product.ancestors == [source.id]
                assert product.job_output == "OUTPUT_IMAGE"
                assert product.job_type is not None and product.job_type.name == "image-watermark"
                assert product.file_path.startswith(f"jobs/image-watermark/0.1.0/{day[:4]}/")
                assert product.source_started == source.data_started
                # The source record took the input sidecar: data types added, geometry, times.
                assert {"image", "png"} <= set(source.data_type_tags)
                assert source.geometry == {"type": "Point", "coordinates": [lon, lat]}
                assert source.data_started == datetime.fromisoformat(f"{day}T00:00:00+00:00")
                assert source.meta_data.get("width") == 16
                assert (settings.path("output") / product.file_path).is_file()

    # Replaying every file.ingested event creates no second job for any trigger.
    async with open_bus(settings.bus) as bus, open_index(settings.index) as index:
        replay: list[CloudEvent] = []

        async def collect(event: CloudEvent) -> None:
            if event.type == FILE_INGESTED:
                replay.append(event)

        await bus.consume(
            [settings.topic(FILES_TOPIC)], "replay-reader", collect, until_caught_up=True
        )
        assert len(replay) == N_FILES
        job_events: Counter[str] = Counter()

        async def count_job_events(event: CloudEvent) -> None:
            job_events[event.type] += 1

        await bus.consume(
            [settings.topic(JOBS_TOPIC)], "jobs-reader", count_job_events, until_caught_up=True
        )
        assert job_events == {JOB_QUEUED: N_FILES, JOB_STARTED: N_FILES, JOB_COMPLETED: N_FILES}
        capture = CaptureService(settings, bus, index)
        for event in replay:
            await capture.handle(event)
        jobs = capture.store.search(limit=1000)
        capture.store.close()
    assert len(jobs) == N_FILES
    assert all(j.status == "completed" and j.attempt == 1 for j in jobs)
    assert sorted(s for _, s in ingest_statuses(settings)) == ["INGESTED"] * N_FILES
