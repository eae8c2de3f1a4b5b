"""A recipe and its nodes as records: their states and their deterministic ids."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

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
