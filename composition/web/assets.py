"""The page's built files (``web/`` bundled into ``static/``) and the page that names them."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STATIC = Path(__file__).resolve().parent / "static"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")
TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".map": "application/json",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
}
NOT_BUILT = "The web page is not built: run `make setup` (or `cd web && npm ci && npm run build`)."


@dataclass(frozen=True)
class Built:
    js: str
    css: str
    files: frozenset[str]


def built(root: Path = STATIC) -> Built | None:
    """What the last ``npm run build`` made, or None when it has not run (asked again later)."""
    found = _built.get(root)
    if found is None:
        found = _read(root)
        if found is not None:
            _built[root] = found
    return found


_built: dict[Path, Built] = {}


def _read(root: Path) -> Built | None:
    try:
        manifest = json.loads((root / "manifest.json").read_text("utf-8"))
        files = frozenset(
            p.name
            for p in root.iterdir()
            if p.is_file() and p.suffix in TYPES and _NAME.match(p.name)
        )
        js, css = str(manifest["js"]), str(manifest["css"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if js not in files or css not in files:
        return None
    return Built(js=js, css=css, files=files)


def asset_path(name: str, root: Path = STATIC) -> Path | None:
    """The file ``name`` names among the built ones (never anything outside ``static/``)."""
    found = built(root)
    if found is None or not _NAME.match(name) or name not in found.files:
        return None
    return root / name


def page(config: dict[str, Any], assets: Built, prefix: str = "/ui/assets") -> str:
    # The config goes in as JSON inside a script element: "<" is escaped so no value can end it.
    data = json.dumps(config, separators=(",", ":")).replace("<", "\\u003c")
    css = html.escape(f"{prefix}/{assets.css}")
    js = html.escape(f"{prefix}/{assets.js}")
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>seedpipe catalogue</title>
<link rel="stylesheet" href="{css}">
</head>
<body>
<div id="app"></div>
<script id="seedpipe-config" type="application/json">{data}</script>
<script src="{js}" defer></script>
</body>
</html>
"""
