"""The recipe store's batch queries: a batch's recipes counted, walked by file, and
canceled."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

from capture.recipes.store.table import RecipeTable

# A recipe has started once one of these nodes is no longer waiting (conditions need no job).
STARTED = (
    "EXISTS (SELECT 1 FROM recipe_nodes n WHERE n.recipe_id = recipes.id "
    "AND n.kind != 'condition' AND n.state IN ('running', 'completed', 'failed'))"
)


class BatchRecipes(RecipeTable):
    """The queries of a batch's recipes (``batch`` set), and canceling recipes."""

    def batch_counts(self, batch: str, running: Sequence[str] = ()) -> dict[str, int]:
        """A batch's recipes (not their sub-recipes) by state: queued (none of its jobs has
        started), running, completed, failed, canceled. ``running`` are recipes with a job
        running now (a node's state catches up with its job only when the engine looks)."""
        out = {"queued": 0, "running": 0, "completed": 0, "failed": 0, "canceled": 0}
        rows = self._exec(
            "SELECT status, COUNT(*) FROM recipes WHERE batch = ? AND parent IS NULL "
            "GROUP BY status",
            (batch,),
        ).fetchall()
        out.update({r[0]: r[1] for r in rows})
        if out["running"]:
            started = self._started(batch, list(running))
            out["queued"] = out["running"] - started
            out["running"] = started
        return out

    def _started(self, batch: str, running: list[str]) -> int:
        among = f"id IN ({', '.join('?' for _ in running)}) OR " if running else ""
        row = self._exec(
            "SELECT COUNT(*) FROM recipes WHERE batch = ? AND parent IS NULL "  # noqa: S608
            f"AND status = 'running' AND ({among}{STARTED})",
            (batch, *running),
        ).fetchone()
        return int(row[0])

    def batch_file_ids(
        self, batch: str, after: int = 0, limit: int = 1000
    ) -> list[tuple[int, str]]:
        """(rowid, file id) of a batch's recipes after ``after``, in rowid order (a cursor)."""
        rows = self._exec(
            "SELECT rowid, batch_file FROM recipes WHERE batch = ? AND parent IS NULL "
            "AND rowid > ? ORDER BY rowid LIMIT ?",
            (batch, after, limit),
        ).fetchall()
        return [(int(r[0]), str(r[1])) for r in rows]

    def unstarted(self, batch: str, keep: Sequence[str] = ()) -> list[str]:
        """A batch's running recipes none of whose job or sub-recipe nodes has started, but
        for ``keep`` (recipes with a job running that their nodes do not show yet)."""
        where = f"batch = ? AND status = 'running' AND parent IS NULL AND NOT {STARTED}"
        if keep:
            where += f" AND id NOT IN ({', '.join('?' for _ in keep)})"
        rows = self._exec(f"SELECT id FROM recipes WHERE {where}", (batch, *keep))  # noqa: S608
        return [str(r[0]) for r in rows.fetchall()]

    def cancel(self, ids: Sequence[str], by: str) -> list[str]:
        """Mark the running ones of ``ids`` canceled (``error.canceled_by`` says who); those
        it changed."""
        error = json.dumps({"reason": f"canceled by {by}", "canceled_by": by})
        done: list[str] = []
        with self._transaction() as db:
            for rid in ids:
                cur = db.execute(
                    "UPDATE recipes SET status = 'canceled', ended = ?, error = ? "
                    "WHERE id = ? AND status = 'running'",
                    (time.time(), error, rid),
                )
                if cur.rowcount == 1:
                    done.append(rid)
        return done

    def cancel_batch(
        self, batch: str, by: str, *, started: bool, keep: Sequence[str] = ()
    ) -> list[str]:
        """Cancel a batch's running recipes that have not started (every running one, with
        their sub-recipes, when ``started``), except ``keep``; the ids canceled."""
        if not started:
            return self.cancel(self.unstarted(batch, keep), by)
        rows = self._exec("SELECT id FROM recipes WHERE batch = ? AND status = 'running'", (batch,))
        return self.cancel([str(r[0]) for r in rows.fetchall()], by)
