"""GeoJSON type names (RFC 7946) shared by sidecar parsing and media sniffing."""

from __future__ import annotations

from typing import Final

GEOMETRY_TYPES: Final = frozenset(
    {
        "Point",
        "MultiPoint",
        "LineString",
        "MultiLineString",
        "Polygon",
        "MultiPolygon",
        "GeometryCollection",
    }
)
OBJECT_TYPES: Final = GEOMETRY_TYPES | {"Feature", "FeatureCollection"}
