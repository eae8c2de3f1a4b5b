"""Seed entrypoint of the image-watermark example: watermark a PNG, write its sidecars."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from PIL import Image, ImageDraw, UnidentifiedImageError

EXIT_NOT_PNG = 1  # the manifest's image-Corrupt-1 (a data error)
EXIT_FAILURE = 2  # the manifest's algorithm-failure
# Where and when the sample imagery was taken, unless the PNG's text chunks say otherwise.
DEFAULT_POINT = [125.6, 10.1]
DEFAULT_START, DEFAULT_END = "2019-10-14T00:00:00Z", "2019-10-14T00:01:00Z"


def watermark(image: Image.Image, text: str = "seedpipe") -> Image.Image:
    base = image.convert("RGBA")
    overlay = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    step = max(24, min(base.size) // 4)
    for y in range(0, base.height, step):
        for x in range(-(y % (2 * step)), base.width, 2 * step):
            draw.text((x, y), text, fill=(255, 255, 255, 110))
    return Image.alpha_composite(base, overlay)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: watermark.py INPUT_IMAGE OUTPUT_DIR", file=sys.stderr)
        return EXIT_FAILURE
    source, out_dir = Path(argv[0]), Path(argv[1])
    try:
        with Image.open(source) as img:
            if img.format != "PNG":
                raise UnidentifiedImageError(f"{img.format} is not PNG")
            img.load()
            info = dict(img.info)
            marked = watermark(img)
            size = img.size
    except (UnidentifiedImageError, SyntaxError) as exc:
        print(f"{source.name}: not a valid PNG: {exc}", file=sys.stderr)
        return EXIT_NOT_PNG
    except OSError as exc:
        if exc.errno is not None:  # the system failed (missing, unreadable), not the data
            raise
        print(f"{source.name}: not a valid PNG: {exc}", file=sys.stderr)  # truncated, bad CRC
        return EXIT_NOT_PNG
    target = out_dir / f"{source.stem}_watermark.png"
    marked.save(target, format="PNG")
    point = DEFAULT_POINT
    if "longitude" in info and "latitude" in info:
        point = [float(info["longitude"]), float(info["latitude"])]
    started = str(info.get("dataStarted", DEFAULT_START))
    ended = str(info.get("dataEnded", DEFAULT_END))
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": point},
        "properties": {"dataStarted": started, "dataEnded": ended, "watermark": "seedpipe"},
    }
    Path(f"{target}.metadata.json").write_text(json.dumps(feature), encoding="utf-8")
    print(f"watermarked {source.name} ({size[0]}x{size[1]}) into {target.name} at {point}")
    input_meta = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": point},
        "properties": {
            "dataStarted": started,
            "dataEnded": ended,
            "dataTypes": ["image", "png"],
            "width": size[0],
            "height": size[1],
        },
    }
    Path(os.environ.get("OUTPUT_DIR", out_dir), "INPUT_IMAGE.metadata.json").write_text(
        json.dumps(input_meta), encoding="utf-8"
    )
    return 0


def run(argv: list[str]) -> int:
    """``main``, with every failure that is not "not a PNG" reported as the algorithm failure:
    Python's own exit code for an uncaught exception is 1, the never-retried data error."""
    try:
        return main(argv)
    except Exception as exc:
        print(f"watermark failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
