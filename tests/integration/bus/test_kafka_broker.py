"""Kafka bus against a tansu broker that keeps its log in S3 (moto) and is restarted mid-test."""

from __future__ import annotations

import asyncio

import pytest

from tests.functional.bus.helpers import Collector, event, make_bus, numbers

pytestmark = [pytest.mark.kafka, pytest.mark.s3, pytest.mark.slow]


async def test_a_restarted_consumer_resumes_from_its_offset_after_the_broker_restarts(
    durable_broker, unique
):
    url = f"kafka://{durable_broker.bootstrap}"
    topic = f"restart-{unique}"
    async with make_bus(url) as bus:
        await bus.publish_many(topic, [event("k", n) for n in range(5)])
        before = Collector()
        await asyncio.wait_for(bus.consume([topic], "g", before, until_caught_up=True), 60)
    await asyncio.to_thread(durable_broker.stop)
    await asyncio.to_thread(durable_broker.start)
    async with make_bus(url) as bus:
        await bus.publish_many(topic, [event("k", n) for n in range(5, 8)])
        after = Collector()
        await asyncio.wait_for(bus.consume([topic], "g", after, until_caught_up=True), 60)
    assert numbers(before.events) == [0, 1, 2, 3, 4]
    assert numbers(after.events) == [5, 6, 7]


async def test_a_running_consumer_and_producer_carry_on_after_the_broker_restarts(
    durable_broker, unique
):
    url = f"kafka://{durable_broker.bootstrap}"
    topic = f"live-{unique}"
    got = Collector()
    stop = asyncio.Event()
    async with make_bus(url) as bus:
        task = asyncio.create_task(bus.consume([topic], "live", got, stop=stop))
        try:
            await bus.publish(topic, event("k", 0))
            await got.wait_for(1, timeout=60)
            await asyncio.to_thread(durable_broker.stop)
            await asyncio.to_thread(durable_broker.start)
            await asyncio.wait_for(bus.publish(topic, event("k", 1)), 60)
            await got.wait_for(2, timeout=60)
        finally:
            stop.set()
            await asyncio.wait_for(task, 60)
    # At least once: a redelivery after the restart is allowed, a loss or reordering is not.
    assert numbers(got.events)[0] == 0
    assert sorted(set(numbers(got.events))) == [0, 1]
    assert numbers(got.events)[-1] == 1
