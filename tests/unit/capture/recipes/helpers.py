"""Job types and definitions the recipe unit tests share."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from capture.jobtypes import JobType, load_job_type
from seedpipe.settings import JobTypeSettings

ROOT = Path(__file__).resolve().parents[4]
WATERMARK = ROOT / "examples" / "watermark"
EXAMPLE = ROOT / "examples" / "recipe"


def job_types() -> dict[str, JobType]:
    out = {}
    for name, folder, script in (
        ("image-watermark", WATERMARK, "watermark.py"),
        ("image-report", EXAMPLE, "report.py"),
    ):
        settings = JobTypeSettings(
            name=name,
            manifest=str(folder / "seed.manifest.json"),
            entrypoint=f"python {script}",
            output_workspace="output",
        )
        out[name] = load_job_type(settings, folder)
    return out


def example_definition() -> dict[str, Any]:
    raw: dict[str, Any] = json.loads((EXAMPLE / "recipes" / "mark-and-check.json").read_text())
    return copy.deepcopy(raw)
