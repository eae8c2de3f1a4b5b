"""The offline basemap: Natural Earth country outlines (shipped with the project), simplified."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from typing import Any

import shapely

# Degrees: at the zooms an overview map is looked at, finer outlines only cost bytes.
TOLERANCE = 0.05
DECIMALS = 2


@cache
def countries_geojson() -> tuple[bytes, str]:
    """The outlines as a GeoJSON FeatureCollection and its ETag (built once per process)."""
    from indexer.countries import borders

    shapes = borders()
    features = []
    for code, shape in zip(shapes.codes, shapes.shapes, strict=True):
        simple = shape.simplify(TOLERANCE, preserve_topology=True)
        if simple.is_empty:
            continue
        geometry = _rounded(json.loads(shapely.to_geojson(simple)))
        features.append({"type": "Feature", "properties": {"iso_a3": code}, "geometry": geometry})
    body = json.dumps(
        {"type": "FeatureCollection", "features": features}, separators=(",", ":")
    ).encode()
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _rounded(geometry: dict[str, Any]) -> dict[str, Any]:
    def walk(coords: object) -> object:
        if isinstance(coords, list | tuple):
            if coords and isinstance(coords[0], float | int):
                return [round(float(c), DECIMALS) for c in coords]
            return [walk(c) for c in coords]
        return coords

    return {"type": geometry["type"], "coordinates": walk(geometry["coordinates"])}
