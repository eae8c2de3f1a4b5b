"""The recipe store (SQLite): one row per recipe and one per node, with deterministic ids."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from seedpipe.errors import InvalidInput, JobError
from seedpipe.sqlite import open_store

RecipeStatus = Literal["running", "completed", "failed", "canceled"]
RECIPE_STATUSES: tuple[RecipeStatus, ...] = ("running", "completed", "failed", "canceled")
NodeState = Literal["pending", "queued", "running", "completed", "failed", "skipped"]
NODE_STATES: tuple[NodeState, ...] = (
    "pending",
    "queued",
    "running",
    "completed",
    "failed",
    "skipped",
)

# Recipe ids: the same trigger and file (or the same explicit inputs) give the same recipe.
RECIPE_NAMESPACE = uuid.UUID("3d1f6b2a-8c4e-4f0a-9b7d-5e2c1a0f9d84")

SCHEMA = """
CREATE TABLE IF NOT EXISTS recipes (
    id TEXT PRIMARY KEY,
    recipe_type TEXT NOT NULL,
    definition TEXT NOT NULL,
    inputs TEXT NOT NULL,
    files TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL,
    trigger TEXT,
    event_id TEXT,
    parent TEXT,
    parent_node TEXT,
    created REAL NOT NULL,
    ended REAL,
    error TEXT,
    batch TEXT,
    batch_file TEXT,
    supersede INTEGER NOT NULL DEFAULT 1,
    priority INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS recipes_status ON recipes (status, created);
CREATE INDEX IF NOT EXISTS recipes_type ON recipes (recipe_type, created);
CREATE TABLE IF NOT EXISTS recipe_nodes (
    recipe_id TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    job_id TEXT,
    sub_recipe TEXT,
    accepted INTEGER,
    outputs TEXT,
    reason TEXT,
    started REAL,
    ended REAL,
    PRIMARY KEY (recipe_id, name)
);
"""
# Columns added after the first release: a store written before them gains them on open.
ADDED_COLUMNS = {
    "batch": "TEXT",
    "batch_file": "TEXT",
    "supersede": "INTEGER NOT NULL DEFAULT 1",
    "priority": "INTEGER NOT NULL DEFAULT 0",
}
INDEXES = """
CREATE INDEX IF NOT EXISTS recipes_batch ON recipes (batch, status) WHERE batch IS NOT NULL;
"""
# A recipe has started once one of these nodes is no longer waiting (conditions need no job).
STARTED = (
    "EXISTS (SELECT 1 FROM recipe_nodes n WHERE n.recipe_id = recipes.id "
    "AND n.kind != 'condition' AND n.state IN ('running', 'completed', 'failed'))"
)


def recipe_id_for(*parts: str) -> str:
    """Deterministic: (trigger, file id), (type, inputs) or (parent recipe, node)."""
    return uuid.uuid5(RECIPE_NAMESPACE, "\x1f".join(parts)).hex[:16]


@dataclass
class Recipe:
    id: str
    recipe_type: str
    definition: dict[str, Any]
    inputs: dict[str, Any]
    status: RecipeStatus = "running"
    files: dict[str, Any] = field(default_factory=dict)
    trigger: str | None = None
    event_id: str | None = None
    parent: str | None = None
    parent_node: str | None = None
    created: float = field(default_factory=time.time)
    ended: float | None = None
    error: dict[str, Any] | None = None
    # A batch's recipe: its jobs and products carry ``batch``; ``batch_file`` is the file it
    # was started for; its products supersede earlier ones only when the batch asks to.
    batch: str | None = None
    batch_file: str | None = None
    supersede: bool = True
    priority: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, without the definition and the file map (``show`` adds them)."""
        return {
            "id": self.id,
            "recipe_type": self.recipe_type,
            "status": self.status,
            "trigger": self.trigger,
            "event_id": self.event_id,
            "parent": self.parent,
            "parent_node": self.parent_node,
            "created": self.created,
            "ended": self.ended,
            "error": self.error,
            "batch": self.batch,
        }


@dataclass
class RecipeNode:
    recipe_id: str
    name: str
    kind: str
    state: NodeState = "pending"
    job_id: str | None = None
    sub_recipe: str | None = None
    accepted: bool | None = None
    outputs: dict[str, Any] | None = None
    reason: str | None = None
    started: float | None = None
    ended: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "node_type": self.kind,
            "state": self.state,
            "job": self.job_id,
            "sub_recipe": self.sub_recipe,
            "condition_result": self.accepted,
            "reason": self.reason,
            "started": self.started,
            "ended": self.ended,
        }


def _recipe(row: sqlite3.Row) -> Recipe:
    d = dict(row)
    for key in ("definition", "inputs", "files"):
        d[key] = json.loads(d[key])
    d["error"] = json.loads(d["error"]) if d["error"] else None
    d["supersede"] = bool(d["supersede"])
    return Recipe(**d)


def _node(row: sqlite3.Row) -> RecipeNode:
    d = dict(row)
    d["accepted"] = None if d["accepted"] is None else bool(d["accepted"])
    d["outputs"] = json.loads(d["outputs"]) if d["outputs"] else None
    return RecipeNode(**d)


def _filters(
    status: str | None, recipe_type: str | None, input_file: str | None
) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    args: list[Any] = []
    if status:
        where.append("status = ?")
        args.append(status)
    if recipe_type:
        where.append("recipe_type = ?")
        args.append(recipe_type)
    if input_file:
        # ``files`` maps the id of every file the recipe took in (its inputs and its nodes')
        # to the record as it saw it. A scan of the recipes: fine for a page's record view.
        where.append("EXISTS (SELECT 1 FROM json_each(recipes.files) WHERE json_each.key = ?)")
        args.append(input_file)
    return where, args


class RecipeStore:
    """Recipes and their nodes in SQLite (WAL); shared by the threads of one process."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db = open_store(self.path, SCHEMA)
        have = {r[1] for r in self._db.execute("PRAGMA table_info(recipes)").fetchall()}
        for col, decl in ADDED_COLUMNS.items():
            if col not in have:
                self._db.execute(f"ALTER TABLE recipes ADD COLUMN {col} {decl}")
        self._db.executescript(INDEXES)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _exec(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._db.execute(sql, args)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def create(self, recipe: Recipe, nodes: list[RecipeNode]) -> bool:
        """Insert the recipe with its nodes (one transaction); False when it already exists."""
        with self._transaction() as db:
            cur = db.execute(
                "INSERT OR IGNORE INTO recipes (id, recipe_type, definition, inputs, files, "
                "status, trigger, event_id, parent, parent_node, created, batch, batch_file, "
                "supersede, priority) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    recipe.id,
                    recipe.recipe_type,
                    json.dumps(recipe.definition),
                    json.dumps(recipe.inputs),
                    json.dumps(recipe.files),
                    recipe.status,
                    recipe.trigger,
                    recipe.event_id,
                    recipe.parent,
                    recipe.parent_node,
                    recipe.created,
                    recipe.batch,
                    recipe.batch_file,
                    int(recipe.supersede),
                    recipe.priority,
                ),
            )
            if cur.rowcount != 1:
                return False
            db.executemany(
                "INSERT INTO recipe_nodes (recipe_id, name, kind, state) VALUES (?, ?, ?, ?)",
                [(recipe.id, n.name, n.kind, n.state) for n in nodes],
            )
            return True

    def get(self, recipe_id: str) -> Recipe | None:
        row = self._exec("SELECT * FROM recipes WHERE id = ?", (recipe_id,)).fetchone()
        return _recipe(row) if row else None

    def require(self, recipe_id: str) -> Recipe:
        recipe = self.get(recipe_id)
        if recipe is None:
            raise JobError(f"no recipe with id {recipe_id!r}")
        return recipe

    def nodes(self, recipe_id: str) -> dict[str, RecipeNode]:
        rows = self._exec(
            "SELECT * FROM recipe_nodes WHERE recipe_id = ? ORDER BY name", (recipe_id,)
        ).fetchall()
        return {r["name"]: _node(r) for r in rows}

    def search(
        self,
        *,
        status: str | None = None,
        recipe_type: str | None = None,
        input_file: str | None = None,
        limit: int = 100,
        after: str | None = None,
    ) -> list[Recipe]:
        """Oldest first; ``after`` is the id of the last recipe of the previous page.

        ``input_file``: only recipes that took that file as an input, the recipe's own or one
        of its nodes' (the files a recipe has seen; its products are the records' ``recipe``).
        """
        if status is not None and status not in RECIPE_STATUSES:
            raise InvalidInput(f"must be one of {', '.join(RECIPE_STATUSES)}", field="status")
        where, args = _filters(status, recipe_type, input_file)
        if after:
            where.append("(created, id) > (SELECT created, id FROM recipes WHERE id = ?)")
            args.append(after)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = self._exec(
            f"SELECT * FROM recipes {clause} ORDER BY created, id LIMIT ?",  # noqa: S608
            (*args, limit),
        ).fetchall()
        return [_recipe(r) for r in rows]

    def unfinished(self) -> list[str]:
        rows = self._exec(
            "SELECT id FROM recipes WHERE status = 'running' ORDER BY created"
        ).fetchall()
        return [r[0] for r in rows]

    def count(
        self,
        *,
        status: str | None = None,
        recipe_type: str | None = None,
        input_file: str | None = None,
    ) -> int:
        """How many recipes ``search`` would walk through with these filters."""
        where, args = _filters(status, recipe_type, input_file)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        row = self._exec(
            f"SELECT COUNT(*) FROM recipes {clause}",  # noqa: S608 (clauses are constants)
            tuple(args),
        ).fetchone()
        return int(row[0])

    def counts(self) -> dict[str, int]:
        rows = self._exec("SELECT status, COUNT(*) FROM recipes GROUP BY status").fetchall()
        out: dict[str, int] = dict.fromkeys(RECIPE_STATUSES, 0)
        out.update({r[0]: r[1] for r in rows})
        return out

    def set_node(self, recipe_id: str, name: str, expect: tuple[str, ...], **changes: Any) -> bool:
        """Change a node only when it is in one of the ``expect`` states (True if changed)."""
        cols = []
        args: list[Any] = []
        for key, value in changes.items():
            if key not in {
                "state",
                "job_id",
                "sub_recipe",
                "accepted",
                "outputs",
                "reason",
                "started",
                "ended",
            }:
                raise ValueError(f"not a node column: {key}")
            cols.append(f"{key} = ?")
            if key == "outputs":
                value = json.dumps(value) if value is not None else None
            elif key == "accepted" and value is not None:
                value = int(value)
            args.append(value)
        marks = ", ".join("?" for _ in expect)
        cur = self._exec(
            f"UPDATE recipe_nodes SET {', '.join(cols)} "  # noqa: S608 (names checked above)
            f"WHERE recipe_id = ? AND name = ? AND state IN ({marks})",
            (*args, recipe_id, name, *expect),
        )
        return cur.rowcount == 1

    def set_status(
        self,
        recipe_id: str,
        status: RecipeStatus,
        expect: RecipeStatus,
        error: dict[str, Any] | None = None,
    ) -> bool:
        ended = None if status == "running" else time.time()
        cur = self._exec(
            "UPDATE recipes SET status = ?, ended = ?, error = ? WHERE id = ? AND status = ?",
            (status, ended, json.dumps(error) if error else None, recipe_id, expect),
        )
        return cur.rowcount == 1

    def merge_files(self, recipe_id: str, records: list[dict[str, Any]]) -> None:
        """Keep the newest version of each file the recipe has seen (sidecars update them)."""
        if not records:
            return
        with self._transaction() as db:
            row = db.execute("SELECT files FROM recipes WHERE id = ?", (recipe_id,)).fetchone()
            if row is None:
                return
            files = json.loads(row[0])
            for r in records:
                old = files.get(r["id"])
                if old is None or int(old.get("version", 1)) <= int(r.get("version", 1)):
                    files[r["id"]] = r
            db.execute("UPDATE recipes SET files = ? WHERE id = ?", (json.dumps(files), recipe_id))

    # -- batches -------------------------------------------------------------------------------

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
