"""Kafka consumer groups on a real broker (tansu): one per deployment, renamed without a replay."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from seedpipe.bus.kafka.bus import KafkaBus
from tests.functional.bus.helpers import (
    PARTITIONS,
    Collector,
    bus_settings,
    event,
    make_bus,
    numbers,
)

pytestmark = pytest.mark.kafka


async def committed(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    """What ``group`` has committed on ``topic``, read without joining it."""
    probe = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await probe.start()
    try:
        found = {}
        for p in range(PARTITIONS):
            offset = await probe.committed(TopicPartition(topic, p))
            if offset is not None:
                found[p] = offset
        return found
    finally:
        await probe.stop()


def test_a_consumer_group_goes_by_the_deployment_prefix_unless_it_is_the_default() -> None:
    default = KafkaBus("kafka://127.0.0.1:9092", bus_settings("kafka://127.0.0.1:9092"))
    prod = KafkaBus(
        "kafka://127.0.0.1:9092", bus_settings("kafka://127.0.0.1:9092", topic_prefix="prod")
    )
    assert default.group_id("capture") == "capture"
    assert prod.group_id("capture") == "prod.capture"


async def test_deployments_with_their_own_prefixes_commit_under_their_own_groups(
    kafka_url: str, unique: str
) -> None:
    bootstrap = kafka_url.removeprefix("kafka://")
    seen: dict[str, list[int]] = {}
    for prefix in (f"a{unique}", f"b{unique}"):
        topic = f"{prefix}.files"
        async with make_bus(kafka_url, topic_prefix=prefix) as bus:
            await bus.publish_many(topic, [event(f"k{n}", n) for n in range(6)])
            got = Collector()
            await asyncio.wait_for(bus.consume([topic], "capture", got, until_caught_up=True), 60)
        seen[prefix] = sorted(numbers(got.events))
        mine = await committed(bootstrap, f"{prefix}.capture", topic)
        assert sum(mine.values()) == 6  # every event, under the deployment's own group
        assert await committed(bootstrap, "capture", topic) == {}  # nothing under the bare name
    assert seen == {p: list(range(6)) for p in seen}


async def test_a_group_renamed_by_its_prefix_starts_where_the_bare_name_left_off(
    kafka_url: str, unique: str
) -> None:
    prefix = f"p{unique}"
    topic = f"{prefix}.files"
    group = f"indexer{unique}"
    bootstrap = kafka_url.removeprefix("kafka://")
    # Groups used to go by their bare name whatever the prefix: the default prefix still does.
    async with make_bus(kafka_url) as old:
        await old.publish_many(topic, [event(f"k{n}", n) for n in range(5)])
        before = Collector()
        await asyncio.wait_for(old.consume([topic], group, before, until_caught_up=True), 60)
        await old.publish_many(topic, [event(f"k{n}", n) for n in range(5, 8)])
    async with make_bus(kafka_url, topic_prefix=prefix) as new:
        after = Collector()
        await asyncio.wait_for(new.consume([topic], group, after, until_caught_up=True), 60)
        again = Collector()
        await asyncio.wait_for(new.consume([topic], group, again, until_caught_up=True), 60)
    assert sorted(numbers(before.events)) == [0, 1, 2, 3, 4]
    assert sorted(numbers(after.events)) == [5, 6, 7]  # neither replayed nor skipped
    assert again.events == []  # from then on it goes by its own commits
    assert sum((await committed(bootstrap, group, topic)).values()) == 5  # left as it was
    assert sum((await committed(bootstrap, f"{prefix}.{group}", topic)).values()) == 8
