"""The recipe example in a temporary folder, on the embedded defaults."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest

from seedpipe.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "recipe"
WATERMARK = ROOT / "examples" / "watermark"


def example_config(extra: str = "", *, bus: str = "sqlite:///events.db") -> str:
    """examples/recipe/seedpipe.toml with absolute paths, a fast bus and no API."""
    text = (EXAMPLE / "seedpipe.toml").read_text(encoding="utf-8")
    text = text.replace('"../watermark/', f'"{WATERMARK}/')
    text = text.replace("python ../watermark/", f"python {WATERMARK}/")
    text = text.replace(
        'manifest = "seed.manifest.json"', f'manifest = "{EXAMPLE}/seed.manifest.json"'
    )
    text = text.replace("python report.py", f"python {EXAMPLE}/report.py")
    text = text.replace('"recipes/mark-and-check.json"', f'"{EXAMPLE}/recipes/mark-and-check.json"')
    text = text.replace("settle_s = 0.5", "settle_s = 0.2")
    text = text.replace(
        'data_dir = "data"', f'data_dir = "data"\n[bus]\nurl = "{bus}"\nbackoff_initial_s = 0.05'
    )
    return text + "\n[capture]\ncpus = 2\n" + extra


@pytest.fixture
def recipe_root(tmp_path: Path) -> Path:
    (tmp_path / "drop").mkdir()
    (tmp_path / "seedpipe.toml").write_text(example_config())
    return tmp_path


def load(root: Path) -> Settings:
    return Settings.load(root / "seedpipe.toml")


def recipe_counts(settings: Settings) -> dict[str, int]:
    path = settings.path("recipes.db")
    out = {"running": 0, "completed": 0, "failed": 0}
    if not path.exists():
        return out
    with contextlib.closing(sqlite3.connect(path)) as db:
        try:
            rows = db.execute("SELECT status, COUNT(*) FROM recipes GROUP BY status")
            out.update(dict(rows))
        except sqlite3.OperationalError:  # the file exists, its schema not yet: none so far
            return out
    return out


COLLECT_MANIFEST = {
    "seedVersion": "1.0.0",
    "job": {
        "name": "collect",
        "jobVersion": "1.0.0",
        "packageVersion": "1.0.0",
        "title": "Collect",
        "description": "Writes its Scale context as a product and counts its files.",
        "maintainer": {"name": "t", "email": "t@example.com"},
        "timeout": 30,
        "interface": {
            "command": "${OUTPUT_DIR}",
            "inputs": {
                "files": [{"name": "FILES", "multiple": True}],
                "json": [
                    {"name": "LABEL", "type": "string"},
                    {"name": "N", "type": "integer", "required": False},
                ],
            },
            "outputs": {
                "files": [
                    {
                        "name": "CONTEXT",
                        "pattern": "*_context.json",
                        "mediaType": "application/json",
                    }
                ],
                "json": [{"name": "COUNT", "type": "integer"}],
            },
        },
        "errors": [{"code": 3, "name": "told-to-fail", "category": "data"}],
    },
}

COLLECT_SCRIPT = """
import json, os, sys
from pathlib import Path
out = Path(sys.argv[1])
label = os.environ["LABEL"]
if label == "fail" and Path(__file__).with_name("fail-marker").exists():
    sys.exit(3)
context = json.loads(Path(os.environ["INPUT_METADATA"]).read_text())
files = sorted(os.listdir(os.environ["FILES"]))
(out / f"{label}_context.json").write_text(json.dumps({"context": context, "files": files}))
count = len(files) + int(os.environ.get("N") or 0)
(out / "seed.outputs.json").write_text(json.dumps({"COUNT": count}))
"""


def collect_job_type(root: Path) -> str:
    """The ``collect`` job type's config section, its manifest and script written under root."""
    import json

    folder = root / "collect"
    folder.mkdir(exist_ok=True)
    (folder / "seed.manifest.json").write_text(json.dumps(COLLECT_MANIFEST))
    (folder / "collect.py").write_text(COLLECT_SCRIPT)
    return f"""
[[job_types]]
name = "collect"
manifest = "{folder / "seed.manifest.json"}"
entrypoint = "python {folder / "collect.py"}"
output_workspace = "output"
max_attempts = 1
"""
