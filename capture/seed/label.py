"""The manifest of a Seed image, read from its ``com.ngageoint.seed.manifest`` label."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from capture.seed.models import SeedManifest
from capture.seed.validate import load_manifest
from seedpipe.errors import JobError, ManifestError

LABEL = "com.ngageoint.seed.manifest"


def parse_label(value: str) -> dict[str, Any]:
    """Decode a label value: plain JSON, a JSON string holding JSON, or backslash-escaped JSON.

    Seed images carry the manifest as a string-escaped serialized object; depending on how the
    Dockerfile quoted it, the label reaches us in one of these three shapes.
    """
    text = value.strip()
    data: Any = None
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        # Backslash-escaped object text, e.g. {\"seedVersion\":\"1.0.0\",...}
        try:
            data = json.loads(json.loads(f'"{text}"'))
        except json.JSONDecodeError as exc:
            raise ManifestError(
                f"label {LABEL}: not JSON, escaped or plain",
                [("$", f"label {LABEL} is not JSON: {exc.msg}")],
            ) from exc
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as exc:
            raise ManifestError(
                f"label {LABEL}: the string holds no JSON object",
                [("$", f"label {LABEL} holds a string that is not JSON: {exc.msg}")],
            ) from exc
    if not isinstance(data, dict):
        raise ManifestError(
            f"label {LABEL}: not a JSON object", [("$", "the manifest must be a JSON object")]
        )
    return data


def image_labels(image: str, docker: str = "docker") -> dict[str, str]:
    """The labels of a local Docker image (``docker image inspect``)."""
    if image.startswith("-"):
        raise ManifestError(f"image {image!r} may not start with '-'")
    try:
        proc = subprocess.run(
            [docker, "image", "inspect", "--format", "{{json .Config.Labels}}", "--", image],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise JobError(f"cannot inspect image {image!r}: {exc}") from exc
    if proc.returncode != 0:
        raise JobError(f"cannot inspect image {image!r}: {proc.stderr.strip()}")
    labels = json.loads(proc.stdout or "null") or {}
    return {str(k): str(v) for k, v in labels.items()}


def manifest_from_image(image: str, docker: str = "docker") -> SeedManifest:
    """Load and validate the Seed manifest baked into ``image``."""
    labels = image_labels(image, docker)
    if LABEL not in labels:
        raise ManifestError(f"image {image!r} has no {LABEL} label; is it a Seed image?")
    return load_manifest(parse_label(labels[LABEL]))
