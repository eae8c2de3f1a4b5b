"""The recipe store (SQLite): one row per recipe and one per node, with deterministic ids.

The records are in ``model``, the tables in ``table``, the queries in ``store`` and
``batch_recipes``.
"""

from capture.recipes.store.batch_recipes import STARTED
from capture.recipes.store.model import (
    NODE_STATES,
    RECIPE_NAMESPACE,
    RECIPE_STATUSES,
    NodeState,
    Recipe,
    RecipeNode,
    RecipeStatus,
    recipe_id_for,
)
from capture.recipes.store.store import RecipeStore
from capture.recipes.store.table import ADDED_COLUMNS, INDEXES, SCHEMA

__all__ = [
    "ADDED_COLUMNS",
    "INDEXES",
    "NODE_STATES",
    "RECIPE_NAMESPACE",
    "RECIPE_STATUSES",
    "SCHEMA",
    "STARTED",
    "NodeState",
    "Recipe",
    "RecipeNode",
    "RecipeStatus",
    "RecipeStore",
    "recipe_id_for",
]
