"""Live updates: one bus consumer per process fans events out to bounded page queues."""

from __future__ import annotations

import json
from pathlib import Path

from composition.web.live import LiveFeed, Subscriber, message_for
from seedpipe import events
from seedpipe.bus import open_bus
from seedpipe.events import CloudEvent, file_event
from seedpipe.records import FileRecord, WorkspaceRef
from seedpipe.settings import Settings


def _settings(root: Path) -> Settings:
    return Settings.load(None, data_dir=str(root), bus={"url": "sqlite:///events.db"})


def _record(i: int) -> FileRecord:
    return FileRecord(
        id=f"f{i}",
        file_name=f"scene_{i}.tif",
        workspace=WorkspaceRef(name="raw"),
        file_path=f"scene_{i}.tif",
        meta_data={"secret_looking": "x" * 100},
    )


def _parse(message: str) -> tuple[str, dict[str, object]]:
    kind, data = message.strip().split("\n")
    return kind.removeprefix("event: "), json.loads(data.removeprefix("data: "))


async def _next(sub: Subscriber) -> str:
    for _ in range(100):
        message = await sub.next(0.1)
        if message is not None:
            return message
    raise AssertionError("no live message within 10 s")


async def test_a_page_hears_new_files_and_job_changes_published_after_it_connected(
    tmp_path: Path,
) -> None:
    settings = _settings(tmp_path)
    feed = LiveFeed(settings)
    async with open_bus(settings.bus) as bus:
        await bus.publish(
            settings.topic(events.FILES_TOPIC), file_event(events.FILE_INGESTED, _record(0), "t")
        )
        sub = feed.subscribe()
        assert sub is not None
        # The feed joins at the end of the topics: what came before is not replayed. Publish
        # until the feed has joined and passes one on.
        first = None
        for _ in range(50):
            await bus.publish(
                settings.topic(events.FILES_TOPIC),
                file_event(events.FILE_INGESTED, _record(1), "t"),
            )
            first = await sub.next(0.2)
            if first is not None:
                break
        assert first is not None
        job = CloudEvent(
            type=events.JOB_FAILED,
            source="t",
            subject="job-1",
            data={"job_type": "ndvi", "status": "failed"},
        )
        await bus.publish(settings.topic(events.JOBS_TOPIC), job)
        heard = [first]
        while not heard[-1].startswith("event: job"):
            heard.append(await _next(sub))
    await feed.close()
    assert _parse(first) == (
        "file",
        {
            "type": events.FILE_INGESTED,
            "id": "f1",
            "file_name": "scene_1.tif",
            "file_type": "SOURCE",
        },
    )
    assert all(_parse(m)[1]["id"] == "f1" for m in heard[:-1])  # never f0, from before
    assert "secret_looking" not in first  # ids and names only, never the record
    assert _parse(heard[-1]) == (
        "job",
        {"type": events.JOB_FAILED, "id": "job-1", "job_type": "ndvi", "status": "failed"},
    )


async def test_a_slow_page_loses_events_and_is_told_to_resync_without_holding_the_feed(
    tmp_path: Path,
) -> None:
    feed = LiveFeed(_settings(tmp_path))
    slow = Subscriber(size=3)
    feed.subscribers.add(slow)
    for i in range(1000):  # delivery never waits for a reader
        feed.deliver(file_event(events.FILE_PRODUCED, _record(i), "t"))
    assert slow.queue.qsize() == 3 and slow.lagged
    got = [await slow.next(0.1) for _ in range(4)]
    assert [_parse(m)[0] for m in got if m] == ["file", "file", "file", "resync"]
    assert not slow.lagged
    feed.deliver(file_event(events.FILE_PRODUCED, _record(5000), "t"))
    message = await slow.next(0.1)
    assert message is not None and _parse(message)[1]["id"] == "f5000"


def test_events_a_page_has_no_use_for_are_not_sent() -> None:
    matched = CloudEvent(type=events.SUBSCRIPTION_MATCHED, source="t", subject="s", data={})
    assert message_for(matched) is None


def test_recipe_events_and_recipe_jobs_tell_the_page_which_recipe_to_redraw() -> None:
    node = {"name": "watermark", "state": "completed", "reason": "x" * 50}
    event = CloudEvent(
        type=events.RECIPE_NODE_COMPLETED,
        source="t",
        subject="r1",
        data={"id": "r1", "recipe_type": "mark", "status": "running", "error": None, "node": node},
    )
    message = message_for(event)
    assert message is not None
    assert _parse(message) == (
        "recipe",
        {
            "type": events.RECIPE_NODE_COMPLETED,
            "id": "r1",
            "recipe_type": "mark",
            "status": "running",
            "node": {"name": "watermark", "state": "completed"},  # states, never reasons
        },
    )
    done = CloudEvent(type=events.RECIPE_COMPLETED, source="t", subject="r1", data={"id": "r1"})
    assert _parse(message_for(done) or "")[1] == {
        "type": events.RECIPE_COMPLETED,
        "id": "r1",
        "recipe_type": None,
        "status": None,
    }
    job = CloudEvent(
        type=events.JOB_STARTED,
        source="t",
        subject="j1",
        data={"job_type": "w", "status": "running", "recipe": "r1", "recipe_node": "watermark"},
    )
    assert _parse(message_for(job) or "")[1] == {
        "type": events.JOB_STARTED,
        "id": "j1",
        "job_type": "w",
        "status": "running",
        "recipe": "r1",
        "recipe_node": "watermark",
    }
