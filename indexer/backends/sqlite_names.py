"""File names by trigram: "file name contains" without reading every row.

An FTS5 trigram index over ``files.name_lc`` (external content, kept by triggers) finds the
rows whose name holds the needle's trigrams in sequence. It is a prefilter: the exact
``instr`` test still runs on each row it yields. A needle shorter than three characters, or so
common that it matches more than ``PROBE_MAX`` names, is left to the plain scan, which is then
no slower than a prefilter list that long.
"""

from __future__ import annotations

import json
import sqlite3
import time

PROBE_MAX = 50_000  # names: beyond this, scanning files costs about what the list saves
PROBE_S = 0.15  # a probe that takes longer is abandoned for the scan (a safety net)
PROBE_STEPS = 2000  # SQLite VM steps between two looks at the clock

SCHEMA = """
CREATE VIRTUAL TABLE IF NOT EXISTS names USING fts5(
  name_lc, content='files', content_rowid='rid', tokenize='trigram', detail='full');
CREATE TRIGGER IF NOT EXISTS files_names_insert AFTER INSERT ON files BEGIN
  INSERT INTO names (rowid, name_lc) VALUES (new.rid, new.name_lc);
END;
CREATE TRIGGER IF NOT EXISTS files_names_delete AFTER DELETE ON files BEGIN
  INSERT INTO names (names, rowid, name_lc) VALUES ('delete', old.rid, old.name_lc);
END;
CREATE TRIGGER IF NOT EXISTS files_names_update AFTER UPDATE OF name_lc ON files BEGIN
  INSERT INTO names (names, rowid, name_lc) VALUES ('delete', old.rid, old.name_lc);
  INSERT INTO names (rowid, name_lc) VALUES (new.rid, new.name_lc);
END;
"""


def name_candidates(con: sqlite3.Connection, needle: str | None) -> str | None:
    """Rows (a JSON list of rids) whose casefolded name may contain ``needle``, or None when
    the trigram index cannot narrow the search cheaply (short or very common needles)."""
    if needle is None:
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
