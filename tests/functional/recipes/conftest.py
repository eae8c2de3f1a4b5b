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
        out.update(dict(db.execute("SELECT status, COUNT(*) FROM recipes GROUP BY status")))
    return out
