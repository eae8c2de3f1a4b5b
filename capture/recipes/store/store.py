"""The recipe store (SQLite): recipes and their nodes created, read, searched and advanced."""

from __future__ import annotations

import json
import time
from typing import Any

from capture.recipes.store.batch_recipes import BatchRecipes
from capture.recipes.store.model import RECIPE_STATUSES, Recipe, RecipeNode, RecipeStatus
from capture.recipes.store.table import node_row, recipe_row
from seedpipe.errors import InvalidInput, JobError


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


class RecipeStore(BatchRecipes):
    """Recipes and their nodes in SQLite (WAL); shared by the threads of one process."""

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
        return recipe_row(row) if row else None

    def require(self, recipe_id: str) -> Recipe:
        recipe = self.get(recipe_id)
        if recipe is None:
            raise JobError(f"no recipe with id {recipe_id!r}")
        return recipe

    def nodes(self, recipe_id: str) -> dict[str, RecipeNode]:
        rows = self._exec(
            "SELECT * FROM recipe_nodes WHERE recipe_id = ? ORDER BY name", (recipe_id,)
        ).fetchall()
        return {r["name"]: node_row(r) for r in rows}

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
        return [recipe_row(r) for r in rows]

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
