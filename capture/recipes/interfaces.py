"""What a recipe node takes and gives: one Param shape for Seed manifests and Scale interfaces."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from capture.recipes.definition import Interface

if TYPE_CHECKING:
    from capture.seed.models import SeedManifest

Kind = Literal["file", "json"]


@dataclass(frozen=True)
class Param:
    name: str
    kind: Kind
    required: bool = True
    multiple: bool = False
    media_types: tuple[str, ...] = ()
    json_type: str | None = None

    def describe(self) -> str:
        if self.kind == "json":
            return f"JSON {self.json_type}"
        return "several files" if self.multiple else "one file"


@dataclass
class Signature:
    inputs: dict[str, Param] = field(default_factory=dict)
    outputs: dict[str, Param] = field(default_factory=dict)


def interface_params(interface: Interface) -> dict[str, Param]:
    out = {
        f.name: Param(f.name, "file", f.required, f.multiple, tuple(f.media_types))
        for f in interface.files
    }
    out.update(
        {j.name: Param(j.name, "json", j.required, json_type=j.type) for j in interface.json_}
    )
    return out


def manifest_signature(manifest: SeedManifest) -> Signature:
    """A Seed job's inputs and outputs (file and JSON) as recipe parameters."""
    iface = manifest.job.interface
    inputs = {
        f.name: Param(f.name, "file", f.required, f.multiple, tuple(f.mediaTypes))
        for f in iface.inputs.files
    }
    inputs.update(
        {j.name: Param(j.name, "json", j.required, json_type=j.type) for j in iface.inputs.json_}
    )
    outputs = {
        f.name: Param(f.name, "file", f.required, f.multiple, (f.mediaType,) if f.mediaType else ())
        for f in iface.outputs.files
    }
    outputs.update(
        {j.name: Param(j.name, "json", j.required, json_type=j.type) for j in iface.outputs.json_}
    )
    return Signature(inputs, outputs)


def media_matches(produced: str, accepted: str) -> bool:
    """One media type against another, either of them possibly ``type/*``."""
    a, b = produced.lower().split(";", 1)[0].strip(), accepted.lower().split(";", 1)[0].strip()
    if a == b or "*/*" in (a, b):
        return True
    if b.endswith("/*") and a.startswith(b[:-1]):
        return True
    return a.endswith("/*") and b.startswith(a[:-1])


def media_can_match(produced: Sequence[str], accepted: Sequence[str]) -> bool:
    """False only when both sides name media types and none of them can meet."""
    if not produced or not accepted:
        return True
    return any(media_matches(p, a) for p in produced for a in accepted)


def json_type_fits(source: str | None, target: str | None) -> bool:
    """An integer fits a number input; otherwise the types must be the same."""
    return source == target or (source == "integer" and target == "number")
