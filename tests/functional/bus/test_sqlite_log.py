"""What only the SQLite log has to prove: kill -9 safety, other processes, silent members."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from seedpipe.bus.sqlite.bus import SqliteBus
from tests.functional.bus.helpers import Collector, event, make_bus, numbers

ROOT = Path(__file__).resolve().parents[3]

PUBLISHER = """
import asyncio, sys
from seedpipe.bus import open_bus
from seedpipe.events import CloudEvent
from seedpipe.settings import BusSettings

async def main(url, topic):
    async with open_bus(BusSettings(url=url)) as bus:
        n = 0
        while True:
            await bus.publish(topic, CloudEvent(
                type="seedpipe.file.ingested", source="child", subject=f"k{n % 3}", data={"n": n}
            ))
            print(n, flush=True)  # acknowledged
            n += 1

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""

CONSUMER = """
import asyncio, os, sys
from seedpipe.bus import open_bus
from seedpipe.settings import BusSettings

async def main(url, topic):
    settings = BusSettings.model_validate({"url": url, "sqlite": {"session_timeout_s": 1.0}})
    async with open_bus(settings) as bus:
        async def handle(event):
            await asyncio.sleep(0.001)  # slow enough to be killed mid-stream
            print(event.data["n"], flush=True)
        await bus.consume([topic], "killed", handle)

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


def spawn(code: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


def read_until_killed(proc: subprocess.Popen[str], lines_before_kill: int) -> list[int]:
    assert proc.stdout is not None
    seen = [int(proc.stdout.readline()) for _ in range(lines_before_kill)]
    os.kill(proc.pid, signal.SIGKILL)
    seen += [int(line) for line in proc.stdout.read().split()]
    proc.wait(timeout=10)
    return seen


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'events.db'}"


@pytest.mark.slow
async def test_nothing_a_killed_publisher_had_acknowledged_is_lost(url):
    acked = await asyncio.to_thread(read_until_killed, spawn(PUBLISHER, url, "kill"), 200)
    got = Collector()
    async with make_bus(url) as bus:
        await bus.consume(["kill"], "after", got, until_caught_up=True)
    assert set(acked) <= set(numbers(got.events))


@pytest.mark.slow
async def test_a_consumer_killed_mid_stream_is_replaced_without_losing_events(url):
    async with make_bus(url) as bus:
        await bus.publish_many("stream", [event(f"k{n % 5}", n) for n in range(3000)])
    handled = await asyncio.to_thread(read_until_killed, spawn(CONSUMER, url, "stream"), 100)
    # The killed member still holds its leases; they expire after its session timeout.
    rest = Collector()
    async with make_bus(url) as bus:
        await bus.consume(["stream"], "killed", rest, until_caught_up=True)
    assert rest.events, "the killed consumer had finished before the kill"
    assert set(handled) | set(numbers(rest.events)) == set(range(3000))


async def test_a_consumer_in_another_process_sees_events_without_an_in_process_wake_up(url):
    async with make_bus(url) as bus:
        got = Collector()
        stop = asyncio.Event()
        task = asyncio.create_task(bus.consume(["xproc"], "watch", got, stop=stop))
        try:
            child = await asyncio.to_thread(read_until_killed, spawn(PUBLISHER, url, "xproc"), 5)
            await got.wait_for(len(child))
        finally:
            stop.set()
            await task
    assert set(child) <= set(numbers(got.events))


async def test_two_buses_on_one_file_in_one_process_wake_each_other(url):
    async with make_bus(url) as reader, make_bus(url) as writer:
        got = Collector()
        stop = asyncio.Event()
        task = asyncio.create_task(reader.consume(["same"], "g", got, stop=stop))
        try:
            await writer.publish("same", event("k", 7))
            await got.wait_for(1)
        finally:
            stop.set()
            await task
    assert numbers(got.events) == [7]


async def test_a_silent_member_loses_its_partitions_after_the_session_timeout(url):
    async with make_bus(url) as bus:
        assert isinstance(bus, SqliteBus)
        await bus.publish_many("silent", [event(f"k{n}", n) for n in range(20)])
        # A member that joined and then went quiet (its process froze): it keeps its leases.
        frozen = await bus._open_source(["silent"], "grp", from_beginning=True)
        assert frozen.owns(("silent", 0))
        frozen._heartbeat.cancel()  # type: ignore[attr-defined]
        got = Collector()
        await asyncio.wait_for(bus.consume(["silent"], "grp", got, until_caught_up=True), 30)
        await frozen.close()
    assert sorted(numbers(got.events)) == list(range(20))


async def test_topics_keep_the_partition_count_they_were_created_with(url):
    async with make_bus(url, sqlite={"partitions": 2}) as bus:
        await bus.publish("fixed", event("k", 1))
    async with make_bus(url, sqlite={"partitions": 8}) as bus:
        source = await bus._open_source(["fixed", "fresh"], "g", from_beginning=True)
        ends = await source.end_offsets()
        await source.close()
    assert sorted(p for t, p in ends if t == "fixed") == [0, 1]
    assert len([p for t, p in ends if t == "fresh"]) == 8
