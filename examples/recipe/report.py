"""Seed entrypoint of the recipe example's image-report job: size, context, a JSON output."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from PIL import Image, UnidentifiedImageError

EXIT_UNREADABLE = 1


def main(argv: list[str]) -> int:
    source, out_dir = Path(argv[0]), Path(argv[1])
    try:
        with Image.open(source) as img:
            width, height = img.size
    except (UnidentifiedImageError, OSError) as exc:
        print(f"{source.name}: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    context = json.loads(Path(os.environ["INPUT_METADATA"]).read_text(encoding="utf-8"))
    pixels = width * height
    minimum = int(os.environ.get("MIN_PIXELS") or 0)
    report = {
        "source": source.name,
        "width": width,
        "height": height,
        "pixels": pixels,
        "at_least_min_pixels": pixels >= minimum,
        "marked": Path(os.environ["MARKED"]).name if os.environ.get("MARKED") else None,
        # What Scale's context said: the job's inputs and the recipe's.
        "job_inputs": sorted(context.get("JOB", {})),
        "recipe_inputs": sorted(context.get("RECIPE", {})),
        "source_meta_data": context["JOB"]["SOURCE"][0].get("meta_data", {}),
    }
    (out_dir / f"{source.stem}_report.json").write_text(json.dumps(report), encoding="utf-8")
    (out_dir / "seed.outputs.json").write_text(json.dumps({"PIXELS": pixels}), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
