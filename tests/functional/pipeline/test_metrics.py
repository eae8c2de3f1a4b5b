"""``/metrics`` counts what a running pipeline did: files, events, lag, jobs, index writes."""

from __future__ import annotations

from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import free_port, wait_for_port
from tests.functional.pipeline.conftest import (
    job_counts,
    load,
    running_pipeline,
    wait_until,
    write_png,
)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_count_what_the_pipeline_ingested_published_consumed_ran_and_indexed(
    pipeline_root: Path,
) -> None:
    settings = load(pipeline_root)
    port = free_port()
    async with running_pipeline(settings, api_port=port):
        # (wait_for_port blocks: poll without holding up the event loop the pipeline runs in)
        await wait_until(lambda: wait_for_port(port, timeout=0.05), "the API")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as api:
            before = samples((await api.get("/metrics")).text)
            for i in range(3):
                write_png(pipeline_root / "drop" / f"m_{i}.png", i)
            (pipeline_root / "drop" / "notes.txt").write_text("no rule takes this")
            await wait_until(lambda: job_counts(settings)["completed"] == 3 or None, "3 jobs")

            async def indexed() -> bool:
                found = (await api.get("/files", params={"file_type": "PRODUCT"})).json()
                return int(found["count"]) == 3

            await wait_until(indexed, "three products in the index")

            async def deferred() -> dict | None:
                after = samples((await api.get("/metrics")).text)
                moved = value(after, "seedpipe_files_deferred_total", strike="drop")
                return (
                    after
                    if moved > value(before, "seedpipe_files_deferred_total", strike="drop")
                    else None
                )

            after = await wait_until(deferred, "the text file to be counted as deferred")

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("seedpipe_files_ingested_total", strike="drop") == 3
    assert grew("seedpipe_files_deferred_total", strike="drop") == 1
    files_topic = settings.topic("seedpipe.files")
    assert grew("seedpipe_events_published_total", topic=files_topic) >= 9  # 3 in, 3 out, 3 updates
    # The registry is the process's: other tests' groups are in it too, so count what grew.
    consumed = [
        labels
        for (name, labels), v in after.items()
        if name == "seedpipe_events_consumed_total"
        and ("topic", files_topic) in labels
        and v - before.get((name, labels), 0.0) >= 3
    ]
    assert len(consumed) >= 2, consumed  # capture's group and the indexer's
    lag = [labels for name, labels in after if name == "seedpipe_consumer_lag"]
    assert any(("topic", files_topic) in labels for labels in lag)
    assert grew("seedpipe_jobs_finished_total", job_type="image-watermark", status="completed") == 3
    assert (
        grew("seedpipe_job_duration_seconds_count", job_type="image-watermark", status="completed")
        == 3
    )
    assert value(after, "seedpipe_jobs", job_type="image-watermark", status="completed") == 3
    assert grew("seedpipe_index_records_total", status="written") >= 9
    assert grew("seedpipe_index_batch_seconds_count") >= 1
