"""File names by trigram: "file name contains" without reading every row.

An FTS5 trigram index over ``files.name_lc`` (external content) finds the
rows whose name holds the needle's trigrams in sequence. It is a prefilter: the exact
``instr`` test still runs on each row it yields. A needle shorter than three characters, or so
common that it matches more than ``PROBE_MAX`` names, is left to the plain scan, which is then
no slower than a prefilter list that long.
"""

from __future__ import annotations

import json
import sqlite3
import time

from indexer.backends.sqlite import bulk

PROBE_MAX = 50_000  # names: beyond this, scanning files costs about what the list saves
PROBE_S = 0.15  # a probe that takes longer is abandoned for the scan (a safety net)
PROBE_STEPS = 2000  # SQLite VM steps between two looks at the clock

SCHEMA = """
CREATE VIRTUAL TABLE IF NOT EXISTS names USING fts5(
  name_lc, content='files', content_rowid='rid', tokenize='trigram', detail='full');
"""
# Kept by the writer, not by triggers: FTS5 flushes its pending terms at every statement
# savepoint, and a trigger per row made one tiny segment per record (writes 30% slower).
INSERT = "INSERT INTO names (rowid, name_lc) VALUES (?, ?)"
# before the files rows go: an external-content index must be told the text it indexed
DELETE = (
    "INSERT INTO names (names, rowid, name_lc) SELECT 'delete', rid, name_lc FROM files "
    "WHERE rid IN (SELECT value FROM json_each(?))"
)


def name_candidates(con: sqlite3.Connection, needle: str | None) -> str | None:
    """Rows (a JSON list of rids) whose casefolded name may contain ``needle``, or None when
    the trigram index cannot narrow the search cheaply (short or very common needles)."""
    if needle is None:
        return None
    if bulk.mode(con) == bulk.ALL:  # a whole bulk load indexes the names only at its end
        return None
    needle = needle.casefold()
    if len(needle) < 3:
        return None
    phrase = '"' + needle.replace('"', '""') + '"'  # inside quotes FTS5 takes text literally
    deadline = time.perf_counter() + PROBE_S
    con.set_progress_handler(lambda: time.perf_counter() > deadline, PROBE_STEPS)
    try:
        rows = con.execute(
            "SELECT rowid FROM names WHERE names MATCH ? LIMIT ?", (phrase, PROBE_MAX + 1)
        ).fetchall()
    except sqlite3.OperationalError as exc:
        if "interrupted" in str(exc):
            return None
        raise
    finally:
        con.set_progress_handler(None, 0)
    if len(rows) > PROBE_MAX:
        return None
    return json.dumps([row[0] for row in rows])
