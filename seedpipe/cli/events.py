"""``seedpipe events``: tail a topic as JSON lines, publish one event, prune the embedded log."""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import sys
import uuid
from pathlib import Path

from seedpipe.cli.common import add_config, load_settings
from seedpipe.errors import InvalidInput
from seedpipe.settings import Settings
from seedpipe.supervisor import stop_on_signals


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    tail = sub.add_parser("tail", help="print a topic's events as JSON lines (DLQ topics too)")
    add_config(tail)
    tail.add_argument("topic", help="e.g. seedpipe.files or seedpipe.files.dlq")
    tail.add_argument("--from-beginning", action="store_true", help="start at the oldest event")
    tail.add_argument(
        "--until-caught-up", action="store_true", help="exit once the events there now are printed"
    )
    tail.add_argument("--group", help="consumer group (default: a fresh one, so nothing is shared)")
    publish = sub.add_parser("publish", help="validate and publish one CloudEvent (JSON file)")
    add_config(publish)
    publish.add_argument("topic", help="e.g. seedpipe.files")
    publish.add_argument("file", help="a JSON file holding one CloudEvent, or - for stdin")
    prune = sub.add_parser(
        "prune", help="delete events older than a duration from the embedded (sqlite) log"
    )
    add_config(prune)
    prune.add_argument(
        "--older-than", required=True, metavar="DURATION", help="e.g. 30d, 12h, 45m, 90s"
    )


def run(args: argparse.Namespace) -> int:
    settings = load_settings(args)
    if args.action == "publish":
        return asyncio.run(_publish(settings, args.topic, args.file))
    if args.action == "prune":
        return asyncio.run(_prune(settings, parse_duration(args.older_than, "older-than")))
    return asyncio.run(_tail(settings, args))


_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}


def parse_duration(text: str, field: str) -> float:
    """``30d``, ``12h``, ``45m``, ``90s`` (or a bare number of seconds) as seconds (> 0)."""
    value = text.strip().lower()
    scale = _UNITS.get(value[-1:])
    number = value[:-1] if scale is not None else value
    try:
        seconds = float(number) * (scale or 1.0)
    except ValueError:
        seconds = float("nan")
    if not seconds > 0 or seconds == float("inf"):
        raise InvalidInput(f"{text!r} is not a duration such as 30d, 12h, 45m or 90s", field=field)
    return seconds


async def _prune(settings: Settings, older_than_s: float) -> int:
    from seedpipe.bus import open_bus
    from seedpipe.bus.sqlite.bus import SqliteBus

    if not settings.bus.url.startswith("sqlite:"):
        raise InvalidInput(
            "only the embedded sqlite log is pruned here; Kafka topics keep what the broker's "
            "retention.ms allows",
            field="bus.url",
        )
    async with open_bus(settings.bus) as bus:
        assert isinstance(bus, SqliteBus)
        deleted = await bus.prune(older_than_s)
    print(json.dumps({"deleted": deleted, "older_than_s": older_than_s}))
    return 0


def _read(file: str, limit: int) -> bytes:
    if file == "-":
        raw = sys.stdin.buffer.read(limit + 1)
    else:
        try:
            with Path(file).open("rb") as fh:
                raw = fh.read(limit + 1)
        except OSError as exc:
            raise InvalidInput(f"cannot read {file}: {exc.strerror}", field="file") from exc
    if len(raw) > limit:
        raise InvalidInput(
            f"more than the {limit}-byte event limit (bus.max_event_bytes)", field="file"
        )
    return raw


async def _publish(settings: Settings, topic: str, file: str) -> int:
    from seedpipe.bus import open_bus
    from seedpipe.events import CloudEvent

    raw = _read(file, settings.bus.max_event_bytes)
    event = CloudEvent.from_bytes(raw.strip(), max_bytes=settings.bus.max_event_bytes)
    async with open_bus(settings.bus) as bus:
        await bus.publish(settings.topic(topic), event)
    print(json.dumps({"published": event.id, "topic": settings.topic(topic), "key": event.key}))
    return 0


def render(topic: str, value: bytes, max_bytes: int) -> str:
    """One JSON line for a stored record: the event, the dead letter, or why it is invalid."""
    from seedpipe.bus.consumer import parse_event
    from seedpipe.bus.deadletter import DeadLetter
    from seedpipe.bus.source import DLQ_SUFFIX

    try:
        if topic.endswith(DLQ_SUFFIX):
            return DeadLetter.from_bytes(value).model_dump_json(exclude_none=True)
        return parse_event(value, max_bytes).model_dump_json(exclude_none=True)
    except InvalidInput as exc:
        return json.dumps(
            {
                "invalid": str(exc),
                "topic": topic,
                "size": len(value),
                "value_b64": base64.b64encode(value[:max_bytes]).decode("ascii"),
            }
        )


async def _tail(settings: Settings, args: argparse.Namespace) -> int:
    from seedpipe.bus import open_bus
    from seedpipe.bus.source import RawRecord

    topic = settings.topic(args.topic)
    group = args.group or f"seedpipe-tail-{uuid.uuid4().hex[:12]}"
    max_bytes = settings.bus.max_event_bytes

    async def show(record: RawRecord) -> None:
        sys.stdout.write(render(record.topic, record.value, max_bytes) + "\n")
        sys.stdout.flush()

    with stop_on_signals(asyncio.Event()) as stop:
        async with open_bus(settings.bus) as bus:
            await bus.consume_raw(
                [topic],
                group,
                show,
                stop=stop,
                from_beginning=args.from_beginning,
                until_caught_up=args.until_caught_up,
            )
    return 0
