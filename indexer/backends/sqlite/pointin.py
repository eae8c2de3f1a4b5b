"""Whether a point meets a stored polygon, exactly, in plain Python.

A point query refines only its few candidates whose shape is not a box (a handful at a
million records), but shapely's vectorised path (``from_wkb`` and ``intersects_xy``) costs
~130 µs on a cold cache (right after other work), a quarter of the whole query, to set up
machinery for two or three shapes. Here the WKB of a Polygon or MultiPolygon is read with
``struct`` and the point located against its rings, with GEOS's answer: the boundary counts as
meeting, and each orientation's sign is exact (a floating-point filter, then rational
arithmetic when the filter cannot decide), as GEOS's robust predicates are. Any other shape
(or WKB flavour) answers None and is left to shapely.
"""

from __future__ import annotations

import struct
from fractions import Fraction

# Shewchuk's ccwerrboundA, (3 + 16ε)ε with ε = 2^-53: beyond it a float orientation's sign is
# certain.
_BOUND = 3.3306690738754716e-16
_POLYGON, _MULTIPOLYGON = 3, 6


def orientation(ax: float, ay: float, bx: float, by: float, cx: float, cy: float) -> int:
    """The sign of the turn a -> b -> c: 1 left, -1 right, 0 on one line (exact)."""
    left = (ax - cx) * (by - cy)
    right = (ay - cy) * (bx - cx)
    det = left - right
    bound = _BOUND * (abs(left) + abs(right))
    if det > bound:
        return 1
    if -det > bound:
        return -1
    fx, fy = Fraction(cx), Fraction(cy)
    exact = (Fraction(ax) - fx) * (Fraction(by) - fy) - (Fraction(ay) - fy) * (Fraction(bx) - fx)
    return (exact > 0) - (exact < 0)


def _ring(coords: tuple[float, ...], x: float, y: float) -> int:
    """2 when (x, y) is on the ring, 1 inside it, 0 outside (crossings of a ray to +x, each
    edge half-open in y)."""
    inside = 0
    ax, ay = coords[0], coords[1]
    for k in range(2, len(coords), 2):
        bx, by = coords[k], coords[k + 1]
        if (
            (ax <= x <= bx or bx <= x <= ax)
            and (ay <= y <= by or by <= y <= ay)
            and orientation(ax, ay, bx, by, x, y) == 0
        ):
            return 2
        if (ay > y) != (by > y) and (orientation(ax, ay, bx, by, x, y) > 0) == (by > ay):
            inside ^= 1
        ax, ay = bx, by
    return inside


def _polygon(blob: bytes, at: int, order: str, x: float, y: float) -> tuple[bool, int]:
    """Whether the polygon at ``at`` (past its header) meets the point; and where it ends."""
    (rings,) = struct.unpack_from(order + "I", blob, at)
    at += 4
    meets = False
    for r in range(rings):
        (n,) = struct.unpack_from(order + "I", blob, at)
        coords = struct.unpack_from(f"{order}{2 * n}d", blob, at + 4)
        at += 4 + 16 * n
        if n == 0:
            continue
        where = _ring(coords, x, y)
        if r == 0:
            meets = where > 0
        elif where == 1:  # strictly inside a hole (on its boundary is the polygon's boundary)
            meets = False
    return meets, at


def point_meets(blob: bytes, x: float, y: float) -> bool | None:
    """Whether (x, y) meets the shape of WKB ``blob`` (boundary included), or None for a shape
    this does not read (anything but a 2-D Polygon or MultiPolygon)."""
    if len(blob) < 9:
        return None
    order = "<" if blob[0] == 1 else ">"
    (kind,) = struct.unpack_from(order + "I", blob, 1)
    if kind == _POLYGON:
        return _polygon(blob, 5, order, x, y)[0]
    if kind != _MULTIPOLYGON:
        return None
    (parts,) = struct.unpack_from(order + "I", blob, 5)
    at = 9
    for _ in range(parts):
        inner = "<" if blob[at] == 1 else ">"
        (sub,) = struct.unpack_from(inner + "I", blob, at + 1)
        if sub != _POLYGON:
            return None
        meets, at = _polygon(blob, at + 5, inner, x, y)
        if meets:
            return True
    return False
