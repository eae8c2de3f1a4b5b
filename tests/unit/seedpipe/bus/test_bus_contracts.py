"""Unit tests of the bus contracts: names, dead letters, parsing, backoff, backend choice."""

from __future__ import annotations

import json
from typing import Any

import pytest

from seedpipe.bus import open_bus
from seedpipe.bus.consumer import ConsumerLoop, parse_event
from seedpipe.bus.deadletter import MAX_REASON_CHARS, DeadLetter
from seedpipe.bus.source import check_name, dlq_topic
from seedpipe.bus.sqlite.bus import SqliteBus
from seedpipe.errors import InvalidInput, UnknownBackend
from seedpipe.events import FILE_INGESTED, CloudEvent
from seedpipe.settings import BusSettings


def letter(**overrides) -> DeadLetter:
    options: dict[str, Any] = {
        "topic": "seedpipe.files",
        "partition": 2,
        "offset": 41,
        "group": "indexer",
        "stage": "parse",
        "reason": "payload is not JSON",
        "attempts": 0,
        "key": b"\xffkey",
        "original": b"\x00\x01 raw bytes",
        "keep_bytes": 1024,
    }
    options.update(overrides)
    return DeadLetter.build(**options)


@pytest.mark.parametrize("name", ["seedpipe.files", "a", "x-y_z.1", "A" * 249])
def test_kafka_legal_topic_names_are_accepted(name):
    assert check_name(name, "topic") == name


@pytest.mark.parametrize("name", ["", "a/b", "spaces here", "é", "..", "A" * 250, "a:b"])
def test_a_topic_name_kafka_would_refuse_is_rejected_naming_the_field(name):
    with pytest.raises(InvalidInput) as err:
        check_name(name, "topic")
    assert err.value.field == "topic"


def test_the_dead_letter_topic_is_the_topic_with_a_dlq_suffix():
    assert dlq_topic("seedpipe.files") == "seedpipe.files.dlq"


def test_a_dead_letter_round_trips_and_gives_back_the_original_bytes_and_key():
    back = DeadLetter.from_bytes(letter().to_bytes())
    assert back.original == b"\x00\x01 raw bytes"
    assert back.key == b"\xffkey"
    assert back.kind == "seedpipe.deadletter"
    assert not back.truncated and back.original_size == 12


def test_an_oversized_original_is_cut_and_marked_truncated():
    big = letter(original=b"x" * 5000, keep_bytes=1024)
    assert big.truncated and big.original_size == 5000 and len(big.original) == 1024


def test_a_long_reason_is_shortened_to_the_limit():
    assert len(letter(reason="why " * 2000).reason) == MAX_REASON_CHARS


def test_a_dead_letter_that_is_not_one_names_the_bad_field():
    raw = json.loads(letter().to_bytes())
    raw["stage"] = "elsewhere"
    with pytest.raises(InvalidInput) as err:
        DeadLetter.from_bytes(json.dumps(raw).encode())
    assert err.value.field == "stage"


def test_a_valid_event_parses_on_the_fast_path():
    sent = CloudEvent(type=FILE_INGESTED, source="s", subject="f", data={"a": 1})
    assert parse_event(sent.to_bytes(), 4096) == sent


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'{"specversion": "1.0", "source": "s"}', "type"),
        (b'{"specversion": "0.3", "source": "s", "type": "seedpipe.file.ingested"}', "specversion"),
        (b"\xc3\x28", "$"),
        (b"x" * 5000, "$"),
    ],
)
def test_an_invalid_event_is_rejected_naming_the_field(raw, field):
    with pytest.raises(InvalidInput) as err:
        parse_event(raw, 4096)
    assert err.value.field == field


def test_backoff_grows_per_attempt_and_stays_under_the_maximum():
    settings = BusSettings(backoff_initial_s=0.1, backoff_max_s=1.0)
    bus = open_bus(settings)
    loop = ConsumerLoop(bus, stop=None, until_caught_up=False)
    delays = [loop._backoff(attempt) for attempt in range(1, 8)]
    assert 0.075 <= delays[0] <= 0.1
    assert 0.15 <= delays[1] <= 0.2
    assert all(d <= 1.0 for d in delays)
    assert delays[-1] >= 0.75


def test_the_bus_is_chosen_by_url_scheme(tmp_path):
    assert isinstance(open_bus(BusSettings(url=f"sqlite:///{tmp_path}/e.db")), SqliteBus)


def test_an_unknown_bus_scheme_suggests_the_closest_one():
    with pytest.raises(UnknownBackend, match="kafka"):
        open_bus(BusSettings(url="kafak://localhost:9092"))


async def test_publishing_on_a_bus_that_was_not_started_says_how_to_start_it(tmp_path):
    from seedpipe.errors import BusError

    bus = open_bus(BusSettings(url=f"sqlite:///{tmp_path}/e.db"))
    with pytest.raises(BusError, match="async with"):
        await bus.publish("t", CloudEvent(type=FILE_INGESTED, source="s"))


async def test_consuming_a_dlq_topic_as_events_is_refused_with_what_to_use_instead(tmp_path):
    bus = open_bus(BusSettings(url=f"sqlite:///{tmp_path}/e.db"))

    async def handler(_: CloudEvent) -> None:
        raise AssertionError("unreachable")

    with pytest.raises(InvalidInput, match="dead_letters") as err:
        await bus.consume(["seedpipe.files.dlq"], "g", handler)
    assert err.value.field == "topics"
