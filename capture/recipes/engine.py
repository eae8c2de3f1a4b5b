"""The recipe engine: creates node jobs in the job store, evaluates conditions, follows the graph.

Every step is idempotent and re-derived from the two stores, so a restart (or a replayed event)
carries a recipe on from where it was: recipe ids come from (trigger, file) or (parent, node),
a node's job id from (recipe, node), and state changes are compare-and-set.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine, Mapping
from typing import TYPE_CHECKING, Any

from capture.jobs import Job
from capture.recipes.definition import (
    ConditionNodeType,
    JobNodeType,
    Node,
    RecipeDefinition,
    RecipeNodeType,
)
from capture.recipes.filters import Files, is_accepted
from capture.recipes.graph import topological
from capture.recipes.inputs import check_inputs, start_id
from capture.recipes.nodes import node_job, node_job_id, resolve_inputs
from capture.recipes.store import Recipe, RecipeNode, RecipeStore, recipe_id_for
from seedpipe.errors import InvalidInput
from seedpipe.events import (
    JOB_QUEUED,
    RECIPE_COMPLETED,
    RECIPE_CREATED,
    RECIPE_FAILED,
    RECIPE_NODE_COMPLETED,
    RECIPES_TOPIC,
    CloudEvent,
)
from seedpipe.records import FileRecord

if TYPE_CHECKING:
    from capture.context import Context
    from capture.recipes.types import RecipeType

log = logging.getLogger(__name__)

SOURCE = "seedpipe/capture/recipes"
ACTIVE = ("queued", "running")
DONE = ("completed", "skipped")


def recipe_event(event_type: str, recipe: Recipe, **data: Any) -> CloudEvent:
    return CloudEvent(
        type=event_type, source=SOURCE, subject=recipe.id, data={**recipe.to_dict(), **data}
    )


class RecipeEngine:
    """Runs recipes inside the capture service, on its job store and scheduler."""

    def __init__(
        self,
        ctx: Context,
        store: RecipeStore,
        recipe_types: Mapping[str, RecipeType],
        *,
        wake: Callable[[], None] = lambda: None,
        settled: Callable[[], None] = lambda: None,
    ) -> None:
        self.ctx = ctx
        self.store = store
        self.recipe_types = recipe_types
        self._wake = wake
        self._settled = settled
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # -- starting ----------------------------------------------------------------------------

    def _with_urls(self, records: list[FileRecord]) -> list[FileRecord]:
        out = []
        for r in records:
            if r.url is None and r.workspace.name in self.ctx.settings.workspaces:
                r = r.model_copy(
                    update={"url": self.ctx.workspaces[r.workspace.name].record_url(r.file_path)}
                )
            out.append(r)
        return out

    async def start(
        self,
        recipe_type: str,
        files: Mapping[str, list[FileRecord]],
        json_inputs: Mapping[str, Any] | None = None,
        *,
        recipe_id: str | None = None,
        trigger: str | None = None,
        event_id: str | None = None,
        parent: str | None = None,
        parent_node: str | None = None,
        batch: str | None = None,
        batch_file: str | None = None,
        supersede: bool = True,
        priority: int = 0,
    ) -> tuple[Recipe, bool]:
        """Create a recipe (or find the one these inputs already made) and advance it. A
        batch's recipe (``batch``) gives its jobs the batch, ``supersede`` and ``priority``."""
        rt = self.recipe_types.get(recipe_type)
        if rt is None:
            known = ", ".join(sorted(self.recipe_types)) or "none configured"
            raise InvalidInput(f"unknown recipe type (known: {known})", field="recipe_type")
        json_inputs = dict(json_inputs or {})
        check_inputs(rt.definition, files, json_inputs)
        given = {k: self._with_urls(list(v)) for k, v in files.items()}
        if recipe_id is None:
            recipe_id = start_id(recipe_type, given, json_inputs)
        recipe = Recipe(
            id=recipe_id,
            recipe_type=recipe_type,
            definition=rt.definition.to_json(),
            inputs={
                "files": {k: [r.to_scale() for r in v] for k, v in given.items()},
                "json": json_inputs,
            },
            files={r.id: r.to_scale() for v in given.values() for r in v},
            trigger=trigger,
            event_id=event_id,
            parent=parent,
            parent_node=parent_node,
            batch=batch,
            batch_file=batch_file,
            supersede=supersede,
            priority=priority,
        )
        nodes = [RecipeNode(recipe_id, n, node.kind) for n, node in rt.definition.nodes.items()]
        created = self.store.create(recipe, nodes)
        if created:
            log.info("recipe %s created: %s", recipe_id, recipe_type)
            await self._publish(recipe_event(RECIPE_CREATED, recipe))
        await self.advance(recipe_id)
        return self.store.require(recipe_id), created

    # -- following the graph -----------------------------------------------------------------

    async def reconcile(self) -> int:
        """Carry every unfinished recipe on (at start-up: jobs may have ended meanwhile)."""
        ids = self.store.unfinished()
        for rid in ids:
            await self.advance(rid)
        return len(ids)

    async def job_ended(self, job: Job) -> None:
        if job.recipe is not None:
            await self.advance(job.recipe)

    async def advance(self, recipe_id: str) -> None:
        lock = self._locks.setdefault(recipe_id, asyncio.Lock())
        async with lock:
            finished = await self._advance(recipe_id)
        if finished and not lock.locked():
            # A finished recipe only ever sees compare-and-set no-ops: its lock can go.
            self._locks.pop(recipe_id, None)

    async def _advance(self, recipe_id: str) -> bool:
        """Carry the recipe on as far as it goes now; True once it is no longer running."""
        recipe = self.store.get(recipe_id)
        if recipe is None or recipe.status in ("completed", "canceled"):
            return True
        definition = RecipeDefinition.model_validate(recipe.definition)
        order = topological(
            {n: [d.name for d in v.dependencies] for n, v in definition.nodes.items()}
        )
        changed = True
        while changed:
            changed = False
            nodes = self.store.nodes(recipe_id)
            failed = any(n.state == "failed" for n in nodes.values())
            for name in order:
                state = nodes[name]
                if state.state in ACTIVE:
                    changed |= await self._check(recipe, name, state)
                elif state.state == "pending" and not failed:
                    changed |= await self._try_start(
                        recipe, definition.nodes[name], name, nodes, definition
                    )
                if changed:
                    break
            if changed:
                recipe = self.store.require(recipe_id)
        await self._finish(recipe)
        return self.store.require(recipe_id).status != "running"

    async def _finish(self, recipe: Recipe) -> None:
        nodes = self.store.nodes(recipe.id)
        failed = [n for n in nodes.values() if n.state == "failed"]
        if failed:
            names = [n.name for n in failed]
            error = {"nodes": names, "reason": failed[0].reason}
            if self.store.set_status(recipe.id, "failed", "running", error=error):
                log.warning("recipe %s failed at %s", recipe.id, ", ".join(names))
                await self._publish(recipe_event(RECIPE_FAILED, self.store.require(recipe.id)))
                self._after_end(recipe)
        elif all(n.state in DONE for n in nodes.values()) and self.store.set_status(
            recipe.id, "completed", "running"
        ):
            log.info("recipe %s completed", recipe.id)
            await self._publish(recipe_event(RECIPE_COMPLETED, self.store.require(recipe.id)))
            self._after_end(recipe)

    def _after_end(self, recipe: Recipe) -> None:
        self._settled()
        if recipe.parent is not None:
            self._spawn(self.advance(recipe.parent))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _check(self, recipe: Recipe, name: str, state: RecipeNode) -> bool:
        """Whether a queued or running node has finished; record what it gave."""
        if state.kind == "recipe" and state.sub_recipe:
            child = self.store.get(state.sub_recipe)
            if child is None or child.status == "running":
                return False
            if child.status == "completed":
                return await self._complete(recipe, name, state.state, outputs={})
            return self._fail(recipe, name, state.state, f"sub-recipe {child.id} failed")
        if state.job_id is None:
            return False
        job = self.ctx.store.get(state.job_id)
        if job is None:
            return False
        if job.status == "running" and state.state == "queued":
            self.store.set_node(recipe.id, name, ("queued",), state="running")
            return False
        if job.status == "completed":
            results = job.results or {}
            outputs: dict[str, Any] = {
                k: {"files": v} for k, v in (results.get("outputs") or {}).items()
            }
            outputs.update({k: {"json": v} for k, v in (results.get("json_outputs") or {}).items()})
            updated = [r for rs in (results.get("input_records") or {}).values() for r in rs]
            self.store.merge_files(recipe.id, updated)
            return await self._complete(recipe, name, state.state, outputs=outputs)
        if job.status in ("failed", "canceled"):
            err = job.error or {}
            why = f"job {job.id} failed: {err.get('name')}: {err.get('description')}"
            return self._fail(recipe, name, state.state, why)
        return False

    async def _complete(
        self,
        recipe: Recipe,
        name: str,
        was: str,
        *,
        outputs: dict[str, Any],
        accepted: bool | None = None,
    ) -> bool:
        if not self.store.set_node(
            recipe.id,
            name,
            (was,),
            state="completed",
            outputs=outputs,
            accepted=accepted,
            ended=time.time(),
        ):
            return False
        state = self.store.nodes(recipe.id)[name]
        await self._publish(recipe_event(RECIPE_NODE_COMPLETED, recipe, node=state.to_dict()))
        return True

    def _fail(self, recipe: Recipe, name: str, was: str, why: str) -> bool:
        return self.store.set_node(
            recipe.id, name, (was,), state="failed", reason=why, ended=time.time()
        )

    async def _skip(self, recipe: Recipe, name: str, why: str) -> bool:
        if not self.store.set_node(
            recipe.id, name, ("pending",), state="skipped", reason=why, ended=time.time()
        ):
            return False
        state = self.store.nodes(recipe.id)[name]
        await self._publish(recipe_event(RECIPE_NODE_COMPLETED, recipe, node=state.to_dict()))
        return True

    async def _try_start(
        self,
        recipe: Recipe,
        node: Node,
        name: str,
        nodes: Mapping[str, RecipeNode],
        definition: RecipeDefinition,
    ) -> bool:
        deps = [(d, nodes[d.name]) for d in node.dependencies]
        if any(s.state not in DONE for _, s in deps):
            return False  # waiting (or blocked by a failure)
        for d, s in deps:
            if s.state == "skipped":
                return await self._skip(recipe, name, f"{d.name} was skipped")
            accepted = s.accepted if s.kind == "condition" else True
            if bool(accepted) != d.acceptance:
                return await self._skip(
                    recipe, name, f"{d.name} was {'accepted' if accepted else 'not accepted'}"
                )
        files, json_values = resolve_inputs(recipe, node, nodes)
        nt = node.node_type
        if isinstance(nt, ConditionNodeType):
            from capture.context import newest_record

            # Judged as the catalogue has them now, when it knows newer versions.
            files = {k: [await newest_record(self.ctx, r) for r in v] for k, v in files.items()}
            data: dict[str, Any] = {k: Files(tuple(v)) for k, v in files.items()}
            data.update(json_values)
            accepted = is_accepted(nt.data_filter, data)
            outputs: dict[str, Any] = {
                k: {"files": [r.to_scale() for r in v]} for k, v in files.items()
            }
            outputs.update({k: {"json": v} for k, v in json_values.items()})
            return await self._complete(recipe, name, "pending", outputs=outputs, accepted=accepted)
        if isinstance(nt, RecipeNodeType):
            # The sub-recipe first, then the node: a crash in between finds the sub-recipe
            # (its id is derived) when the node is tried again.
            child_id = recipe_id_for(recipe.id, name)
            try:
                await self.start(
                    nt.recipe_type_name,
                    files,
                    json_values,
                    recipe_id=child_id,
                    trigger=recipe.trigger,
                    event_id=recipe.event_id,
                    parent=recipe.id,
                    parent_node=name,
                    batch=recipe.batch,
                    supersede=recipe.supersede,
                    priority=recipe.priority,
                )
            except InvalidInput as exc:
                return self._fail(recipe, name, "pending", f"sub-recipe inputs: {exc}")
            return self.store.set_node(
                recipe.id,
                name,
                ("pending",),
                state="running",
                sub_recipe=child_id,
                started=time.time(),
            )
        assert isinstance(nt, JobNodeType)
        return await self._start_job(recipe, definition, name, nt, files, json_values)

    async def _start_job(
        self,
        recipe: Recipe,
        definition: RecipeDefinition,
        name: str,
        nt: JobNodeType,
        files: dict[str, list[FileRecord]],
        json_values: dict[str, Any],
    ) -> bool:
        from capture.attempt import fail_now

        jt = self.ctx.job_types.get(nt.job_type_name)
        job_id = node_job_id(recipe.id, name)
        job = node_job(
            recipe, name, nt, files, json_values, jt, self.ctx.revisions.get(nt.job_type_name)
        )
        # The job first, then the node: a crash in between finds the job (its id is derived)
        # when the node is tried again, and never creates a second one.
        if self.ctx.store.create(job):
            log.info("recipe %s: node %s queued as job %s", recipe.id, name, job_id)
            await self.ctx.publish_job(JOB_QUEUED, job)
            if jt is None:
                why = f"job type {nt.job_type_name!r} is no longer configured"
                fail_now(self.ctx.store, job_id, why)
            self._wake()
        return self.store.set_node(
            recipe.id, name, ("pending",), state="queued", job_id=job_id, started=time.time()
        )

    # -- retry ---------------------------------------------------------------------------------

    async def retry(self, recipe_id: str) -> list[str]:
        from capture.recipes.retry import retry_recipe

        names = retry_recipe(self.store, self.ctx.store, recipe_id)
        self._wake()
        await self.advance(recipe_id)
        return names

    async def _publish(self, event: CloudEvent) -> None:
        await self.ctx.bus.publish(self.ctx.settings.topic(RECIPES_TOPIC), event)
