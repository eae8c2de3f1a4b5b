"""Trigger rules: events, conditions and the media types a job input accepts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from capture.triggers import Trigger, media_type_accepted
from seedpipe.errors import ConfigError, InvalidInput
from seedpipe.events import (
    FILE_INGESTED,
    FILE_PRODUCED,
    SUBSCRIPTION_MATCHED,
    CloudEvent,
    file_event,
)
from seedpipe.records import FileRecord, WorkspaceRef
from seedpipe.settings import TriggerSettings


def record(**changes: Any) -> FileRecord:
    base: dict[str, Any] = {
        "file_name": "a.png",
        "workspace": WorkspaceRef(name="input"),
        "file_path": "a.png",
        "media_type": "image/png",
        "data_type_tags": ["image"],
        "data_started": datetime(2020, 1, 1, tzinfo=UTC),
        "geometry": {"type": "Point", "coordinates": [10.0, 20.0]},
        "meta_data": {"cloud": 5, "sensor": "cam-1"},
    }
    base.update(changes)
    return FileRecord.model_validate(base)


def trigger(conditions: dict[str, Any] | None = None, **kw: Any) -> Trigger:
    settings = TriggerSettings.model_validate(
        {"name": "t", "job_type": "j", "input": "INPUT_IMAGE", "conditions": conditions or {}, **kw}
    )
    return Trigger.compile(settings)


def fires(trig: Trigger, rec: FileRecord, event_type: str = FILE_INGESTED) -> bool:
    return trig.match(file_event(event_type, rec, "test")) is not None


def test_a_trigger_fires_only_on_its_events() -> None:
    trig = trigger(on=["file.ingested"])
    assert fires(trig, record())
    assert not fires(trig, record(), FILE_PRODUCED)


def test_unknown_trigger_events_are_a_config_error_naming_the_trigger() -> None:
    with pytest.raises(ConfigError, match=r"triggers\[t\]\.on"):
        trigger(on=["file.exploded"])


def test_data_type_conditions_all_any_none() -> None:
    assert fires(trigger({"data_types_all": ["image"]}), record())
    assert not fires(trigger({"data_types_all": ["image", "sar"]}), record())
    assert fires(trigger({"data_types_any": ["sar", "image"]}), record())
    assert not fires(trigger({"data_types_none": ["image"]}), record())


def test_file_name_regex_media_type_and_workspace_conditions() -> None:
    assert fires(trigger({"file_name_regex": r"\.png$"}), record())
    assert not fires(trigger({"file_name_regex": r"\.tif$"}), record())
    assert not fires(trigger({"media_types": ["image/tiff"]}), record())
    assert not fires(trigger({"workspaces": ["other"]}), record())


def test_a_bad_file_name_regex_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="file_name_regex"):
        trigger({"file_name_regex": "("})


def test_geometry_and_data_time_conditions() -> None:
    box = {"type": "Polygon", "coordinates": [[[0, 0], [30, 0], [30, 30], [0, 30], [0, 0]]]}
    far = {"type": "Polygon", "coordinates": [[[50, 50], [60, 50], [60, 60], [50, 60], [50, 50]]]}
    assert fires(trigger({"intersects": box}), record())
    assert not fires(trigger({"intersects": far}), record())
    assert fires(trigger({"data_time": "2019-01-01T00:00:00Z/.."}), record())
    assert not fires(trigger({"data_time": "../2019-01-01T00:00:00Z"}), record())


def test_meta_data_comparisons_use_scale_operators() -> None:
    def cond(op: str, value: Any) -> dict[str, Any]:
        return {"meta_data": [{"property": "cloud", "op": op, "value": value}]}

    assert fires(trigger(cond("<", 10)), record())
    assert not fires(trigger(cond(">=", 10)), record())
    assert fires(trigger(cond("between", [0, 5])), record())
    assert fires(trigger(cond("in", [1, 5])), record())
    assert fires(
        trigger({"meta_data": [{"property": "sensor", "op": "contains", "value": "cam"}]}),
        record(),
    )


def test_a_job_input_that_accepts_other_media_types_is_not_triggered() -> None:
    settings = TriggerSettings(name="t", job_type="j", input="INPUT_IMAGE")
    assert Trigger.compile(settings, ["image/png"]).matches(record())
    assert not Trigger.compile(settings, ["image/tiff"]).matches(record())
    assert media_type_accepted("image/png; charset=x", ["image/*"])


def test_subscription_triggers_fire_for_their_subscription_only() -> None:
    trig = trigger(on=["subscription.matched"], subscription="coast")
    payload = {
        "subscription": {"id": "s1", "name": "coast"},
        "record": record().model_dump(mode="json"),
    }
    event = CloudEvent(type=SUBSCRIPTION_MATCHED, source="t", data=payload)
    assert trig.match(event) is not None
    other = CloudEvent(
        type=SUBSCRIPTION_MATCHED, source="t", data={**payload, "subscription": {"name": "x"}}
    )
    assert trig.match(other) is None


def test_an_event_with_an_invalid_record_is_rejected_naming_the_field() -> None:
    event = CloudEvent(type=FILE_INGESTED, source="t", data={"file_name": "a"})
    with pytest.raises(InvalidInput, match="data"):
        trigger().match(event)
