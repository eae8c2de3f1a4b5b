"""The Kafka bus writes the CloudEvents Kafka binding: structured mode, key = entity id."""

from __future__ import annotations

import pytest
from aiokafka import AIOKafkaConsumer

from seedpipe.bus.source import CLOUDEVENTS_CONTENT_TYPE
from seedpipe.events import CloudEvent
from tests.functional.bus.helpers import event, make_bus

pytestmark = pytest.mark.kafka


async def test_a_published_event_is_a_keyed_structured_cloudevent_record(kafka_url, unique):
    topic = f"binding-{unique}"
    sent = event("file-42", 1)
    async with make_bus(kafka_url, kafka={"partitions": 3}) as bus:
        await bus.publish(topic, sent)
        assert await bus.producer().partitions_for(topic) == {0, 1, 2}  # type: ignore[attr-defined]
    reader = AIOKafkaConsumer(
        topic, bootstrap_servers=kafka_url.removeprefix("kafka://"), auto_offset_reset="earliest"
    )
    await reader.start()
    try:
        record = await reader.getone()
    finally:
        await reader.stop()
    assert record.key == b"file-42"
    assert dict(record.headers)["content-type"] == CLOUDEVENTS_CONTENT_TYPE.encode()
    assert CloudEvent.from_bytes(record.value) == sent
