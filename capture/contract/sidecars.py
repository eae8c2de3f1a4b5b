"""``.metadata.json`` sidecars: GeoJSON Feature or bare geometry giving a file's place and time."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from capture.contract.fit import count_vertices, simplify
from seedpipe import strictjson
from seedpipe.errors import InvalidInput
from seedpipe.geojson import GEOMETRY_TYPES
from seedpipe.records import FileRecord

SUFFIX = ".metadata.json"
MAX_SIDECAR_BYTES = 16 * 1024 * 1024
# Scale's property names -> scale_file columns.
TIME_PROPERTIES = {
    "dataStarted": "data_started",
    "dataEnded": "data_ended",
    "sourceStarted": "source_started",
    "sourceEnded": "source_ended",
}
TEXT_PROPERTIES = {
    "sourceSensorClass": "source_sensor_class",
    "sourceSensor": "source_sensor",
    "sourceCollection": "source_collection",
    "sourceTask": "source_task",
}


@dataclass
class Sidecar:
    """What a sidecar says, already in FileRecord field names; ``properties`` kept whole."""

    fields: dict[str, Any] = field(default_factory=dict)
    data_types: list[str] = field(default_factory=list)
    properties: dict[str, Any] = field(default_factory=dict)
    full_vertices: tuple[int, int] | None = None  # (had, kept) when the geometry was simplified


def read_json_file(path: Path, label: str, limit: int = MAX_SIDECAR_BYTES) -> Any:
    """Parse a JSON file the job wrote, refusing huge, unreadable or non-JSON files (NaN and
    Infinity are not JSON: refused with the property's path, never stored as null)."""
    try:
        size = path.stat().st_size
        if size > limit:
            raise InvalidInput(f"is {size} bytes, over the {limit}-byte limit", field=label)
        with path.open("rb") as fh:
            raw = fh.read(limit + 1)
        return strictjson.loads(raw.decode("utf-8"), label)
    except OSError as exc:
        raise InvalidInput(f"cannot be read: {exc.strerror}", field=label) from exc
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise InvalidInput(f"is not valid JSON: {exc}", field=label) from exc


def _time(value: Any, where: str) -> datetime:
    if not isinstance(value, str):
        raise InvalidInput("must be an ISO 8601 date-time string", field=where)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(f"{value!r} is not an ISO 8601 date-time", field=where) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _in_bounds(coords: Any) -> bool:
    """Every position is [lon, lat] within WGS84 bounds (walked in place: a sidecar may hold
    millions of positions, and a copy of them all would cost more than the sidecar)."""
    stack = [coords]
    while stack:
        node = stack.pop()
        if not isinstance(node, list) or not node:
            return False
        if isinstance(node[0], list):
            stack.extend(node)
            continue
        if len(node) < 2 or not all(isinstance(c, int | float) for c in node):
            return False
        x, y = node[0], node[1]
        if not (-180.0 <= x <= 180.0 and -90.0 <= y <= 90.0):
            return False
    return True


def check_geometry(geom: Any, where: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A valid WGS84 GeoJSON geometry and its center point (centroid), or InvalidInput."""
    geom, center, _ = _check_shape(geom, where)
    return geom, center


def _check_shape(geom: Any, where: str) -> tuple[dict[str, Any], dict[str, Any], Any]:
    from shapely.geometry import mapping

    if not isinstance(geom, dict) or geom.get("type") not in GEOMETRY_TYPES:
        raise InvalidInput(
            f"must be a GeoJSON geometry ({', '.join(sorted(GEOMETRY_TYPES))})", field=where
        )
    if geom["type"] != "GeometryCollection" and not _in_bounds(geom.get("coordinates")):
        raise InvalidInput("has a coordinate outside WGS84 lon/lat bounds", field=where)
    try:
        shp = _shape(geom)
    except Exception as exc:  # shapely raises several types for malformed coordinates
        raise InvalidInput(f"is not a valid {geom['type']}: {exc}", field=where) from exc
    if shp.is_empty:
        raise InvalidInput("is empty", field=where)
    center = mapping(shp.centroid if not shp.centroid.is_empty else shp.representative_point())
    return geom, {"type": "Point", "coordinates": list(center["coordinates"])}, shp


def _shape(geom: dict[str, Any]) -> Any:
    """The shapely geometry, built through numpy arrays: for a million positions shapely's
    ``shape`` needs ~150 MB more at its peak, this ~20 MB (the positions' own size)."""
    import numpy as np
    import shapely
    from shapely.geometry import shape

    kind = geom["type"]
    c: Any = geom.get("coordinates")

    def ring(r: Any) -> Any:
        return shapely.linearrings(np.array(r, dtype=float))

    def polygon(rings: Any) -> Any:
        return shapely.polygons(ring(rings[0]), holes=[ring(r) for r in rings[1:]] or None)

    if kind == "LineString":
        return shapely.linestrings(np.array(c, dtype=float))
    if kind == "MultiPoint":
        return shapely.multipoints(np.array(c, dtype=float))
    if kind == "MultiLineString":
        return shapely.multilinestrings([shapely.linestrings(np.array(x, dtype=float)) for x in c])
    if kind == "Polygon":
        return polygon(c)
    if kind == "MultiPolygon":
        return shapely.multipolygons([polygon(p) for p in c])
    return shape(geom)


def parse_sidecar(data: Any, label: str, vertex_budget: int | None = None) -> Sidecar:
    """Interpret sidecar JSON (``label`` names the file in errors).

    With ``vertex_budget`` a geometry of more vertices is simplified to fit it (the center is
    the full geometry's); ``full_vertices`` then says how many it had and how many are kept.
    """
    if not isinstance(data, dict) or "type" not in data:
        raise InvalidInput("must be a GeoJSON Feature or geometry object", field=label)
    kind = data["type"]
    if kind == "FeatureCollection":
        raise InvalidInput("a FeatureCollection is not allowed; use one Feature", field=label)
    sidecar = Sidecar()
    if kind == "Feature":
        geom = data.get("geometry")
        props = data.get("properties")
        props = {} if props is None else props
        if not isinstance(props, dict):
            raise InvalidInput("must be an object", field=f"{label}: properties")
    elif kind in GEOMETRY_TYPES:
        geom, props = data, {}
    else:
        raise InvalidInput(f"unknown GeoJSON type {kind!r}", field=f"{label}: type")
    if geom is not None:
        geometry, center, shp = _check_shape(geom, f"{label}: geometry")
        if vertex_budget is not None and (n := count_vertices(geometry)) > vertex_budget:
            geometry, kept = simplify(geometry, vertex_budget)
            sidecar.full_vertices = (n, kept)
        del shp
        sidecar.fields.update(geometry=geometry, center_point=center)
    for prop, column in TIME_PROPERTIES.items():
        if props.get(prop) is not None:
            sidecar.fields[column] = _time(props[prop], f"{label}: properties.{prop}")
    for prop, column in TEXT_PROPERTIES.items():
        value = props.get(prop)
        if value is not None:
            if not isinstance(value, str):
                raise InvalidInput("must be a string", field=f"{label}: properties.{prop}")
            sidecar.fields[column] = value
    started, ended = sidecar.fields.get("data_started"), sidecar.fields.get("data_ended")
    if started and ended and ended < started:
        raise InvalidInput("dataEnded is before dataStarted", field=f"{label}: properties")
    types = props.get("dataTypes", [])
    if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
        raise InvalidInput("must be an array of strings", field=f"{label}: properties.dataTypes")
    sidecar.data_types = types
    sidecar.properties = props
    return sidecar


def read_sidecar(path: Path, label: str | None = None, vertex_budget: int | None = None) -> Sidecar:
    label = label or path.name
    return parse_sidecar(read_json_file(path, label), label, vertex_budget)


def input_update(record: FileRecord, sidecar: Sidecar) -> tuple[FileRecord, dict[str, Any]]:
    """The input's record with the sidecar applied, and the change as JSON-ready data."""
    tags = list(dict.fromkeys([*record.data_type_tags, *sidecar.data_types]))
    meta = {**record.meta_data, **sidecar.properties}
    updated = record.bump(**sidecar.fields, data_type_tags=tags, meta_data=meta)
    change: dict[str, Any] = {
        k: _iso(v) if isinstance(v, datetime) else v for k, v in sidecar.fields.items()
    }
    change["data_types"] = sidecar.data_types
    change["properties"] = sidecar.properties
    return updated, change


def _iso(value: datetime) -> str:
    # Same spelling as the records' JSON (pydantic writes UTC as "Z").
    return value.isoformat().replace("+00:00", "Z")
