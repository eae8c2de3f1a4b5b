"""The offline basemap: Natural Earth country outlines (shipped with the project), simplified."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

# Degrees: at the zooms an overview map is looked at, finer outlines only cost bytes.
TOLERANCE = 0.05
DECIMALS = 2
# Islets smaller than this (square degrees, ~60 km² at the equator) are left out, but every
# country keeps its largest part: half the parts to draw, the same map.
MIN_PART_AREA = 0.005


@cache
def countries_geojson() -> tuple[bytes, str]:
    """The outlines as a GeoJSON FeatureCollection and its ETag (built once per process)."""
    from indexer.countries import borders

    shapes = borders()
    by_country: dict[str, list[BaseGeometry]] = {}
    for code, shape in zip(shapes.codes, shapes.shapes, strict=True):
        simple = shape.simplify(TOLERANCE, preserve_topology=True)
        if not simple.is_empty:
            by_country.setdefault(code, []).extend(getattr(simple, "geoms", [simple]))
    features = []
    for code, parts in sorted(by_country.items()):
        outline = _without_islets(parts)
        geometry = _rounded(json.loads(shapely.to_geojson(outline)))
        features.append({"type": "Feature", "properties": {"iso_a3": code}, "geometry": geometry})
    body = json.dumps(
        {"type": "FeatureCollection", "features": features}, separators=(",", ":")
    ).encode()
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _without_islets(parts: list[BaseGeometry]) -> BaseGeometry:
    largest = max(parts, key=lambda p: p.area)
    kept = [p for p in parts if p is largest or p.area >= MIN_PART_AREA]
    return kept[0] if len(kept) == 1 else shapely.MultiPolygon(kept)


def _rounded(geometry: dict[str, Any]) -> dict[str, Any]:
    def walk(coords: object) -> object:
        if isinstance(coords, list | tuple):
            if coords and isinstance(coords[0], float | int):
                return [round(float(c), DECIMALS) for c in coords]
            return [walk(c) for c in coords]
        return coords

    return {"type": geometry["type"], "coordinates": walk(geometry["coordinates"])}
