"""A batch and the request that makes one, checked field by field."""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from seedpipe.errors import InvalidInput

BatchStatus = Literal["planning", "planned", "canceled"]
MAX_PRIORITY = 1_000_000
SAMPLE = 10


def new_batch_id() -> str:
    return uuid.uuid4().hex[:12]


@dataclass
class Batch:
    """One batch of a job type or (``recipe_type``, then ``job_type`` and ``revision`` are
    None) of a recipe type; ``query`` is a ``seedpipe.query.Query`` as JSON (None with
    ``previous``)."""

    id: str
    job_type: str | None
    revision: int | None
    query: dict[str, Any] | None = None
    previous: str | None = None
    saved_search: str | None = None
    supersede: bool = False
    priority: int = 0
    status: BatchStatus = "planning"
    cursor: str | None = None  # where planning goes on after a restart
    created: float = field(default_factory=time.time)
    planned_at: float | None = None
    canceled_by: str | None = None
    recipe_type: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("cursor")
        return data


@dataclass(frozen=True)
class BatchRequest:
    job_type: str | None
    revision: int | None
    query: dict[str, Any] | None
    previous: str | None
    saved_search: str | None
    supersede: bool
    priority: int
    dry_run: bool
    recipe_type: str | None = None


def parse_request(body: Any) -> BatchRequest:
    """``POST /batches``' body: ``{"job_type": T | "recipe_type": T, "revision": N, "query": {...} |
    "previous_batch": ID | "saved_search": ID, "supersede": bool, "priority": N,
    "dry_run": bool}``; InvalidInput naming the field."""
    from pydantic import ValidationError

    from seedpipe.query.model import Query

    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object", field="$")
    allowed = {
        "job_type",
        "recipe_type",
        "revision",
        "query",
        "previous_batch",
        "saved_search",
        "supersede",
        "priority",
        "dry_run",
    }
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise InvalidInput("is not a field of a batch request", field=unknown[0])
    # Unlike the other members, these two are never null: the one given is what runs.
    kinds = [k for k in ("job_type", "recipe_type") if k in body]
    if len(kinds) != 1:
        raise InvalidInput(
            "give exactly one of job_type or recipe_type, not both"
            if kinds
            else "give exactly one of job_type or recipe_type",
            field="recipe_type" if kinds else "job_type",
        )
    job_type = body.get("job_type")
    recipe_type = body.get("recipe_type")
    if kinds == ["job_type"] and (not isinstance(job_type, str) or not job_type):
        raise InvalidInput("must name a configured job type", field="job_type")
    if kinds == ["recipe_type"] and (not isinstance(recipe_type, str) or not recipe_type):
        raise InvalidInput("must name a configured recipe type", field="recipe_type")
    revision = body.get("revision")
    if revision is not None and (
        isinstance(revision, bool) or not isinstance(revision, int) or revision < 1
    ):
        raise InvalidInput("must be a positive integer", field="revision")
    if revision is not None and recipe_type is not None:
        raise InvalidInput(
            "recipe types have no revisions; a recipe's jobs run their job types' current "
            "revisions (leave revision out)",
            field="revision",
        )
    sources = [k for k in ("query", "previous_batch", "saved_search") if body.get(k) is not None]
    if len(sources) != 1:
        raise InvalidInput(
            "give exactly one of query, previous_batch or saved_search", field="query"
        )
    query = body.get("query")
    if query is not None:
        if not isinstance(query, dict):
            raise InvalidInput("must be an object of search filters", field="query")
        try:
            parsed = Query.model_validate({**query, "limit": 1})
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err.get("loc", ()))
            raise InvalidInput(err.get("msg", "is invalid"), field=f"query.{where}") from None
        query = parsed.model_dump(mode="json", exclude={"limit", "token"})
    for key in ("previous_batch", "saved_search"):
        value = body.get(key)
        if value is not None and (not isinstance(value, str) or not 0 < len(value) <= 64):
            raise InvalidInput("must be an id", field=key)
    flags = {}
    for key in ("supersede", "dry_run"):
        value = body.get(key, False)
        if not isinstance(value, bool):
            raise InvalidInput("must be true or false", field=key)
        flags[key] = value
    priority = body.get("priority", 0)
    if isinstance(priority, bool) or not isinstance(priority, int) or abs(priority) > MAX_PRIORITY:
        raise InvalidInput(
            f"must be an integer between -{MAX_PRIORITY} and {MAX_PRIORITY}", field="priority"
        )
    return BatchRequest(
        job_type=job_type,
        revision=revision,
        query=query,
        previous=body.get("previous_batch"),
        saved_search=body.get("saved_search"),
        supersede=flags["supersede"],
        priority=priority,
        dry_run=flags["dry_run"],
        recipe_type=recipe_type,
    )
