"""Settings sections of the services: ingest strikes and rules, job types, triggers, capture
and the HTTP API."""

from __future__ import annotations

import os
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from seedpipe.settings.sections import _Section


class IngestRule(_Section):
    filename_regex: str
    data_types: list[str] = Field(default_factory=list)
    new_workspace: str | None = None
    new_file_path: str | None = Field(
        default=None,
        description="template: {yyyy} {mm} {dd} {date} {file_name} {stem} {ext} and named groups",
    )


class StrikeSettings(_Section):
    """One drop location watched for new files (Scale's Strike)."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    drop: str = Field(description="file:///dir or s3://bucket/prefix")
    workspace: str = Field(description="workspace the files are ingested into")
    rules: list[IngestRule] = Field(default_factory=list)
    transfer_suffixes: list[str] = Field(default_factory=lambda: ["_tmp", ".part"])
    settle_s: float = Field(default=1.0, ge=0)
    polling: bool = Field(default=False, description="poll instead of inotify (NFS/SMB mounts)")
    poll_interval_s: float = Field(default=1.0, gt=0)
    duplicates: Literal["skip", "replace", "version", "error"] = "skip"
    sqs_queue_url: str | None = None
    list_interval_s: float | None = Field(default=None, gt=0)
    endpoint_url: str | None = None
    region: str | None = None


class JobTypeSettings(_Section):
    """A Seed manifest plus how to run it."""

    name: str
    manifest: str = Field(description="path to seed.manifest.json (relative to the config file)")
    runtime: Literal["process", "docker"] = "process"
    entrypoint: str | None = None
    image: str | None = None
    output_workspace: str
    max_concurrent: int = Field(default=2, ge=1)
    max_attempts: int = Field(default=3, ge=1)
    settings: dict[str, SecretStr] = Field(default_factory=dict)
    mounts: dict[str, str] = Field(default_factory=dict)
    sandbox: bool = Field(
        default=False,
        description="process runtime: run each job in bubblewrap (bwrap), seeing its job "
        "directory read-write, its inputs and the rest read-only, seedpipe's data_dir not at "
        "all, in a PID namespace it cannot leave",
    )


class MetaComparison(_Section):
    """A condition on a meta_data property, with Scale's recipe-condition operators."""

    property: str
    op: Literal["==", "!=", "<", "<=", ">", ">=", "between", "in", "contains"]
    value: Any


class TriggerConditions(_Section):
    data_types_all: list[str] = Field(default_factory=list)
    data_types_any: list[str] = Field(default_factory=list)
    data_types_none: list[str] = Field(default_factory=list)
    media_types: list[str] = Field(default_factory=list)
    file_name_regex: str | None = None
    workspaces: list[str] = Field(default_factory=list)
    intersects: dict[str, Any] | None = None
    data_time: str | None = Field(default=None, description="ISO interval, open ends with ..")
    meta_data: list[MetaComparison] = Field(default_factory=list)


class RecipeTypeSettings(_Section):
    """A recipe type: Scale's recipe definition JSON (version 6 or 7), read as it is."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    definition: str = Field(description="path to the definition JSON (relative to the config)")


class TriggerSettings(_Section):
    name: str
    on: list[str] = Field(default_factory=lambda: ["seedpipe.file.ingested"])
    job_type: str | None = Field(default=None, description="the job type the trigger starts")
    recipe_type: str | None = Field(default=None, description="or the recipe type it starts")
    input: str = Field(description="the job input (or recipe input) the file is given to")
    conditions: TriggerConditions = Field(default_factory=TriggerConditions)
    subscription: str | None = Field(default=None, description="for subscription.matched")


class CaptureSettings(_Section):
    work_dir: str = "jobs"
    cpus: float = Field(default_factory=lambda: float(os.cpu_count() or 1), gt=0)
    mem_mib: float = Field(default=4096, gt=0)
    keep_job_dirs: bool = False
    job_log_max_mib: float = Field(
        default=64, gt=0, description="job.log keeps this much of each run's stdout and stderr"
    )
    commit: Literal["queued", "finished", "auto"] = Field(
        default="auto",
        description="commit a trigger event once its jobs are queued, or once they are finished "
        "(survives losing this copy's job store); auto: finished on Kafka, queued on SQLite",
    )
    consumers: int | None = Field(
        default=None, ge=1, description="consumers waiting on jobs when commit is finished"
    )


class ApiAuthSettings(_Section):
    """Who may change things over HTTP: bearer tokens and/or basic credentials (never logged)."""

    tokens: list[SecretStr] = Field(default_factory=list, description="accepted bearer tokens")
    username: str | None = Field(default=None, min_length=1, max_length=256)
    password: SecretStr | None = None
    protect_reads: bool = Field(default=False, description="ask for credentials on reads too")

    @model_validator(mode="after")
    def _pair(self) -> ApiAuthSettings:
        if (self.username is None) != (self.password is None):
            missing = "password" if self.password is None else "username"
            raise ValueError(f"{missing}: basic credentials need both username and password")
        for i, token in enumerate(self.tokens):
            if len(token.get_secret_value()) < 16:
                raise ValueError(f"tokens[{i}]: a bearer token must be at least 16 characters")
        if self.protect_reads and not self.enabled:
            raise ValueError("protect_reads: needs tokens or username and password")
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.tokens) or self.username is not None


class ApiSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    public_url: str | None = None
    tile_url: str | None = Field(
        default=None,
        description="XYZ tiles for the web map, https://host/{z}/{x}/{y}.png; else the offline "
        "country outlines",
        max_length=2048,
    )
    tile_attribution: str = Field(default="", max_length=512)

    @field_validator("tile_url")
    @classmethod
    def _xyz(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http(s) URL")
        missing = [p for p in ("{z}", "{x}", "{y}") if p not in value]
        if missing:
            raise ValueError(f"must contain {', '.join(missing)} (an XYZ tile template)")
        if any(c in value for c in "\"'<>\\ ") or any(ord(c) < 32 for c in value):
            raise ValueError(
                "must not contain quotes, angle brackets, spaces or control characters"
            )
        return value

    cors_origins: list[str] = Field(
        default_factory=list,
        description='origins allowed to call the API from a browser ("*" for any); none: no CORS',
    )
    license: str = Field(
        default="proprietary",
        min_length=1,
        max_length=128,
        description="the STAC license of every collection (an SPDX id, or proprietary)",
    )
    auth: ApiAuthSettings = Field(default_factory=ApiAuthSettings)
