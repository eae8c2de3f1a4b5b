"""``seedpipe events publish`` and ``events tail`` against the SQLite log."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from seedpipe.cli import main
from seedpipe.settings import Settings
from tests.functional.bus.helpers import event, make_bus


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "seedpipe.toml"
    path.write_text('data_dir = "data"\n[bus]\nurl = "sqlite:///events.db"\nmax_attempts = 1\n')
    return path


def tail(config: Path, capsys, topic: str) -> list[dict]:
    capsys.readouterr()
    code = main(
        ["events", "tail", "-c", str(config), topic, "--from-beginning", "--until-caught-up"]
    )
    assert code == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_a_published_event_file_is_printed_by_tail_as_one_json_line(config, tmp_path, capsys):
    sent = event("file-1", 1)
    file = tmp_path / "event.json"
    file.write_bytes(sent.to_bytes())
    assert main(["events", "publish", "-c", str(config), "seedpipe.files", str(file)]) == 0
    assert json.loads(capsys.readouterr().out)["published"] == sent.id
    [line] = tail(config, capsys, "seedpipe.files")
    assert line["id"] == sent.id and line["data"] == {"n": 1, "key": "file-1"}


def test_publishing_an_invalid_event_names_the_field_and_publishes_nothing(
    config, tmp_path, capsys
):
    file = tmp_path / "bad.json"
    file.write_text(json.dumps({"specversion": "1.0", "type": "seedpipe.file.ingested"}))
    assert main(["events", "publish", "-c", str(config), "seedpipe.files", str(file)]) == 2
    assert "source" in capsys.readouterr().err
    assert tail(config, capsys, "seedpipe.files") == []


def test_a_topic_name_that_kafka_would_refuse_is_an_error(config, tmp_path, capsys):
    file = tmp_path / "event.json"
    file.write_bytes(event("k", 1).to_bytes())
    assert main(["events", "publish", "-c", str(config), "no/slashes", str(file)]) == 2
    assert "topic" in capsys.readouterr().err


def test_tail_prints_dead_letters_of_a_dlq_topic(config, capsys):
    settings = Settings.load(config)

    async def poison() -> None:
        async with make_bus(settings.bus.url) as bus:
            await bus._publish_raw("jobs", [(b"k", b"not json")], "text/plain")

            async def never(_):
                raise AssertionError("unreachable")

            await bus.consume(["jobs"], "g", never, until_caught_up=True)

    asyncio.run(poison())
    [letter] = tail(config, capsys, "jobs.dlq")
    assert letter["kind"] == "seedpipe.deadletter"
    assert letter["stage"] == "parse" and "not JSON" in letter["reason"]
    [raw] = tail(config, capsys, "jobs")
    assert "not JSON" in raw["invalid"]
