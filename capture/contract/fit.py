"""Making a product's geometry fit in an event: simplified to a vertex budget, full one kept.

A sidecar may be up to 16 MiB, an event only ``bus.max_event_bytes``. A product geometry with
more vertices than the budget is thinned to at most the budget; the sidecar itself, which holds
the full geometry, is then stored beside the product in the workspace, and the record's
``meta_data`` says so under ``FULL_GEOMETRY``.
"""

from __future__ import annotations

from typing import Any

from seedpipe.events import MAX_EVENT_BYTES

FULL_GEOMETRY = "seedpipe:full_geometry"
# A vertex costs up to ~44 bytes of event JSON ("[-125.12345678901234, -10.123456789012345], ");
# 64 leaves the rest of the record room. The index refuses more than 100,000 vertices anyway.
BYTES_PER_VERTEX = 64
MAX_VERTICES = 100_000


def vertex_budget(max_event_bytes: int = MAX_EVENT_BYTES) -> int:
    """How many vertices a product geometry may keep in an event of ``max_event_bytes``."""
    return max(16, min(MAX_VERTICES, max_event_bytes // BYTES_PER_VERTEX))


def count_vertices(geom: dict[str, Any]) -> int:
    """Positions in a checked GeoJSON geometry, without building anything."""
    if geom.get("type") == "GeometryCollection":
        return sum(count_vertices(g) for g in geom.get("geometries") or [])
    total = 0
    stack: list[Any] = [geom.get("coordinates")]
    while stack:
        node = stack.pop()
        if node and isinstance(node, list):
            if not isinstance(node[0], list):
                total += 1
            elif not isinstance(node[0][0], list):
                total += len(node)  # a list of positions
            else:
                stack.extend(node)
    return total


_LEVELS = {"MultiPoint": 1, "LineString": 1, "MultiLineString": 2, "Polygon": 2, "MultiPolygon": 3}


def simplify(geom: dict[str, Any], budget: int) -> tuple[dict[str, Any], int]:
    """``geom`` thinned to at most ``budget`` vertices, and the vertices kept.

    Every k-th vertex of each line and ring is kept, with its first and last (rings stay
    closed, with at least 4 positions): linear in the vertices, whatever their shape, where
    Douglas-Peucker is quadratic on zigzags a hostile job can write. Parts too many to thin
    that far leave the geometry's bounding box.
    """
    total = count_vertices(geom)
    step = max(1, -(-total // budget))
    while True:
        out = _thin(geom, step)
        kept = count_vertices(out)
        if kept <= budget or step >= total:
            break
        step *= 2
    if kept > budget:
        from shapely.geometry import mapping, shape

        out, kept = _lists(mapping(shape(geom).envelope)), 5
    return out, kept


def _thin(geom: dict[str, Any], step: int) -> dict[str, Any]:
    kind = geom["type"]
    if kind == "GeometryCollection":
        return {"type": kind, "geometries": [_thin(g, step) for g in geom["geometries"]]}
    if kind not in _LEVELS:
        return geom
    ring = kind in ("Polygon", "MultiPolygon")
    return {
        "type": kind,
        "coordinates": _thin_level(geom["coordinates"], _LEVELS[kind], step, ring),
    }


def _thin_level(coords: list[Any], level: int, step: int, ring: bool) -> list[Any]:
    if level > 1:
        return [_thin_level(c, level - 1, step, ring) for c in coords]
    least = 4 if ring else 2
    if len(coords) <= least or step == 1:
        return coords
    kept = coords[::step]
    if kept[-1] is not coords[-1]:
        kept.append(coords[-1])
    if len(kept) < least:
        last = len(coords) - 1
        kept = [coords[round(last * i / (least - 1))] for i in range(least)]
    return kept


def _lists(value: Any) -> Any:
    # mapping() gives tuples; records hold plain JSON (lists).
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_lists(v) for v in value]
    return value
