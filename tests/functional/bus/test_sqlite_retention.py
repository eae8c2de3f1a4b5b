"""Retention of the embedded SQLite log: old events go, consumer groups carry on."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from seedpipe.bus.sqlite.bus import SqliteBus
from seedpipe.cli import main
from tests.functional.bus.helpers import Collector, event, make_bus, numbers


def age(path: Path, seconds: float) -> None:
    """Make every event now in the log ``seconds`` older, as if appended back then."""
    con = sqlite3.connect(path)
    with con:
        con.execute("UPDATE events SET ts = ts - ?", (seconds,))
    con.close()


def stored(path: Path) -> int:
    con = sqlite3.connect(path)
    try:
        return int(con.execute("SELECT count(*) FROM events").fetchone()[0])
    finally:
        con.close()


async def test_prune_deletes_only_old_events_and_groups_resume_after_them(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    url = f"sqlite:///{path}"
    async with make_bus(url) as bus:
        await bus.publish_many("t", [event(f"k{n % 3}", n) for n in range(10)])
        before = Collector()
        await bus.consume(["t"], "g", before, until_caught_up=True)
        assert sorted(numbers(before.events)) == list(range(10))
        age(path, 7200)
        await bus.publish_many("t", [event(f"k{n % 3}", n) for n in range(10, 15)])
        assert isinstance(bus, SqliteBus)
        assert await bus.prune(3600) == 10
        assert await bus.prune(3600) == 0
        resumed, fresh = Collector(), Collector()
        await bus.consume(["t"], "g", resumed, until_caught_up=True)
        await bus.consume(["t"], "new", fresh, until_caught_up=True, from_beginning=True)
    assert sorted(numbers(resumed.events)) == list(range(10, 15))
    assert sorted(numbers(fresh.events)) == list(range(10, 15))


async def test_retention_hours_prunes_as_events_are_published(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    url = f"sqlite:///{path}"
    async with make_bus(url) as bus:
        await bus.publish_many("t", [event("k", n) for n in range(3)])
    age(path, 3 * 3600)
    async with make_bus(url, sqlite={"retention_hours": 2.0}) as bus:
        await bus.publish("t", event("k", 3))
    assert stored(path) == 1
    async with make_bus(url) as bus:  # without retention nothing is deleted
        await bus.publish("t", event("k", 4))
    age(path, 3 * 3600)
    async with make_bus(url) as bus:
        await bus.publish("t", event("k", 5))
    assert stored(path) == 3


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "seedpipe.toml"
    path.write_text('data_dir = "data"\n[bus]\nurl = "sqlite:///events.db"\n')
    return path


def test_events_prune_command_reports_what_it_deleted(config: Path, capsys) -> None:
    path = config.parent / "data" / "events.db"
    file = config.parent / "event.json"
    file.write_bytes(event("k", 1).to_bytes())
    assert main(["events", "publish", "-c", str(config), "seedpipe.files", str(file)]) == 0
    age(path, 2 * 86400)
    assert main(["events", "publish", "-c", str(config), "seedpipe.files", str(file)]) == 0
    capsys.readouterr()
    assert main(["events", "prune", "-c", str(config), "--older-than", "1d"]) == 0
    assert json.loads(capsys.readouterr().out) == {"deleted": 1, "older_than_s": 86400.0}
    assert stored(path) == 1


@pytest.mark.parametrize("bad", ["", "soon", "-3h", "0d", "inf", "nanh", "12w"])
def test_events_prune_refuses_a_bad_duration_naming_it(config: Path, capsys, bad: str) -> None:
    assert main(["events", "prune", "-c", str(config), f"--older-than={bad}"]) == 2
    assert "older-than" in capsys.readouterr().err


def test_events_prune_refuses_a_kafka_bus_without_connecting(tmp_path: Path, capsys) -> None:
    config = tmp_path / "seedpipe.toml"
    config.write_text('[bus]\nurl = "kafka://127.0.0.1:1"\n')
    assert main(["events", "prune", "-c", str(config), "--older-than", "1h"]) == 2
    err = capsys.readouterr().err
    assert "bus.url" in err and "retention.ms" in err
