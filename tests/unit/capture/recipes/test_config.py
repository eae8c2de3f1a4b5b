"""[[recipe_types]] and recipe triggers in the settings, checked at start-up."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from capture.jobs import Job, JobStore
from capture.recipes.types import load_recipe_types
from capture.triggers import compile_triggers
from seedpipe.errors import ConfigError
from seedpipe.settings import Settings
from tests.unit.capture.recipes.helpers import EXAMPLE, example_definition, job_types


def settings(tmp_path: Path, definition: Any, trigger: dict[str, Any] | None = None) -> Settings:
    path = tmp_path / "r.json"
    path.write_text(json.dumps(definition))
    data: dict[str, Any] = {
        "config_dir": str(tmp_path),
        "recipe_types": [{"name": "mark-and-check", "definition": "r.json"}],
        "triggers": [trigger] if trigger else [],
    }
    return Settings.load(None, **data)


def test_a_configured_recipe_type_loads_against_the_job_types(tmp_path: Path) -> None:
    loaded = load_recipe_types(settings(tmp_path, example_definition()), job_types())
    assert list(loaded) == ["mark-and-check"]
    assert list(loaded["mark-and-check"].definition.nodes) == [
        "watermark",
        "is-wide",
        "summarize",
        "flag-small",
    ]


def test_every_problem_of_a_definition_is_reported_with_the_recipe_type_and_path(
    tmp_path: Path,
) -> None:
    raw = example_definition()
    raw["nodes"]["watermark"]["node_type"]["job_type_name"] = "ghost"
    raw["nodes"]["summarize"]["input"]["SOURCE"]["input"] = "NOPE"
    with pytest.raises(ConfigError) as err:
        load_recipe_types(settings(tmp_path, raw), job_types())
    text = str(err.value)
    assert (
        "recipe_types[mark-and-check].definition: $.nodes.watermark.node_type.job_type_name" in text
    )
    assert "$.nodes.summarize.input.SOURCE.input" in text


def test_a_definition_file_that_is_missing_or_not_json_is_named(tmp_path: Path) -> None:
    s = settings(tmp_path, {})
    Path(s.recipe_types[0].definition).write_text("{nope")
    with pytest.raises(ConfigError, match=r"recipe_types\[mark-and-check\]\.definition: \$"):
        load_recipe_types(s, job_types())


def test_a_trigger_names_either_a_job_type_or_a_recipe_type(tmp_path: Path) -> None:
    both = {"name": "t", "job_type": "x", "recipe_type": "mark-and-check", "input": "IMAGE"}
    with pytest.raises(ConfigError, match=r"triggers\[t\]: give either job_type or recipe_type"):
        settings(tmp_path, example_definition(), both)
    unknown = {"name": "t", "recipe_type": "nope", "input": "IMAGE"}
    with pytest.raises(ConfigError, match=r"triggers\[t\]\.recipe_type: unknown recipe type"):
        settings(tmp_path, example_definition(), unknown)


def test_a_recipe_trigger_feeds_a_file_input_of_the_recipe_with_its_media_types(
    tmp_path: Path,
) -> None:
    trig = {"name": "t", "recipe_type": "mark-and-check", "input": "IMAGE"}
    s = settings(tmp_path, example_definition(), trig)
    loaded = load_recipe_types(s, job_types())
    accepts = {
        ("mark-and-check", "IMAGE"): tuple(
            loaded["mark-and-check"].definition.input.files[0].media_types
        )
    }
    [compiled] = compile_triggers(s.triggers, {}, accepts)
    assert (compiled.recipe_type, compiled.job_type, compiled.accepts) == (
        "mark-and-check",
        None,
        ("image/png",),
    )
    wrong = s.model_copy(deep=True)
    wrong.triggers[0].input = "NOPE"
    with pytest.raises(
        ConfigError, match=r"triggers\[t\]\.input: recipe type 'mark-and-check' has no file input"
    ):
        compile_triggers(wrong.triggers, {}, accepts)


def test_the_example_config_loads(tmp_path: Path) -> None:
    s = Settings.load(EXAMPLE / "seedpipe.toml")
    from capture.jobtypes import load_job_types

    assert list(load_recipe_types(s, load_job_types(s))) == ["mark-and-check"]
    assert s.triggers[0].recipe_type == "mark-and-check"


def test_a_job_store_written_before_recipes_gains_the_recipe_columns(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE jobs (id TEXT PRIMARY KEY, job_type TEXT NOT NULL, job_type_version TEXT "
            "NOT NULL, trigger TEXT NOT NULL, file_id TEXT NOT NULL, event_id TEXT NOT NULL, "
            "input_name TEXT NOT NULL, record TEXT NOT NULL, status TEXT NOT NULL, attempt INTEGER "
            "NOT NULL DEFAULT 0, max_attempts INTEGER NOT NULL, cpus REAL NOT NULL DEFAULT 1, "
            "mem_mib REAL NOT NULL DEFAULT 0, created REAL NOT NULL, not_before REAL NOT NULL "
            "DEFAULT 0, started REAL, ended REAL, duration_s REAL, exit_code INTEGER, error TEXT, "
            "log_path TEXT, products TEXT NOT NULL DEFAULT '[]', UNIQUE (trigger, file_id))"
        )
        db.execute(
            "INSERT INTO jobs (id, job_type, job_type_version, trigger, file_id, event_id, "
            "input_name, record, status, max_attempts, created) VALUES ('old', 'j', '1', 't', 'f', "
            "'e', 'IN', '{}', 'completed', 3, 0)"
        )
    store = JobStore(path)
    old = store.require("old")
    assert (old.recipe, old.inputs, old.results) == (None, None, None)
    job = Job(
        id="new", job_type="j", job_type_version="1", trigger="recipe:r", file_id="n",
        event_id="e", input_name="", record={}, recipe="r", recipe_node="n", recipe_type="rt",
        inputs={"files": {}, "json": {"A": 1}},
    )  # fmt: skip
    assert store.create(job)
    store.finish("new", "completed", results={"json_outputs": {"B": 2}})
    got = store.require("new")
    assert (got.recipe, got.recipe_node, got.recipe_type) == ("r", "n", "rt")
    assert got.inputs == {"files": {}, "json": {"A": 1}}
    assert got.to_dict()["json_outputs"] == {"B": 2}
    store.close()
