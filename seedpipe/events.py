"""CloudEvents 1.0 envelope, event types and topics shared by every service."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from seedpipe import strictjson
from seedpipe.errors import InvalidInput
from seedpipe.records import FileRecord, utcnow

FILE_INGESTED: Final = "seedpipe.file.ingested"
FILE_PRODUCED: Final = "seedpipe.file.produced"
FILE_METADATA_UPDATED: Final = "seedpipe.file.metadata_updated"
FILE_DELETED: Final = "seedpipe.file.deleted"
JOB_QUEUED: Final = "seedpipe.job.queued"
JOB_STARTED: Final = "seedpipe.job.started"
JOB_COMPLETED: Final = "seedpipe.job.completed"
JOB_FAILED: Final = "seedpipe.job.failed"
SUBSCRIPTION_MATCHED: Final = "seedpipe.subscription.matched"
RECIPE_CREATED: Final = "seedpipe.recipe.created"
RECIPE_NODE_COMPLETED: Final = "seedpipe.recipe.node_completed"
RECIPE_COMPLETED: Final = "seedpipe.recipe.completed"
RECIPE_FAILED: Final = "seedpipe.recipe.failed"

FILE_EVENT_TYPES: Final = frozenset(
    {FILE_INGESTED, FILE_PRODUCED, FILE_METADATA_UPDATED, FILE_DELETED}
)
JOB_EVENT_TYPES: Final = frozenset({JOB_QUEUED, JOB_STARTED, JOB_COMPLETED, JOB_FAILED})
RECIPE_EVENT_TYPES: Final = frozenset(
    {RECIPE_CREATED, RECIPE_NODE_COMPLETED, RECIPE_COMPLETED, RECIPE_FAILED}
)
EVENT_TYPES: Final = (
    FILE_EVENT_TYPES | JOB_EVENT_TYPES | RECIPE_EVENT_TYPES | {SUBSCRIPTION_MATCHED}
)

# Topic names (prefixed by settings.bus.topic_prefix when not the default).
FILES_TOPIC: Final = "seedpipe.files"
JOBS_TOPIC: Final = "seedpipe.jobs"
RECIPES_TOPIC: Final = "seedpipe.recipes"
SUBSCRIPTIONS_TOPIC: Final = "seedpipe.subscriptions"

MAX_EVENT_BYTES: Final = 1024 * 1024


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 event in structured JSON mode."""

    model_config = ConfigDict(extra="allow")

    specversion: str = "1.0"
    id: str = Field(default_factory=lambda: uuid.uuid4().hex, min_length=1, max_length=256)
    source: str = Field(min_length=1, max_length=1024)
    type: str = Field(min_length=1, max_length=256)
    time: datetime = Field(default_factory=utcnow)
    subject: str | None = Field(default=None, max_length=1024)
    datacontenttype: str = "application/json"
    data: dict[str, Any] = Field(default_factory=dict)

    @field_validator("specversion")
    @classmethod
    def _v1(cls, value: str) -> str:
        if value != "1.0":
            raise ValueError("only CloudEvents specversion 1.0 is supported")
        return value

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value not in EVENT_TYPES:
            raise ValueError(f"unknown event type {value!r}")
        return value

    @property
    def key(self) -> str:
        """Partition key: the entity id, so one file's or job's events stay in order."""
        return self.subject or self.id

    def to_bytes(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode("utf-8")

    @classmethod
    def from_bytes(cls, raw: bytes, *, max_bytes: int = MAX_EVENT_BYTES) -> CloudEvent:
        """Parse and validate an event; raise InvalidInput naming what is wrong."""
        if len(raw) > max_bytes:
            raise InvalidInput(f"event is {len(raw)} bytes, over the {max_bytes} limit", field="$")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInput(
                f"payload is not UTF-8 ({exc.reason} at {exc.start})", field="$"
            ) from exc
        try:
            payload = strictjson.loads(text, "")
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"payload is not JSON: {exc.msg} at {exc.pos}", field="$") from exc
        return cls.from_dict(payload)

    @classmethod
    def from_dict(cls, payload: Any) -> CloudEvent:
        if not isinstance(payload, dict):
            raise InvalidInput("an event must be a JSON object", field="$")
        try:
            return cls.model_validate(payload)
        except ValidationError as exc:
            raise InvalidInput(
                describe_validation_error(exc), field=first_error_field(exc)
            ) from exc

    def file_record(self) -> FileRecord:
        """The file record carried by a file event."""
        if self.type not in FILE_EVENT_TYPES:
            raise InvalidInput(f"{self.type} does not carry a file record", field="type")
        try:
            return FileRecord.model_validate(self.data)
        except ValidationError as exc:
            raise InvalidInput(
                describe_validation_error(exc), field="data." + first_error_field(exc)
            ) from exc


def file_event(event_type: str, record: FileRecord, source: str) -> CloudEvent:
    """A file event whose data is the full file record and whose subject is the file id."""
    return CloudEvent(
        type=event_type, source=source, subject=record.id, data=record.model_dump(mode="json")
    )


def first_error_field(exc: ValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return "$"
    return ".".join(str(p) for p in errors[0]["loc"]) or "$"


def describe_validation_error(exc: ValidationError) -> str:
    """One line per problem, each naming its field, without echoing input values."""
    parts = []
    for err in exc.errors(include_input=False, include_url=False):
        loc = ".".join(str(p) for p in err["loc"]) or "$"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)
