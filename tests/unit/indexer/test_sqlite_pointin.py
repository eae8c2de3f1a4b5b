"""The pure-Python point-in-polygon test gives shapely's (GEOS's) answer on every point,
boundaries and near-boundaries included."""

from __future__ import annotations

import itertools
import math
import random

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon

from indexer.backends.sqlite.pointin import orientation, point_meets


def star(rng: random.Random, cx: float, cy: float, r: float, n: int) -> list[tuple[float, float]]:
    """A star-shaped (often concave) ring around (cx, cy)."""
    angles = sorted(rng.uniform(0, 2 * math.pi) for _ in range(n))
    return [
        (cx + rng.uniform(0.2, 1) * r * math.cos(a), cy + rng.uniform(0.2, 1) * r * math.sin(a))
        for a in angles
    ]


def shapes(rng: random.Random) -> list[Polygon | MultiPolygon]:
    out: list[Polygon | MultiPolygon] = []
    for _ in range(300):
        cx, cy = rng.uniform(-170, 170), rng.uniform(-80, 80)
        kind = rng.random()
        if kind < 0.3:  # a skewed quad, as footprints are
            w, h, skew = rng.uniform(0.1, 2), rng.uniform(0.1, 2), rng.uniform(-0.5, 0.5)
            out.append(Polygon([(cx, cy), (cx + w, cy + skew), (cx + w, cy + h), (cx, cy + h)]))
        elif kind < 0.6:
            out.append(Polygon(star(rng, cx, cy, rng.uniform(0.5, 3), rng.randint(3, 12))))
        elif kind < 0.8:  # with a hole
            outer = [(cx - 2, cy - 2), (cx + 2, cy - 2), (cx + 2, cy + 2), (cx - 2, cy + 2)]
            hole = [(cx - 1, cy - 1), (cx - 1, cy + 1), (cx + 1, cy + 1), (cx + 1, cy - 1)]
            out.append(Polygon(outer, [hole]))
        else:  # two parts, as a shape split at the antimeridian is stored
            a = Polygon(star(rng, cx, cy, 1, 6))
            b = Polygon(star(rng, cx + 3, cy, 1, 6))
            out.append(MultiPolygon([a, b]))
    return out


def probes(rng: random.Random, shape: Polygon | MultiPolygon) -> list[tuple[float, float]]:
    """Points around the shape: random ones, its vertices, points on its edges (exact on
    axis-parallel edges, rounded on others) and their float neighbours."""
    x0, y0, x1, y1 = shape.bounds
    pts = [(rng.uniform(x0 - 0.5, x1 + 0.5), rng.uniform(y0 - 0.5, y1 + 0.5)) for _ in range(30)]
    coords = shapely.get_coordinates(shape).tolist()
    pts += [tuple(c) for c in coords]
    for (ax, ay), (bx, by) in itertools.pairwise(coords):
        mx, my = (ax + bx) / 2, (ay + by) / 2
        pts.append((mx, my))
        pts.append((float(np.nextafter(mx, math.inf)), my))
        pts.append((mx, float(np.nextafter(my, -math.inf))))
        pts.append((ax + (bx - ax) / 3, ay + (by - ay) / 3))
    return pts


def test_it_answers_as_shapely_on_every_probe() -> None:
    rng = random.Random(1616)
    checked = on_boundary = 0
    for shape in shapes(rng):
        blob = shapely.to_wkb(shape)
        for x, y in probes(rng, shape):
            want = bool(shapely.intersects_xy(shape, x, y))
            assert point_meets(blob, x, y) is want, (shape.wkt, x, y)
            checked += 1
            on_boundary += bool(shape.boundary.intersects(Point(x, y)))
    assert checked > 15_000 and on_boundary > 3_000  # the boundary cases are really tested


def test_points_exactly_on_slanted_edges_meet() -> None:
    """Integer vertices and probes on a half-unit grid: many lie exactly on slanted edges."""
    rng = random.Random(3)
    exact = 0
    for _ in range(200):
        ring = [(rng.randint(0, 8), rng.randint(0, 8)) for _ in range(rng.randint(3, 7))]
        shape = Polygon(ring)
        blob = shapely.to_wkb(shape)
        for i in range(-2, 19):
            for j in range(-2, 19):
                x, y = i / 2, j / 2
                want = bool(shapely.intersects_xy(shape, x, y))
                assert point_meets(blob, x, y) is want, (shape.wkt, x, y)
                exact += want
    assert exact > 5_000


def test_big_endian_wkb_and_other_shapes() -> None:
    square = Polygon([(0, 0), (1, 0), (1, 1), (0, 1)])
    big = shapely.to_wkb(square, byte_order=0)
    assert point_meets(big, 0.5, 0.5) is True and point_meets(big, 1.5, 0.5) is False
    assert point_meets(big, 1.0, 0.25) is True  # on an edge
    for other in (Point(0, 0), shapely.LineString([(0, 0), (1, 1)])):
        assert point_meets(shapely.to_wkb(other), 0, 0) is None  # left to shapely
    assert point_meets(b"", 0, 0) is None
    empty = shapely.to_wkb(Polygon())
    assert point_meets(empty, 0, 0) in (False, None)


def test_orientation_is_exact_where_floats_round() -> None:
    # c is exactly on the line a-b, but the float products round: the exact answer is 0
    a, b = (0.1, 0.1), (0.3, 0.3)
    c = (0.2, 0.2)
    exact = orientation(*a, *b, *c)
    from fractions import Fraction as F

    d = (F(a[0]) - F(c[0])) * (F(b[1]) - F(c[1])) - (F(a[1]) - F(c[1])) * (F(b[0]) - F(c[0]))
    assert exact == (d > 0) - (d < 0)
    assert orientation(0, 0, 1, 0, 0.5, 1e-300) == 1
    assert orientation(0, 0, 1, 0, 0.5, -1e-300) == -1
    assert orientation(0, 0, 1, 1, 0.5, 0.5) == 0
