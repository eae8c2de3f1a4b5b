"""Trigger rules: which events start which job type, with the file given to which input."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from seedpipe.errors import ConfigError, InvalidInput
from seedpipe.events import (
    FILE_INGESTED,
    FILE_PRODUCED,
    SUBSCRIPTION_MATCHED,
    CloudEvent,
    describe_validation_error,
)
from seedpipe.query.match import matches
from seedpipe.query.model import Query, parse_datetime_interval
from seedpipe.records import FileRecord
from seedpipe.settings import TriggerSettings

# Events a trigger may fire on; the short names are accepted in the config.
TRIGGER_EVENTS = {
    "file.ingested": FILE_INGESTED,
    "file.produced": FILE_PRODUCED,
    "subscription.matched": SUBSCRIPTION_MATCHED,
}
MAX_REGEX_CHARS = 1024


def event_type(name: str, *, field: str) -> str:
    """The full event type for ``file.ingested`` or ``seedpipe.file.ingested``."""
    full = TRIGGER_EVENTS.get(name.removeprefix("seedpipe."))
    if full is None:
        raise ConfigError(f"{field}: {name!r} is not one of {', '.join(TRIGGER_EVENTS)}")
    return full


def conditions_query(trig: TriggerSettings) -> Query:
    """The trigger's conditions as the index's neutral query (one evaluator for both)."""
    c = trig.conditions
    data: dict[str, Any] = {
        "data_types_all": c.data_types_all,
        "data_types_any": c.data_types_any,
        "data_types_none": c.data_types_none,
        "media_types": c.media_types,
        "workspaces": c.workspaces,
        "intersects": c.intersects,
        "meta": [m.model_dump() for m in c.meta_data],
    }
    field = f"triggers[{trig.name}].conditions"
    try:
        if c.data_time:
            data["datetime"] = parse_datetime_interval(c.data_time, field=f"{field}.data_time")
        return Query.parse(data)
    except InvalidInput as exc:
        raise ConfigError(f"{field}: {exc}") from exc


@dataclass(frozen=True)
class Trigger:
    """One compiled trigger rule."""

    name: str
    job_type: str | None
    input_name: str
    events: frozenset[str]
    query: Query
    file_name_regex: re.Pattern[str] | None
    accepts: tuple[str, ...]
    subscription: str | None
    recipe_type: str | None = None  # set instead of job_type: the trigger starts a recipe

    @classmethod
    def compile(cls, trig: TriggerSettings, accepts: Sequence[str] = ()) -> Trigger:
        """``accepts`` are the media types the job input takes (empty: any)."""
        where = f"triggers[{trig.name}]"
        if not trig.on:
            raise ConfigError(f"{where}.on: name at least one event")
        events = frozenset(event_type(e, field=f"{where}.on") for e in trig.on)
        regex = None
        pattern = trig.conditions.file_name_regex
        if pattern is not None:
            if len(pattern) > MAX_REGEX_CHARS:
                raise ConfigError(f"{where}.conditions.file_name_regex: too long")
            try:
                regex = re.compile(pattern)
            except re.error as exc:
                raise ConfigError(f"{where}.conditions.file_name_regex: {exc}") from exc
        if SUBSCRIPTION_MATCHED in events and not trig.subscription:
            raise ConfigError(f"{where}.subscription: required to fire on subscription.matched")
        return cls(
            name=trig.name,
            job_type=trig.job_type,
            input_name=trig.input,
            events=events,
            query=conditions_query(trig),
            file_name_regex=regex,
            accepts=tuple(accepts),
            subscription=trig.subscription,
            recipe_type=trig.recipe_type,
        )

    def match(self, event: CloudEvent) -> FileRecord | None:
        """The file this event gives the job input, or None when the trigger does not fire.

        Raises InvalidInput when the event's payload is not a valid file record.
        """
        if event.type not in self.events:
            return None
        if event.type == SUBSCRIPTION_MATCHED:
            sub = event.data.get("subscription")
            if not isinstance(sub, dict) or self.subscription not in (
                sub.get("name"),
                sub.get("id"),
            ):
                return None
            payload = event.data.get("record")
            if not isinstance(payload, dict):
                raise InvalidInput("must be a file record", field="data.record")
            try:
                record = FileRecord.model_validate(payload)
            except ValidationError as exc:
                raise InvalidInput(describe_validation_error(exc), field="data.record") from exc
        else:
            record = event.file_record()
        return record if self.matches(record) else None

    def matches(self, record: FileRecord) -> bool:
        if self.accepts and not media_type_accepted(record.media_type, self.accepts):
            return False
        if self.file_name_regex is not None and not self.file_name_regex.search(record.file_name):
            return False
        return matches(self.query, record)


def media_type_accepted(media_type: str, accepts: Sequence[str]) -> bool:
    """Exact match, or a ``type/*`` wildcard as Seed manifests sometimes give."""
    main = media_type.split(";", 1)[0].strip().lower()
    for a in accepts:
        a = a.lower()
        if a == main or (a.endswith("/*") and main.startswith(a[:-1])):
            return True
    return False


def compile_triggers(
    settings: Sequence[TriggerSettings],
    accepts: Mapping[tuple[str, str], Sequence[str]],
    recipe_accepts: Mapping[tuple[str, str], Sequence[str]] | None = None,
) -> list[Trigger]:
    """Compile every trigger; ``accepts`` maps (job type, input) to its media types, and
    ``recipe_accepts`` (recipe type, file input) to the recipe input's media types."""
    out = []
    for trig in settings:
        if trig.recipe_type is not None:
            rkey = (trig.recipe_type, trig.input)
            if recipe_accepts is None or rkey not in recipe_accepts:
                raise ConfigError(
                    f"triggers[{trig.name}].input: recipe type {trig.recipe_type!r} has no file "
                    f"input {trig.input!r}"
                )
            out.append(Trigger.compile(trig, recipe_accepts[rkey]))
            continue
        key = (str(trig.job_type), trig.input)
        if key not in accepts:
            raise ConfigError(
                f"triggers[{trig.name}].input: job type {trig.job_type!r} has no file input "
                f"{trig.input!r}"
            )
        out.append(Trigger.compile(trig, accepts[key]))
    return out
