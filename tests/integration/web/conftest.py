"""Headless Chromium (Debian's package) driven by Playwright for Python, for the page's tests."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import unavailable
from tests.functional.pipeline.conftest import pipeline_root  # noqa: F401 (a fixture)

CHROMIUM = os.environ.get("SEEDPIPE_CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium keeps calling out, and this machine's
# closed network refuses it many times a second.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[Any]:
    """A fresh Chromium for one test (fails in CI when it cannot start, skips elsewhere)."""
    if not Path(CHROMIUM).exists():
        unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        unavailable("playwright is not installed (pip install -e '.[dev]')")
    async with async_playwright() as pw:
        try:
            launched = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        except Exception as exc:
            unavailable(f"Chromium did not start: {exc}")
        try:
            yield launched
        finally:
            await launched.close()
