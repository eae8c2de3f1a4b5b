"""The record written to ``<topic>.dlq``: why an event could not be handled, and its bytes."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from seedpipe.errors import InvalidInput
from seedpipe.events import describe_validation_error, first_error_field
from seedpipe.records import utcnow

DEAD_LETTER_KIND: Final = "seedpipe.deadletter"
DEAD_LETTER_CONTENT_TYPE: Final = "application/json"
MAX_REASON_CHARS: Final = 2000


class DeadLetter(BaseModel):
    """One undeliverable record of ``topic``.

    Not a CloudEvent: the original may not even be JSON, so it travels base64-encoded in
    ``original_b64`` (cut to ``max_event_bytes`` when oversized; ``original_size`` says how big it
    was). ``stage`` is ``parse`` (never reached a handler) or ``handler`` (failed every attempt).
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["seedpipe.deadletter"] = DEAD_LETTER_KIND
    topic: str
    partition: int = Field(ge=0)
    offset: int = Field(ge=0)
    group: str
    stage: Literal["parse", "handler"]
    reason: str = Field(max_length=MAX_REASON_CHARS)
    attempts: int = Field(ge=0)
    failed_at: datetime = Field(default_factory=utcnow)
    event_id: str | None = None
    event_type: str | None = None
    key_b64: str | None = None
    original_b64: str
    original_size: int = Field(ge=0)
    truncated: bool = False

    @classmethod
    def build(
        cls,
        *,
        topic: str,
        partition: int,
        offset: int,
        group: str,
        stage: Literal["parse", "handler"],
        reason: str,
        attempts: int,
        key: bytes | None,
        original: bytes,
        keep_bytes: int,
        event_id: str | None = None,
        event_type: str | None = None,
    ) -> DeadLetter:
        kept = original[:keep_bytes]
        if len(reason) > MAX_REASON_CHARS:
            reason = reason[: MAX_REASON_CHARS - 1] + "…"
        return cls(
            topic=topic,
            partition=partition,
            offset=offset,
            group=group,
            stage=stage,
            reason=reason,
            attempts=attempts,
            event_id=event_id,
            event_type=event_type,
            key_b64=base64.b64encode(key).decode("ascii") if key is not None else None,
            original_b64=base64.b64encode(kept).decode("ascii"),
            original_size=len(original),
            truncated=len(kept) < len(original),
        )

    @property
    def original(self) -> bytes:
        """The original record's bytes (its first ``max_event_bytes`` if ``truncated``)."""
        return base64.b64decode(self.original_b64)

    @property
    def key(self) -> bytes | None:
        return base64.b64decode(self.key_b64) if self.key_b64 is not None else None

    def to_bytes(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode("utf-8")

    @classmethod
    def from_bytes(cls, raw: bytes) -> DeadLetter:
        """Parse a DLQ record; raise InvalidInput naming the field that is wrong."""
        try:
            return cls.model_validate_json(raw)
        except ValidationError as exc:
            raise InvalidInput(
                describe_validation_error(exc), field=first_error_field(exc)
            ) from exc
