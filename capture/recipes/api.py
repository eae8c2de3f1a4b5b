"""HTTP routes for recipes: ``/recipe-types``, ``/recipes`` (list, show, start). FastAPI, lazily."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from capture.jobs import JobStore
from capture.recipes.store import RecipeStatus, RecipeStore
from seedpipe.errors import InvalidInput
from seedpipe.links import page_link
from seedpipe.settings import Settings

if TYPE_CHECKING:
    from fastapi import APIRouter

    from capture.recipes.store import Recipe
    from capture.recipes.types import RecipeType

# (recipe type, {input: [file ids]}, {input: JSON}) -> (recipe, created)
Starter = Callable[[str, dict[str, list[str]], dict[str, Any]], Awaitable[tuple["Recipe", bool]]]
MAX_ID = 64
MAX_FILE_ID = 128  # as a recipe start's file ids
MAX_PAGE_SIZE = 1000  # Scale's page size limit, as /files and /jobs


def recipe_detail(recipes: RecipeStore, jobs: JobStore, recipe_id: str) -> dict[str, Any] | None:
    """A recipe with its graph: each node's type, dependencies, state, job, products, result."""
    recipe = recipes.get(recipe_id)
    if recipe is None:
        return None
    nodes = recipes.nodes(recipe_id)
    graph = recipe.definition.get("nodes", {})
    out_nodes = {}
    for name, spec in graph.items():
        state = nodes.get(name)
        data = state.to_dict() if state else {"name": name, "state": "unknown"}
        data["dependencies"] = spec.get("dependencies", [])
        job = jobs.get(state.job_id) if state and state.job_id else None
        data["job_status"] = job.status if job else None
        if data["state"] == "queued" and job is not None and job.status == "running":
            # The engine marks a node running when it next looks; its job already says so.
            data["state"] = "running"
        data["products"] = job.products if job else []
        data["json_outputs"] = (job.results or {}).get("json_outputs", {}) if job else {}
        out_nodes[name] = data
    return {
        **recipe.to_dict(),
        "inputs": {
            "files": {k: [r["id"] for r in v] for k, v in recipe.inputs.get("files", {}).items()},
            "json": recipe.inputs.get("json", {}),
        },
        "definition": recipe.definition,
        "nodes": out_nodes,
    }


START_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "additionalProperties": False,
                "required": ["recipe_type"],
                "properties": {
                    "recipe_type": {"type": "string", "minLength": 1, "maxLength": 256},
                    "inputs": {
                        "type": "object",
                        "description": "recipe input name -> a file id or a list of file ids",
                        "additionalProperties": {
                            "oneOf": [
                                {"type": "string", "minLength": 1, "maxLength": 128},
                                {
                                    "type": "array",
                                    "items": {"type": "string", "minLength": 1, "maxLength": 128},
                                },
                            ]
                        },
                    },
                    "json": {
                        "type": "object",
                        "description": "recipe input name -> its JSON value",
                    },
                },
            }
        }
    },
}


def parse_start(body: Any) -> tuple[str, dict[str, list[str]], dict[str, Any]]:
    """``{"recipe_type": T, "inputs": {NAME: ID | [IDs]}, "json": {NAME: value}}``, checked."""
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object", field="$")
    unknown = sorted(set(body) - {"recipe_type", "inputs", "json"})
    if unknown:
        raise InvalidInput("is not a field of a recipe start", field=unknown[0])
    rtype = body.get("recipe_type")
    if not isinstance(rtype, str) or not rtype:
        raise InvalidInput("required: the recipe type's name", field="recipe_type")
    inputs = body.get("inputs", {})
    if not isinstance(inputs, dict):
        raise InvalidInput("must map input names to file ids", field="inputs")
    files: dict[str, list[str]] = {}
    for name, ids in inputs.items():
        ids = [ids] if isinstance(ids, str) else ids
        if not isinstance(ids, list) or not all(
            isinstance(i, str) and 0 < len(i) <= 128 for i in ids
        ):
            raise InvalidInput("must be a file id or a list of file ids", field=f"inputs.{name}")
        files[name] = ids
    json_inputs = body.get("json", {})
    if not isinstance(json_inputs, dict):
        raise InvalidInput("must map input names to JSON values", field="json")
    return rtype, files, json_inputs


def recipes_router(
    settings: Settings,
    *,
    recipes: RecipeStore | None = None,
    jobs: JobStore | None = None,
    recipe_types: Mapping[str, RecipeType] | None = None,
    starter: Starter | None = None,
) -> APIRouter:
    """The recipe routes; ``starter`` starts recipes (the capture service's engine in ``up``)."""
    from fastapi import APIRouter, Body, HTTPException, Query
    from fastapi import Path as PathParam

    router = APIRouter(tags=["recipes"])
    opened: dict[str, Any] = {}

    def get_recipes() -> RecipeStore:
        if recipes is not None:
            return recipes
        if "recipes" not in opened:
            opened["recipes"] = RecipeStore(settings.path("recipes.db"))
        return opened["recipes"]

    def get_jobs() -> JobStore:
        if jobs is not None:
            return jobs
        if "jobs" not in opened:
            opened["jobs"] = JobStore(settings.path("jobs.db"))
        return opened["jobs"]

    def get_types() -> Mapping[str, RecipeType]:
        if recipe_types is not None:
            return recipe_types
        if "types" not in opened:
            from capture.jobtypes import load_job_types
            from capture.recipes.types import load_recipe_types

            opened["types"] = load_recipe_types(settings, load_job_types(settings))
        return opened["types"]

    @router.get("/recipe-types")
    def list_recipe_types() -> dict[str, Any]:
        types = get_types()
        return {"count": len(types), "results": [rt.summary() for rt in types.values()]}

    @router.get("/recipe-types/{name}")
    def get_recipe_type(
        name: str = PathParam(max_length=MAX_ID, description="the recipe type's name"),
    ) -> dict[str, Any]:
        rt = get_types().get(name)
        if rt is None:
            raise HTTPException(404, f"no recipe type {name!r}")
        return rt.detail()

    @router.get("/recipes", summary="Recipes, oldest first (the page shape of /files)")
    def list_recipes(
        request: Request,
        status: RecipeStatus | None = Query(default=None, description="only recipes in this state"),
        recipe_type: str | None = Query(
            default=None, max_length=256, description="only recipes of this recipe type"
        ),
        input_file: str | None = Query(
            default=None,
            min_length=1,
            max_length=MAX_FILE_ID,
            description="only recipes that took this file (its id) as an input, the recipe's "
            "own or one of its nodes'; the recipe that made a file is its record's recipe",
        ),
        cursor: str | None = Query(
            default=None,
            min_length=1,
            max_length=MAX_ID,
            description="where a next link's page starts (only a next link's value is valid)",
            json_schema_extra={"format": "cursor"},
        ),
        page_size: int = Query(
            default=100,
            ge=1,
            le=2**31,
            description=f"recipes per page; above {MAX_PAGE_SIZE} it is {MAX_PAGE_SIZE}",
        ),
    ) -> dict[str, Any]:
        size = min(page_size, MAX_PAGE_SIZE)
        store = get_recipes()
        found = store.search(
            status=status,
            recipe_type=recipe_type,
            input_file=input_file,
            limit=size + 1,
            after=cursor,
        )
        page = found[:size]
        more = len(found) > size
        public = settings.api.public_url
        return {
            "count": store.count(status=status, recipe_type=recipe_type, input_file=input_file),
            "next": page_link(request, public, cursor=page[-1].id) if more and page else None,
            "previous": page_link(request, public, cursor=None) if cursor else None,
            "results": [r.to_dict() for r in page],
        }

    @router.get("/recipes/{recipe_id}")
    def get_recipe(
        recipe_id: str = PathParam(max_length=MAX_ID, description="the recipe's id"),
    ) -> dict[str, Any]:
        detail = recipe_detail(get_recipes(), get_jobs(), recipe_id)
        if detail is None:
            raise HTTPException(404, f"no recipe with id {recipe_id!r}")
        return detail

    @router.post("/recipes", status_code=201, openapi_extra={"requestBody": START_BODY})
    async def start_recipe(body: Any = Body(...)) -> Any:  # checked by parse_start
        from fastapi.responses import JSONResponse

        try:
            rtype, files, json_inputs = parse_start(body)
            if starter is None:
                raise HTTPException(503, "this API cannot start recipes")
            recipe, created = await starter(rtype, files, json_inputs)
        except InvalidInput as exc:
            raise HTTPException(400, str(exc)) from exc
        detail = recipe_detail(get_recipes(), get_jobs(), recipe.id)
        return JSONResponse(detail, status_code=201 if created else 200)

    return router


def offline_starter(settings: Settings) -> Starter:
    """Starts recipes through an engine of its own (``seedpipe api`` without capture)."""

    async def start(
        rtype: str, files: dict[str, list[str]], json_inputs: dict[str, Any]
    ) -> tuple[Recipe, bool]:
        from capture.recipes.offline import open_engine
        from capture.recipes.starts import start_with_ids

        async with open_engine(settings) as (engine, index):
            return await start_with_ids(engine, index, rtype, files, json_inputs)

    return start
