"""When is a dropped file complete: no transfer suffix, not a dot-file, size and mtime settled."""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass


def is_hidden(relpath: str) -> bool:
    """Dot-files and anything under a dot-directory are never ingested (ours live there too)."""
    return any(part.startswith(".") for part in relpath.split("/"))


def transfer_suffix(relpath: str, suffixes: Sequence[str]) -> str | None:
    """The transfer suffix ``relpath`` carries (the file is still being written), or None."""
    for suffix in suffixes:
        if suffix and relpath.endswith(suffix) and len(relpath) > len(suffix):
            return suffix
    return None


def strip_transfer_suffix(relpath: str, suffixes: Sequence[str]) -> str:
    """The name the file will have once its transfer ends: the suffix removed, not its characters.

    ``str.rstrip("_tmp")`` would turn ``map_tmp`` into ``ma``; this turns it into ``map``.
    """
    suffix = transfer_suffix(relpath, suffixes)
    return relpath[: -len(suffix)] if suffix else relpath


@dataclass(slots=True)
class _Seen:
    size: int
    mtime_ns: int
    stable_since: float
    first_seen: float


class SettleTracker:
    """Files waiting for their size and mtime to stay unchanged for ``settle_s`` seconds.

    ``seen`` (re)starts a file's clock when its size or mtime changed; ``due`` lists files whose
    clock ran out, which the caller re-stats and passes to ``confirm``.
    """

    def __init__(self, settle_s: float) -> None:
        self.settle_s = settle_s
        self._files: dict[str, _Seen] = {}
        self._heap: list[tuple[float, str]] = []

    def __len__(self) -> int:
        return len(self._files)

    def __contains__(self, key: object) -> bool:
        return key in self._files

    def seen(self, key: str, size: int, mtime_ns: int, now: float) -> None:
        entry = self._files.get(key)
        if entry is not None and entry.size == size and entry.mtime_ns == mtime_ns:
            return
        first = entry.first_seen if entry else now
        self._files[key] = _Seen(size, mtime_ns, now, first)
        heapq.heappush(self._heap, (now + self.settle_s, key))

    def next_deadline(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def due(self, now: float) -> list[str]:
        keys: list[str] = []
        while self._heap and self._heap[0][0] <= now:
            deadline, key = heapq.heappop(self._heap)
            entry = self._files.get(key)
            # Stale heap entries (the file changed and got a later deadline) are skipped.
            if entry is not None and entry.stable_since + self.settle_s == deadline:
                keys.append(key)
        return keys

    def confirm(self, key: str, size: int, mtime_ns: int, now: float) -> float | None:
        """The file's first-seen time when unchanged (it is complete and forgotten), else None."""
        entry = self._files.get(key)
        if entry is None:
            return None
        if entry.size == size and entry.mtime_ns == mtime_ns:
            del self._files[key]
            return entry.first_seen
        self.seen(key, size, mtime_ns, now)
        return None

    def forget(self, key: str) -> None:
        self._files.pop(key, None)
