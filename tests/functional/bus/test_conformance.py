"""One conformance suite for every event bus: the SQLite log and Kafka (a real tansu broker)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import defaultdict
from pathlib import Path

import pytest

from seedpipe.bus.base import EventBus
from seedpipe.bus.deadletter import DeadLetter
from seedpipe.errors import EventTooLarge
from seedpipe.events import CloudEvent
from tests.functional.bus.helpers import Collector, event, make_bus, numbers

BACKENDS = ["sqlite_bus_url", pytest.param("kafka_bus_url", marks=pytest.mark.kafka)]


@pytest.fixture
def sqlite_bus_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'events.db'}"


@pytest.fixture
def kafka_bus_url(kafka_url: str) -> str:
    return kafka_url


@pytest.fixture(params=BACKENDS)
def bus_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(request.param))


@pytest.fixture
async def bus(bus_url: str):
    async with make_bus(bus_url) as opened:
        yield opened


@pytest.fixture
def topic(unique: str) -> str:
    return f"conf-{unique}"


async def drain(bus: EventBus, topic: str, group: str, handler=None) -> Collector:
    """Consume ``topic`` as ``group`` until it has handled what is there now."""
    collector = Collector()

    async def both(e: CloudEvent) -> None:
        if handler is not None:
            await handler(e)
        await collector(e)

    await asyncio.wait_for(bus.consume([topic], group, both, until_caught_up=True), 60)
    return collector


async def test_events_with_the_same_key_arrive_in_publish_order(bus, topic):
    sent = [event(f"file-{i % 7}", i) for i in range(140)]
    await bus.publish_many(topic, sent[:70])
    for e in sent[70:]:
        await bus.publish(topic, e)
    got = await drain(bus, topic, "order")
    assert sorted(numbers(got.events)) == list(range(140))
    per_key: dict[str, list[int]] = defaultdict(list)
    for e in got.events:
        per_key[e.key].append(e.data["n"])
    for key, ns in per_key.items():
        assert ns == sorted(ns), key


async def test_an_event_over_the_size_limit_is_refused_when_published_and_nothing_of_its_batch(
    bus, topic
):
    big = event("big", 1, blob="x" * 5000)  # over the 4096-byte max_event_bytes of the tests
    with pytest.raises(EventTooLarge) as err:
        await bus.publish_many(topic, [event("small", 0), big])
    assert err.value.event is big and err.value.limit == 4096 and err.value.size > 4096
    with pytest.raises(EventTooLarge):
        await bus.publish(topic, big)
    await bus.publish(topic, event("after", 2))
    got = await drain(bus, topic, "sizes")
    assert numbers(got.events) == [2]
    assert await bus.dead_letters(topic) == []


async def test_a_handler_that_fails_twice_is_retried_until_it_succeeds(bus, topic):
    await bus.publish_many(topic, [event("k", n) for n in range(3)])
    calls: dict[int, int] = defaultdict(int)

    async def flaky(e: CloudEvent) -> None:
        calls[e.data["n"]] += 1
        if e.data["n"] == 1 and calls[1] < 3:
            raise RuntimeError("transient")

    got = await drain(bus, topic, "retry", flaky)
    assert numbers(got.events) == [0, 1, 2]
    assert calls == {0: 1, 1: 3, 2: 1}
    assert await bus.dead_letters(topic) == []


async def test_an_event_that_keeps_failing_goes_to_the_dlq_and_the_partition_moves_on(bus, topic):
    await bus.publish_many(topic, [event("same-key", n) for n in range(4)])
    tries: dict[int, int] = defaultdict(int)

    async def rejects_two(e: CloudEvent) -> None:
        tries[e.data["n"]] += 1
        if e.data["n"] == 2:
            raise ValueError("cannot handle number two")

    got = await drain(bus, topic, "dlq", rejects_two)
    assert numbers(got.events) == [0, 1, 3]
    assert tries[2] == bus.settings.max_attempts
    [letter] = await bus.dead_letters(topic)
    assert letter.stage == "handler"
    assert letter.attempts == bus.settings.max_attempts
    assert letter.group == "dlq" and letter.topic == topic
    assert "ValueError: cannot handle number two" in letter.reason
    assert CloudEvent.from_bytes(letter.original).data["n"] == 2
    assert letter.key == b"same-key"


BAD_PAYLOADS = {
    "not JSON": b'{"specversion": "1.0", "type": ',
    "not UTF-8": b"\xff\xfe not utf-8",
    "unknown event type": json.dumps(
        {"specversion": "1.0", "source": "x", "type": "no.such.type"}
    ).encode(),
    "over the 4096 limit": b"[" + b"1," * 3000 + b"1]",
    "must be a JSON object": b"[1, 2]",
}


async def test_payloads_that_cannot_be_parsed_go_to_the_dlq_with_a_reason_without_blocking(
    bus, topic
):
    for n, payload in enumerate(BAD_PAYLOADS.values()):
        await bus.publish(topic, event("k", n))
        await bus._publish_raw(topic, [(b"k", payload)], "application/octet-stream")
    await bus.publish(topic, event("k", len(BAD_PAYLOADS)))
    got = await drain(bus, topic, "bad-input")
    assert numbers(got.events) == list(range(len(BAD_PAYLOADS) + 1))
    letters = await bus.dead_letters(topic)
    assert len(letters) == len(BAD_PAYLOADS)
    for letter, (reason, payload) in zip(letters, BAD_PAYLOADS.items(), strict=True):
        assert letter.stage == "parse" and letter.attempts == 0
        assert reason in letter.reason
        assert letter.original_size == len(payload)
        assert letter.original == payload[: bus.settings.max_event_bytes]
        assert letter.truncated == (len(payload) > bus.settings.max_event_bytes)


async def test_a_handler_crash_redelivers_the_event_in_hand_and_nothing_handled_before(bus, topic):
    await bus.publish_many(topic, [event("one-key", n) for n in range(10)])
    handled: list[int] = []
    stuck = asyncio.Event()

    async def crashes_on_five(e: CloudEvent) -> None:
        if e.data["n"] == 5:
            stuck.set()
            await asyncio.Event().wait()  # hangs until the task is killed
        handled.append(e.data["n"])

    task = asyncio.create_task(bus.consume([topic], "crash", crashes_on_five))
    await asyncio.wait_for(stuck.wait(), 30)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert handled == [0, 1, 2, 3, 4]
    again = await drain(bus, topic, "crash")
    assert numbers(again.events) == [5, 6, 7, 8, 9]


async def test_a_restarted_consumer_resumes_from_the_committed_offset(bus, topic):
    await bus.publish_many(topic, [event("k", n) for n in range(5)])
    first = await drain(bus, topic, "resume")
    await bus.publish_many(topic, [event("k", n) for n in range(5, 8)])
    second = await drain(bus, topic, "resume")
    assert numbers(first.events) == [0, 1, 2, 3, 4]
    assert numbers(second.events) == [5, 6, 7]


async def test_graceful_shutdown_finishes_the_event_in_hand_and_commits_it(bus, topic):
    await bus.publish_many(topic, [event("k", n) for n in range(6)])
    stop = asyncio.Event()
    finished: list[int] = []

    async def stops_during_two(e: CloudEvent) -> None:
        if e.data["n"] == 2:
            stop.set()
            await asyncio.sleep(0.05)  # still in hand when the stop arrives
        finished.append(e.data["n"])

    await asyncio.wait_for(bus.consume([topic], "graceful", stops_during_two, stop=stop), 60)
    assert finished == [0, 1, 2]
    rest = await drain(bus, topic, "graceful")
    assert numbers(rest.events) == [3, 4, 5]


async def test_a_group_that_starts_at_the_end_sees_only_later_events_even_after_a_restart(
    bus, topic
):
    await bus.publish_many(topic, [event("k", n) for n in range(3)])
    collector = Collector()
    await asyncio.wait_for(
        bus.consume([topic], "late", collector, from_beginning=False, until_caught_up=True), 60
    )
    assert collector.events == []
    await bus.publish_many(topic, [event("k", n) for n in range(3, 5)])
    await asyncio.wait_for(
        bus.consume([topic], "late", collector, from_beginning=False, until_caught_up=True), 60
    )
    assert numbers(collector.events) == [3, 4]


async def test_a_running_consumer_is_woken_by_a_later_publish(bus, topic):
    collector = Collector()
    stop = asyncio.Event()
    task = asyncio.create_task(bus.consume([topic], "live", collector, stop=stop))
    try:
        for n in range(3):
            await bus.publish(topic, event("k", n))
            await collector.wait_for(n + 1)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    assert numbers(collector.events) == [0, 1, 2]


async def test_two_consumers_in_one_group_split_the_partitions(bus_url, topic):
    async with make_bus(bus_url) as a_bus, make_bus(bus_url) as b_bus:
        seen: dict[str, set[int]] = {"a": set(), "b": set()}
        stop = asyncio.Event()

        def handler_for(name: str):
            async def handle(e: CloudEvent) -> None:
                seen[name].add(e.data["n"])

            return handle

        tasks = [
            asyncio.create_task(a_bus.consume([topic], "pair", handler_for("a"), stop=stop)),
            asyncio.create_task(b_bus.consume([topic], "pair", handler_for("b"), stop=stop)),
        ]
        sent = 0
        try:
            # Keep publishing over many keys until both members got a share and all arrived.
            async with asyncio.timeout(60):
                while not (seen["a"] and seen["b"] and seen["a"] | seen["b"] == set(range(sent))):
                    if not (seen["a"] and seen["b"]):
                        await a_bus.publish_many(
                            topic, [event(f"key-{sent + i}", sent + i) for i in range(20)]
                        )
                        sent += 20
                    await asyncio.sleep(0.1)
        finally:
            stop.set()
            await asyncio.gather(*tasks)
        assert seen["a"] and seen["b"]
        assert seen["a"] | seen["b"] == set(range(sent))


async def test_batches_are_handed_over_whole_and_a_failing_batch_is_retried_event_by_event(
    bus, topic
):
    await bus.publish_many(topic, [event(f"k{n % 3}", n) for n in range(30)])
    batches: list[list[int]] = []
    handled: list[int] = []

    async def bulk(events: list[CloudEvent]) -> None:
        ns = numbers(events)
        batches.append(ns)
        if 13 in ns:
            raise RuntimeError("bulk write rejected number 13")
        handled.extend(ns)

    await asyncio.wait_for(
        bus.consume_batches([topic], "bulk", bulk, max_batch=50, until_caught_up=True), 60
    )
    assert sorted(handled) == [n for n in range(30) if n != 13]
    assert any(len(b) > 1 for b in batches)
    assert [13] in batches  # retried alone
    [letter] = await bus.dead_letters(topic)
    assert letter.stage == "handler" and letter.event_id is not None
    assert "number 13" in letter.reason


async def test_one_consumer_can_follow_several_topics(bus, topic):
    other = topic + "-other"
    await bus.publish(topic, event("k", 1))
    await bus.publish(other, event("k", 2))
    collector = Collector()
    await asyncio.wait_for(
        bus.consume([topic, other], "multi", collector, until_caught_up=True), 60
    )
    assert sorted(numbers(collector.events)) == [1, 2]


async def test_a_handler_can_dead_letter_events_itself_and_they_read_back_in_order(bus, topic):
    refused = [event("k", n) for n in range(2)]
    letters = [
        DeadLetter.build(
            topic=topic,
            partition=0,
            offset=0,
            group="indexer",
            stage="handler",
            reason=f"refused {e.data['n']}",
            attempts=1,
            key=e.key.encode(),
            original=e.to_bytes(),
            keep_bytes=bus.settings.max_event_bytes,
            event_id=e.id,
            event_type=e.type,
        )
        for e in refused
    ]
    await bus.publish_dead_letters(topic, letters)
    back = await bus.dead_letters(topic)
    assert [letter.reason for letter in back] == ["refused 0", "refused 1"]
    assert [CloudEvent.from_bytes(letter.original) for letter in back] == refused


async def test_when_a_member_leaves_the_others_take_over_its_partitions_losing_nothing(
    bus_url, topic
):
    async with make_bus(bus_url) as a_bus, make_bus(bus_url) as b_bus:
        a, b = Collector(), Collector()
        stop_a, stop_b = asyncio.Event(), asyncio.Event()
        task_a = asyncio.create_task(a_bus.consume([topic], "handover", a, stop=stop_a))
        task_b = asyncio.create_task(b_bus.consume([topic], "handover", b, stop=stop_b))
        sent = 0
        try:
            async with asyncio.timeout(60):
                while not (a.events and b.events):
                    await a_bus.publish_many(
                        topic, [event(f"k{sent + i}", sent + i) for i in range(20)]
                    )
                    sent += 20
                    await asyncio.sleep(0.1)
                stop_a.set()
                await task_a
                await b_bus.publish_many(
                    topic, [event(f"k{sent + i}", sent + i) for i in range(40)]
                )
                sent += 40
                while set(numbers(a.events)) | set(numbers(b.events)) != set(range(sent)):
                    await asyncio.sleep(0.05)
        finally:
            stop_a.set()
            stop_b.set()
            await asyncio.gather(task_a, task_b)
    assert set(numbers(b.events)) >= set(range(sent - 40, sent))


async def test_the_bus_counts_what_it_published_consumed_and_dead_lettered_and_the_lag(
    bus, topic, unique
):
    from seedpipe.metrics import registry

    def sample(name: str, **labels: str) -> float:
        return registry().get_sample_value(name, labels) or 0.0

    group = f"metrics-{unique}"
    await bus.publish_many(topic, [event(f"file-{i}", i) for i in range(12)])

    async def refuse_five(e: CloudEvent) -> None:
        if e.data["n"] == 5:
            raise RuntimeError("five is refused")

    await drain(bus, topic, group, refuse_five)
    assert sample("seedpipe_events_published_total", topic=topic) == 12
    assert sample("seedpipe_events_published_total", topic=f"{topic}.dlq") == 1
    assert sample("seedpipe_events_consumed_total", topic=topic, group=group) == 12
    assert sample("seedpipe_events_dead_lettered_total", topic=topic, stage="handler") == 1
    lag = registry().get_sample_value("seedpipe_consumer_lag", {"group": group, "topic": topic})
    assert lag is not None and 0 <= lag < 12
    # a reader of dead letters (a throw-away group) adds no series
    await bus.dead_letters(topic)
    names = {
        s.labels.get("group", "")
        for family in registry().collect()
        for s in family.samples
        if family.name == "seedpipe_events_consumed"
    }
    assert not any(n.startswith("seedpipe-dlq-reader") for n in names)
