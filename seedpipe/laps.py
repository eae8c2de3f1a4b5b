"""Seconds per named step of a long operation, for its log line and its caller's progress."""

from __future__ import annotations

import time
from collections.abc import Callable


class Laps:
    """Each step runs from its ``begin`` to the next one's (or ``end``); ``on_step`` is told
    each step's name as it begins. ``end`` returns ``{"<step>_s": seconds}``."""

    def __init__(self, on_step: Callable[[str], None] | None = None) -> None:
        self.on_step = on_step
        self.took: dict[str, float] = {}
        self.name: str | None = None
        self.start = 0.0

    def begin(self, name: str) -> None:
        self.end()
        self.name, self.start = name, time.perf_counter()
        if self.on_step is not None:
            self.on_step(name)

    def end(self) -> dict[str, float]:
        if self.name is not None:
            self.took[f"{self.name}_s"] = round(time.perf_counter() - self.start, 3)
            self.name = None
        return self.took
