"""Cyclic garbage collection held off over bursts of short-lived, acyclic allocations."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection inside: for bursts of acyclic allocations (a write batch,
    a page of decoded records), where each collection would walk every object made so far."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()
