"""Pydantic models of the Seed 1.0.0 manifest, strict like its JSON schema, defaults applied."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

NAME_PATTERN = r"^[a-zA-Z0-9_-]+$"
JOB_NAME_PATTERN = r"^[a-zA-Z0-9-]+$"
# SemVer 2.0.0, as the Seed schema spells it.
SEMVER_PATTERN = (
    r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
    r"(-(0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)(\.(0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*))*)?"
    r"(\+[0-9a-zA-Z-]+(\.[0-9a-zA-Z-]+)*)?$"
)
JsonType = Literal["array", "boolean", "integer", "number", "object", "string"]


class _Strict(BaseModel):
    # strict: the JSON schema does not coerce "1" into 1 or 1 into true.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Maintainer(_Strict):
    name: str
    email: str
    organization: str | None = None
    url: str | None = None
    phone: str | None = None


class Scalar(_Strict):
    # Member names keep the manifest's camelCase so errors point at what the user wrote.
    name: str = Field(pattern=NAME_PATTERN)
    value: float
    inputMultiplier: float | None = None


class Resources(_Strict):
    scalar: list[Scalar] = Field(default_factory=list)


class InputFile(_Strict):
    name: str = Field(pattern=NAME_PATTERN)
    required: bool = True
    mediaTypes: list[str] = Field(default_factory=list)
    multiple: bool = False
    partial: bool = False


class InputJson(_Strict):
    name: str = Field(pattern=NAME_PATTERN)
    type: JsonType
    required: bool = True


class Inputs(_Strict):
    files: list[InputFile] = Field(default_factory=list)
    json_: list[InputJson] = Field(default_factory=list, alias="json")


class OutputFile(_Strict):
    name: str = Field(pattern=NAME_PATTERN)
    pattern: str
    mediaType: str | None = None
    multiple: bool = False
    required: bool = True


class OutputJson(_Strict):
    name: str = Field(pattern=NAME_PATTERN)
    type: JsonType
    key: str | None = None
    required: bool = True

    @property
    def member(self) -> str:
        """The seed.outputs.json member this output reads."""
        return self.key if self.key is not None else self.name


class Outputs(_Strict):
    files: list[OutputFile] = Field(default_factory=list)
    json_: list[OutputJson] = Field(default_factory=list, alias="json")


class Mount(_Strict):
    name: str = Field(pattern=NAME_PATTERN)
    path: str
    mode: Literal["ro", "rw"] = "ro"


class Setting(_Strict):
    name: str = Field(pattern=NAME_PATTERN)
    secret: bool = False


class Interface(_Strict):
    command: str | None = None
    inputs: Inputs = Field(default_factory=Inputs)
    outputs: Outputs = Field(default_factory=Outputs)
    mounts: list[Mount] = Field(default_factory=list)
    settings: list[Setting] = Field(default_factory=list)


class ErrorDef(_Strict):
    code: int
    name: str = Field(pattern=NAME_PATTERN)
    title: str | None = None
    description: str | None = None
    category: Literal["job", "data"] = "job"


class Job(_Strict):
    name: str = Field(pattern=JOB_NAME_PATTERN)
    jobVersion: str = Field(pattern=SEMVER_PATTERN)
    packageVersion: str = Field(pattern=SEMVER_PATTERN)
    title: str
    description: str
    maintainer: Maintainer
    timeout: int
    tags: list[str] = Field(default_factory=list)
    resources: Resources = Field(default_factory=Resources)
    interface: Interface = Field(default_factory=Interface)
    errors: list[ErrorDef] = Field(default_factory=list)


class SeedManifest(_Strict):
    """A whole ``seed.manifest.json``; build it with ``capture.seed.load_manifest``."""

    seedVersion: str = Field(pattern=r"^1\.0\.0$")
    job: Job

    def input_file(self, name: str) -> InputFile | None:
        return next((f for f in self.job.interface.inputs.files if f.name == name), None)

    def input_json(self, name: str) -> InputJson | None:
        return next((j for j in self.job.interface.inputs.json_ if j.name == name), None)

    def setting(self, name: str) -> Setting | None:
        return next((s for s in self.job.interface.settings if s.name == name), None)

    def mount(self, name: str) -> Mount | None:
        return next((m for m in self.job.interface.mounts if m.name == name), None)

    def resource(self, name: str) -> Scalar | None:
        return next((r for r in self.job.resources.scalar if r.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        """The manifest as JSON data, with the defaults written out."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
