"""Geometry hygiene for outside GeoJSON: validate, repair, orient, split at the antimeridian.

One rule decides what crosses the antimeridian, for every index backend and ``Query.matches``
alike (they all clean through here): see ``polygon_crosses`` and ``_unwrap``.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from shapely.geometry import box, mapping, shape

from seedpipe.errors import InvalidInput

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

    from seedpipe.records import FileRecord

MAX_VERTICES = 100_000
MAX_PARTS = 10_000
Bounds = tuple[float, float, float, float]
_LEVELS = {
    "Point": 0,
    "MultiPoint": 1,
    "LineString": 1,
    "MultiLineString": 2,
    "Polygon": 2,
    "MultiPolygon": 3,
}


@dataclass(slots=True)
class CleanGeometry:
    """A usable geometry: GeoJSON to store, the shapely shape, its center and part boxes."""

    geojson: dict[str, Any]
    shape: BaseGeometry
    center: dict[str, Any]
    boxes: list[Bounds]
    is_box: bool = False  # a point or one axis-aligned rectangle: its bounds are exact


def _positions(coords: Any, level: int, field: str, count: list[int]) -> Any:
    """Walk nested coordinate arrays, checking each position; returns 2D lists."""
    if level == 0:
        if not isinstance(coords, list | tuple) or not 2 <= len(coords) <= 4:
            raise InvalidInput("a position must be [longitude, latitude]", field=field)
        x, y = coords[0], coords[1]
        for v in (x, y):
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise InvalidInput(f"coordinate {v!r} is not a number", field=field)
            if not math.isfinite(v):
                raise InvalidInput(f"coordinate {v!r} is not finite (NaN or infinite)", field=field)
        if not -180 <= x <= 180:
            raise InvalidInput(f"longitude {x} is outside [-180, 180]", field=field)
        if not -90 <= y <= 90:
            raise InvalidInput(f"latitude {y} is outside [-90, 90]", field=field)
        count[0] += 1
        if count[0] > MAX_VERTICES:
            raise InvalidInput(f"has more than {MAX_VERTICES} vertices", field=field)
        return [float(x), float(y)]
    if not isinstance(coords, list | tuple):
        raise InvalidInput("coordinates are not nested arrays of the right depth", field=field)
    if len(coords) > MAX_VERTICES:
        raise InvalidInput(f"has more than {MAX_VERTICES} vertices", field=field)
    return [_positions(c, level - 1, field, count) for c in coords]


def _checked(obj: Any, field: str, count: list[int], depth: int = 0) -> dict[str, Any]:
    """A structurally valid 2D GeoJSON geometry dict (rings closed), or InvalidInput."""
    if not isinstance(obj, dict):
        raise InvalidInput("must be a GeoJSON geometry object", field=field)
    kind = obj.get("type")
    if kind == "GeometryCollection":
        parts = obj.get("geometries")
        if depth > 0 or not isinstance(parts, list) or len(parts) > MAX_PARTS:
            raise InvalidInput("a GeometryCollection holds a flat list of geometries", field=field)
        return {
            "type": kind,
            "geometries": [_checked(p, f"{field}.geometries", count, 1) for p in parts],
        }
    if kind not in _LEVELS:
        raise InvalidInput(f"unknown geometry type {kind!r}", field=field)
    coords = _positions(obj.get("coordinates"), _LEVELS[kind], f"{field}.coordinates", count)
    rings: list[list[Any]] = []
    if kind == "Polygon":
        rings = coords
    elif kind == "MultiPolygon":
        rings = [r for poly in coords for r in poly]
    for ring in rings:
        if ring and ring[0] != ring[-1]:
            ring.append(list(ring[0]))
        if len(ring) < 4:
            raise InvalidInput("a polygon ring needs at least 4 positions", field=field)
    if kind == "LineString" and len(coords) < 2:
        raise InvalidInput("a LineString needs at least 2 positions", field=field)
    if kind in ("Polygon", "MultiPolygon") and not coords:
        raise InvalidInput("is empty", field=field)
    return {"type": kind, "coordinates": coords}


def _jumps(line: list[list[float]]) -> bool:
    # -180 to +180 exactly is a seam along the antimeridian (polar caps), not a jump.
    return any(180 < abs(a[0] - b[0]) < 360 for a, b in itertools.pairwise(line))


def _clockwise(ring: list[list[float]]) -> bool:
    """Whether a closed ring runs clockwise in plain lon/lat (shoelace sign)."""
    return sum((b[0] - a[0]) * (b[1] + a[1]) for a, b in itertools.pairwise(ring)) > 0


def polygon_crosses(rings: list[list[list[float]]]) -> bool:
    """THE rule for polygons, Elasticsearch's: a polygon whose longitudes span 180° or more
    crosses the antimeridian only when its exterior ring is clockwise (RFC 7946 asks for
    counter-clockwise exteriors, so a crossing polygon written as RFC 7946 says, going east
    over ±180, reads clockwise in plain lon/lat); its edges longer than 180° then go the short
    way, across ±180. A counter-clockwise exterior means what it says: -170° to 170° is a
    polygon 340° wide, not the 20° around the antimeridian."""
    exterior = rings[0]
    if not any(_jumps(r) for r in rings):
        return False
    xs = [p[0] for p in exterior]
    return max(xs) - min(xs) >= 180 and _clockwise(exterior)


def _shift(c: Any) -> Any:
    # Negative longitudes +360: a crossing part is continuous in [0, 360].
    if c and isinstance(c[0], float):
        return [c[0] + 360 if c[0] < 0 else c[0], c[1]]
    return [_shift(x) for x in c]


def _unwrap(geo: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """``geo`` with each part that crosses the antimeridian made continuous east of 180, and
    whether any did. Polygons follow ``polygon_crosses``; a line's edge longer than 180° goes
    the short way; points never cross. Parts are decided one by one, so a wide
    counter-clockwise polygon beside a crossing one stays as written."""
    kind = geo["type"]
    coords: Any = geo.get("coordinates")
    if kind == "GeometryCollection":
        parts = [_unwrap(g) for g in geo["geometries"]]
        return {"type": kind, "geometries": [g for g, _ in parts]}, any(c for _, c in parts)
    if kind == "Polygon":
        crossing = polygon_crosses(coords)
        return ({"type": kind, "coordinates": _shift(coords)} if crossing else geo), crossing
    if kind == "MultiPolygon":
        flags = [polygon_crosses(poly) for poly in coords]
        shifted = [_shift(poly) if f else poly for poly, f in zip(coords, flags, strict=True)]
        return {"type": kind, "coordinates": shifted}, any(flags)
    if kind == "LineString":
        crossing = _jumps(coords)
        return ({"type": kind, "coordinates": _shift(coords)} if crossing else geo), crossing
    if kind == "MultiLineString":
        flags = [_jumps(line) for line in coords]
        shifted = [_shift(line) if f else line for line, f in zip(coords, flags, strict=True)]
        return {"type": kind, "coordinates": shifted}, any(flags)
    return geo, False


def crosses_antimeridian(geo: dict[str, Any]) -> bool:
    """Whether any part of a checked geometry crosses ±180 (see ``_unwrap`` for the rule)."""
    return _unwrap(geo)[1]


def _repair(geom: BaseGeometry) -> BaseGeometry:
    if geom.is_valid:
        return geom
    polygonal = geom.geom_type in ("Polygon", "MultiPolygon")
    fixed = shapely.make_valid(geom, method="structure" if polygonal else "linework")
    return fixed


def _orient(geom: BaseGeometry) -> BaseGeometry:
    return shapely.orient_polygons(geom, exterior_cw=False)


def _wrap_point(x: float, y: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [((x + 180) % 360) - 180 if x > 180 else x, y]}


def part_boxes(geom: BaseGeometry, max_parts: int = 8) -> list[Bounds]:
    """Bounding boxes for the spatial prefilter: one per part when few, else one overall."""
    parts = list(getattr(geom, "geoms", [geom]))
    if 1 < len(parts) <= max_parts:
        return [tuple(p.bounds) for p in parts if not p.is_empty]
    return [tuple(geom.bounds)]


def clean_geometry(obj: Any, *, field: str = "geometry") -> CleanGeometry:
    """Validate and repair one GeoJSON geometry; InvalidInput with the reason if unusable."""
    geo = _checked(obj, field, [0])
    unwrapped, crossing = _unwrap(geo)
    try:
        geom = shape(unwrapped)
    except (ValueError, TypeError, shapely.errors.GEOSException) as exc:
        raise InvalidInput(f"is not a usable geometry ({exc})", field=field) from exc
    geom = _repair(geom)
    center = geom.centroid if not geom.is_empty else None
    if crossing:
        west = shapely.affinity.translate(geom.intersection(box(180, -90, 540, 90)), xoff=-360)
        east = geom.intersection(box(-180, -90, 180, 90))
        geom = shapely.union(east, west) if not west.is_empty else east
        geom = _repair(geom)
    geom = _orient(geom)
    if geom.is_empty or center is None or center.is_empty:
        raise InvalidInput("is empty after repair", field=field)
    if geom.geom_type == "GeometryCollection" and not len(geom.geoms):
        raise InvalidInput("is empty after repair", field=field)
    geojson = json.loads(shapely.to_geojson(geom))
    boxes = part_boxes(geom)
    exact = exact_boxes(geom)
    is_box = exact is not None and len(exact) == 1
    return CleanGeometry(geojson, geom, _wrap_point(center.x, center.y), boxes, is_box)


_NUM = (int, float)


def _simple_shapes(objs: list[Any]) -> np.ndarray:
    """Shapely geometries for plain 2D Points and one-ring Polygons (None for anything else).

    Built from the coordinates with vectorized constructors: no GeoJSON text round trip.
    """
    geoms = np.full(len(objs), None, dtype=object)
    pts: list[int] = []
    pt_xy: list[Any] = []
    polys: list[int] = []
    ring_xy: list[Any] = []
    ring_ids: list[int] = []
    num = _NUM
    for i, obj in enumerate(objs):
        if type(obj) is not dict:
            continue
        kind, c = obj.get("type"), obj.get("coordinates")
        if type(c) is not list:
            continue
        if kind == "Point":
            if len(c) == 2 and type(c[0]) in num and type(c[1]) in num:
                pts.append(i)
                pt_xy.append(c)
        elif (
            kind == "Polygon"
            and len(c) == 1
            and type(ring := c[0]) is list
            and 4 <= len(ring) <= 64
            and ring[0] == ring[-1]
        ):
            for p in ring:  # a plain loop: three times as fast as all() over a generator
                if type(p) is not list or len(p) != 2 or type(p[0]) not in num:
                    break
                if type(p[1]) not in num:
                    break
            else:
                ring_ids.extend([len(polys)] * len(ring))
                polys.append(i)
                ring_xy.extend(ring)
    # np.fromiter over the flat numbers: the floats np.array makes of the nested lists, faster
    if pts:
        xy = np.fromiter(itertools.chain.from_iterable(pt_xy), float, 2 * len(pt_xy))
        geoms[pts] = shapely.points(xy.reshape(-1, 2))
    if polys:
        xy = np.fromiter(itertools.chain.from_iterable(ring_xy), float, 2 * len(ring_xy))
        rings = shapely.linearrings(xy.reshape(-1, 2), indices=ring_ids)
        geoms[polys] = shapely.polygons(rings)
    return geoms


def clean_many(objs: list[Any], *, field: str = "geometry") -> list[CleanGeometry | InvalidInput]:
    """``clean_geometry`` over a batch; the common case (valid, CCW, no crossing) is vectorized."""
    out: list[CleanGeometry | InvalidInput | None] = [None] * len(objs)
    geoms = _simple_shapes(objs)
    bounds = shapely.bounds(geoms)
    with np.errstate(invalid="ignore"):
        simple = (
            ~shapely.is_missing(geoms)
            & np.isfinite(bounds).all(axis=1)
            & (bounds[:, 0] >= -180)
            & (bounds[:, 2] <= 180)
            & (bounds[:, 1] >= -90)
            & (bounds[:, 3] <= 90)
            & (bounds[:, 2] - bounds[:, 0] <= 180)
        )
    types = shapely.get_type_id(geoms)
    poly = simple & (types == 3)
    if poly.any():
        idx = np.flatnonzero(poly)
        # a valid polygon with a CCW shell is already what clean_geometry would make of it
        good = shapely.is_valid(geoms[idx]) & shapely.is_ccw(shapely.get_exterior_ring(geoms[idx]))
        simple[idx[~good]] = False
    chosen = np.flatnonzero(simple)
    b = bounds[chosen]
    kinds = types[chosen]
    with np.errstate(invalid="ignore"):
        boxy = (kinds == 0) | (
            (shapely.get_num_coordinates(geoms[chosen]) == 5)
            & (shapely.area(geoms[chosen]) == (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]))
        )
    # a point is its own center (its GeoJSON as given): centroids for the polygons only
    polys = kinds != 0
    cxy = shapely.get_coordinates(shapely.centroid(geoms[chosen[polys]])).tolist()
    if len(cxy) != np.count_nonzero(polys):
        raise ValueError("clean_many: a polygon without a centroid")
    centers = iter(cxy)
    for k, bb, g, is_poly, bx in zip(
        chosen.tolist(), b.tolist(), geoms[chosen], polys.tolist(), boxy.tolist(), strict=True
    ):
        obj = objs[k]
        if is_poly:
            out[k] = CleanGeometry(obj, g, {"type": "Point", "coordinates": next(centers)},
                                   [tuple(bb)], bx)  # fmt: skip
        else:
            out[k] = CleanGeometry(obj, g, obj, [tuple(bb)], bx)
    for i in np.flatnonzero(~simple):
        try:
            out[i] = clean_geometry(objs[i], field=field)
        except InvalidInput as exc:
            out[i] = exc
    return out  # type: ignore[return-value]


def query_shape(obj: Any, *, field: str = "intersects") -> BaseGeometry:
    """The shape a query's GeoJSON searches by: ``clean_geometry``'s, and for a point without
    its repair, orientation, centre and GeoJSON round trip (a point needs none of them, and
    they were a third of an indexed point query's time)."""
    if isinstance(obj, dict) and obj.get("type") == "Point":
        return shapely.Point(*query_point(obj, field=field))
    return clean_geometry(obj, field=field).shape


def query_point(obj: Any, *, field: str = "intersects") -> tuple[float, float]:
    """A query's GeoJSON Point as checked (x, y): what ``query_shape`` builds its point from,
    for a caller that needs no shapely object (an indexed point query's probe and refine)."""
    x, y = _checked(obj, field, [0])["coordinates"]
    return x, y


def clean_point(obj: Any, *, field: str = "center_point") -> dict[str, Any]:
    """A checked GeoJSON Point."""
    geo = _checked(obj, field, [0])
    if geo["type"] != "Point":
        raise InvalidInput("must be a GeoJSON Point", field=field)
    return geo


def bbox_geometry(bbox: Bounds) -> BaseGeometry:
    """A bbox as a polygon, or two when minx > maxx (it crosses the antimeridian)."""
    minx, miny, maxx, maxy = bbox
    if minx <= maxx:
        return box(minx, miny, maxx, maxy)
    return shapely.MultiPolygon([box(minx, miny, 180, maxy), box(-180, miny, maxx, maxy)])


def exact_boxes(geom: BaseGeometry) -> list[Bounds] | None:
    """The geometry as axis-aligned boxes (points are degenerate boxes) when it is exactly that."""
    parts = list(getattr(geom, "geoms", [geom]))
    out: list[Bounds] = []
    for p in parts:
        if p.geom_type == "Point":
            out.append((p.x, p.y, p.x, p.y))
            continue
        if p.geom_type != "Polygon" or p.interiors or len(p.exterior.coords) != 5:
            return None
        env = p.envelope
        if env.geom_type != "Polygon" or not math.isclose(env.area, p.area, rel_tol=0, abs_tol=0):
            return None
        out.append(tuple(p.bounds))
    return out


def record_shape(record: FileRecord) -> BaseGeometry | None:
    """The shape a record is searched by: its cleaned geometry, else its center point."""
    if record.geometry is not None:
        clean = clean_many([record.geometry])[0]  # the vectorized fast path when simple
        if not isinstance(clean, InvalidInput):
            return clean.shape
    if record.center_point is not None:
        try:
            return shape(clean_point(record.center_point))
        except InvalidInput:
            return None
    return None


def geojson_of(geom: BaseGeometry) -> dict[str, Any]:
    """A shapely geometry as a plain GeoJSON dict (lists, not tuples)."""
    return json.loads(json.dumps(mapping(geom)))


@dataclass(frozen=True, slots=True)
class RecordPlace:
    """A record's cleaned geometry and center point, and why either was dropped."""

    clean: CleanGeometry | None
    center: dict[str, Any] | None
    error: str | None


def clean_records(records: list[FileRecord]) -> list[RecordPlace]:
    """Geometry hygiene for a batch of records, as every index backend applies it.

    An unusable geometry or center point is dropped with the reason (the rest of the record is
    still indexed); a missing center point is derived from the geometry.
    """
    geometries = [r.geometry for r in records]
    with_geom = [k for k, g in enumerate(geometries) if g is not None]
    cleaned: Sequence[CleanGeometry | InvalidInput | None]
    if len(with_geom) == len(records):
        cleaned = clean_many(geometries)
    else:
        some: list[CleanGeometry | InvalidInput | None] = [None] * len(records)
        for k, got in zip(with_geom, clean_many([geometries[k] for k in with_geom]), strict=True):
            some[k] = got
        cleaned = some
    out = []
    for r, c in zip(records, cleaned, strict=True):
        center = r.center_point
        if center is None and isinstance(c, CleanGeometry):  # the common case
            out.append(RecordPlace(c, c.center, None))
            continue
        error = None
        if isinstance(c, InvalidInput):
            error, c = str(c), None
        if center is not None:
            try:
                center = clean_point(center)
            except InvalidInput as exc:
                error, center = (f"{error}; {exc}" if error else str(exc)), None
        if c is not None:
            center = center or c.center
        out.append(RecordPlace(c, center, error))
    return out
