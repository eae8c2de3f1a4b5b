"""The recipe store: idempotent creation, compare-and-set nodes, newest files, cursor pages."""

from __future__ import annotations

from pathlib import Path

from capture.recipes.graph import find_cycle, topological
from capture.recipes.store import Recipe, RecipeNode, RecipeStore, recipe_id_for


def make(store: RecipeStore, rid: str, created: float) -> bool:
    recipe = Recipe(id=rid, recipe_type="t", definition={}, inputs={}, created=created)
    return store.create(recipe, [RecipeNode(rid, "a", "job"), RecipeNode(rid, "b", "condition")])


def test_ids_are_derived_from_what_made_the_recipe() -> None:
    assert recipe_id_for("trigger", "file-1") == recipe_id_for("trigger", "file-1")
    assert recipe_id_for("trigger", "file-1") != recipe_id_for("trigger", "file-2")
    assert recipe_id_for("a", "bc") != recipe_id_for("ab", "c")


def test_a_recipe_is_created_once_with_its_nodes(tmp_path: Path) -> None:
    store = RecipeStore(tmp_path / "recipes.db")
    assert make(store, "r1", 1.0)
    assert not make(store, "r1", 2.0)
    assert {n: s.state for n, s in store.nodes("r1").items()} == {"a": "pending", "b": "pending"}
    assert store.require("r1").created == 1.0
    store.close()


def test_node_changes_are_compare_and_set(tmp_path: Path) -> None:
    store = RecipeStore(tmp_path / "recipes.db")
    make(store, "r1", 1.0)
    assert store.set_node("r1", "b", ("pending",), state="completed", accepted=False, outputs={})
    assert not store.set_node("r1", "b", ("pending",), state="skipped")
    node = store.nodes("r1")["b"]
    assert (node.state, node.accepted, node.outputs) == ("completed", False, {})
    assert store.set_status("r1", "failed", "running", error={"nodes": ["a"]})
    assert not store.set_status("r1", "completed", "running")
    assert store.require("r1").error == {"nodes": ["a"]}
    store.close()


def test_the_newest_version_of_a_file_is_kept(tmp_path: Path) -> None:
    store = RecipeStore(tmp_path / "recipes.db")
    make(store, "r1", 1.0)
    store.merge_files("r1", [{"id": "f", "version": 2, "meta_data": {"width": 9}}])
    store.merge_files("r1", [{"id": "f", "version": 1, "meta_data": {}}])
    assert store.require("r1").files["f"]["meta_data"] == {"width": 9}
    store.close()


def test_pages_follow_a_cursor_oldest_first_with_filters(tmp_path: Path) -> None:
    store = RecipeStore(tmp_path / "recipes.db")
    for i in range(5):
        make(store, f"r{i}", float(i))
    store.set_status("r3", "completed", "running")
    first = store.search(limit=2)
    second = store.search(limit=2, after=first[-1].id)
    third = store.search(limit=2, after=second[-1].id)
    assert [r.id for r in first + second + third] == ["r0", "r1", "r2", "r3", "r4"]
    assert [r.id for r in store.search(status="completed")] == ["r3"]
    assert store.unfinished() == ["r0", "r1", "r2", "r4"]
    assert store.counts() == {"running": 4, "completed": 1, "failed": 0, "canceled": 0}
    store.close()


def test_graph_order_and_cycles() -> None:
    edges = {"c": ["a", "b"], "b": ["a"], "a": []}
    assert topological(edges) == ["a", "b", "c"]
    assert find_cycle(edges) is None
    assert find_cycle({"a": ["b"], "b": ["c"], "c": ["a"]}) == ["a", "b", "c", "a"]
