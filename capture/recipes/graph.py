"""The recipe graph: dependency order and cycles."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def find_cycle(edges: Mapping[str, Sequence[str]]) -> list[str] | None:
    """A cycle ``[a, b, a]`` in ``node -> the nodes it depends on``, or None."""
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in edges.get(node, ()):
            if dep not in edges:
                continue
            if state.get(dep) == 1:
                return [*stack[stack.index(dep) :], dep]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def topological(edges: Mapping[str, Sequence[str]]) -> list[str]:
    """Nodes with every dependency before them (names sorted within a level; no cycles)."""
    done: list[str] = []
    placed: set[str] = set()
    remaining = sorted(edges)
    while remaining:
        ready = [n for n in remaining if all(d in placed or d not in edges for d in edges[n])]
        if not ready:
            raise ValueError("the graph has a cycle")
        done += ready
        placed.update(ready)
        remaining = [n for n in remaining if n not in placed]
    return done
