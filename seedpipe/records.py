"""FileRecord: one file known to seedpipe, with Scale's ``scale_file`` field names."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
)

FileType = Literal["SOURCE", "PRODUCT"]

# Namespace for deterministic product ids (uuid5 over job type, file name and input ids).
PRODUCT_NAMESPACE = uuid.UUID("6f1c3f8e-3c55-4f49-9d7a-7b1d2b8c5e01")


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_file_id() -> str:
    return uuid.uuid4().hex


def product_file_id(
    job_type: str, job_type_version: str, file_name: str, input_ids: list[str]
) -> str:
    """A product's id is stable for the same job type, output name and inputs: reruns supersede."""
    key = "\x1f".join([job_type, job_type_version, file_name, *sorted(input_ids)])
    return uuid.uuid5(PRODUCT_NAMESPACE, key).hex


# The largest integer every index stores as it is (SQLite's INTEGER, Elasticsearch's long).
MAX_INT64 = 2**63 - 1


class WorkspaceRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    id: int | str | None = None


class JobTypeRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    version: str
    # The job type's revision (manifest, runtime and image as hashed by capture); None on
    # records made before revisions were recorded, and then left out of the record's JSON.
    revision: int | None = Field(default=None, le=MAX_INT64)

    @model_serializer(mode="wrap")
    def _drop_unknown_revision(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if data.get("revision") is None:
            data.pop("revision", None)
        return data


class FileRecord(BaseModel):
    """A file record; field names follow Scale's ``scale_file`` so INPUT_METADATA matches Scale."""

    model_config = ConfigDict(extra="forbid", validate_assignment=False)

    id: str = Field(default_factory=new_file_id, min_length=1, max_length=128)
    file_name: str = Field(min_length=1, max_length=1024)
    workspace: WorkspaceRef
    file_path: str = Field(min_length=1, max_length=4096)
    url: str | None = None
    media_type: str = "application/octet-stream"
    file_type: FileType = "SOURCE"
    file_size: int = Field(default=0, ge=0, le=MAX_INT64)
    checksum: str | None = Field(default=None, description="sha256:<hex> of the content")
    data_type_tags: list[str] = Field(default_factory=list)
    is_deleted: bool = False
    deleted: datetime | None = None
    created: datetime = Field(default_factory=utcnow)
    last_modified: datetime = Field(default_factory=utcnow)
    data_started: datetime | None = None
    data_ended: datetime | None = None
    source_started: datetime | None = None
    source_ended: datetime | None = None
    source_sensor_class: str | None = None
    source_sensor: str | None = None
    source_collection: str | None = None
    source_task: str | None = None
    geometry: dict[str, Any] | None = None
    center_point: dict[str, Any] | None = None
    countries: list[str] = Field(default_factory=list)
    job_type: JobTypeRef | None = None
    job: str | None = None
    job_exe: str | None = None
    job_output: str | None = None
    recipe_type: str | None = None
    recipe: str | None = None
    recipe_node: str | None = None
    batch: str | None = None
    is_superseded: bool = False
    superseded: datetime | None = None
    ancestors: list[str] = Field(default_factory=list, description="ids of the files it came from")
    meta_data: dict[str, Any] = Field(default_factory=dict)
    version: int = Field(
        default=1, ge=1, le=MAX_INT64, description="grows with every change; newest wins"
    )

    @field_validator("data_type_tags")
    @classmethod
    def _unique_tags(cls, tags: list[str]) -> list[str]:
        stripped = [t.strip() for t in tags]
        if stripped == tags and len(set(tags)) == len(tags) and "" not in tags:
            return tags  # already clean: every record read back from an index is
        return list(dict.fromkeys(t for t in stripped if t))

    def bump(self, **changes: Any) -> FileRecord:
        """A copy with ``changes`` applied, a higher version and a fresh last_modified."""
        data = self.model_dump()
        data.update(changes)
        data["version"] = self.version + 1
        data["last_modified"] = utcnow()
        return FileRecord.model_validate(data)

    def to_scale(self) -> dict[str, Any]:
        """The record as Scale serialises a file in INPUT_METADATA (JSON-ready)."""
        data = self.model_dump(mode="json")
        data["job_type"] = self.job_type.model_dump() if self.job_type else None
        return data
