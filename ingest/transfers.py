"""Files still arriving, recorded as TRANSFERRING so ``seedpipe ingests list`` shows them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from ingest.ledger import Ingest, Ledger, Status


class Transfers:
    """One TRANSFERRING ingest per file being written (under the name it will end with).

    Rows are written in batches by ``flush``, which only the strike's settle loop awaits, so a
    row it hands on with ``take`` is either saved (has an id) or not yet queued for saving.
    """

    def __init__(self, strike: str, ledger: Ledger) -> None:
        self.strike = strike
        self.ledger = ledger
        self.rows: dict[str, Ingest] = {}
        self._new: dict[int, Ingest] = {}
        self._gone: list[Ingest] = []

    def __len__(self) -> int:
        return len(self.rows)

    def started(self, name: str, now: float) -> None:
        if name not in self.rows:
            row = Ingest(self.strike, name, Status.TRANSFERRING, transfer_started=now)
            self.rows[name] = row
            self._new[id(row)] = row

    def first_seen(self, name: str) -> float | None:
        row = self.rows.get(name)
        return row.transfer_started if row else None

    def take(self, name: str) -> Ingest | None:
        """The row of a file that is complete now (no longer tracked here)."""
        row = self.rows.pop(name, None)
        if row is not None and row.id is None:
            self._new.pop(id(row), None)  # the ingest batch saves it instead
        return row

    def vanished(self, name: str) -> None:
        """The file went away before it was complete: its row goes too."""
        row = self.rows.pop(name, None)
        if row is not None and self._new.pop(id(row), None) is None:
            self._gone.append(row)  # saved, or being saved: removed by the next flush

    def prune(self, present: Iterable[str], suffixes: Iterable[str]) -> None:
        """Forget rows of names that no rescan can find any more, in any form."""
        names = set(present)
        ends = list(suffixes)
        for name in list(self.rows):
            if name not in names and not any(name + s in names for s in ends):
                self.vanished(name)

    async def flush(self) -> None:
        if not self._new and not self._gone:
            return
        new, self._new = list(self._new.values()), {}
        gone, self._gone = self._gone, []
        await asyncio.to_thread(self._save, new, gone)

    def _save(self, new: list[Ingest], gone: list[Ingest]) -> None:
        self.ledger.add(new)
        self.ledger.remove([r.id for r in gone if r.id is not None])
