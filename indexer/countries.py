"""ISO 3166 alpha-3 codes of the countries a geometry touches, from borders shipped in a package."""

from __future__ import annotations

import importlib.util
import json
import logging
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seedpipe.errors import MissingDependency

if TYPE_CHECKING:
    from shapely import STRtree
    from shapely.geometry.base import BaseGeometry

log = logging.getLogger(__name__)

# The borders come from the countryinfo wheel (one JSON file per country, each with a GeoJSON
# outline at roughly Natural Earth 1:110m): nothing is ever downloaded at run time.
BORDERS_PACKAGE = "countryinfo"


class Borders:
    """Country outlines in an STRtree; built once, queried by any thread."""

    def __init__(self, codes: list[str], shapes: list[BaseGeometry]) -> None:
        import shapely

        self.codes = codes
        self.shapes = shapes
        shapely.prepare(shapes)
        self.tree: STRtree = shapely.STRtree(shapes)

    def codes_for(self, shape: BaseGeometry | None) -> list[str]:
        """Sorted alpha-3 codes of the countries whose outline intersects ``shape``."""
        if shape is None or shape.is_empty:
            return []
        hits = self.tree.query(shape, predicate="intersects")
        return sorted({self.codes[int(i)] for i in hits})

    def codes_for_many(self, shapes: list[BaseGeometry | None]) -> list[list[str]]:
        """``codes_for`` of each shape, answered by one vectorized tree query."""
        import numpy as np

        present = [i for i, g in enumerate(shapes) if g is not None and not g.is_empty]
        out: list[set[str]] = [set() for _ in shapes]
        if present:
            geoms = np.array([shapes[i] for i in present], dtype=object)
            which, hits = self.tree.query(geoms, predicate="intersects")
            for w, h in zip(which.tolist(), hits.tolist(), strict=True):
                out[present[w]].add(self.codes[h])
        return [sorted(c) for c in out]


def borders_dir() -> Path:
    spec = importlib.util.find_spec(BORDERS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependency(BORDERS_PACKAGE, "pip install countryinfo (ships the borders)")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _outline(doc: dict[str, Any]) -> tuple[str, BaseGeometry] | None:
    from shapely.geometry import shape
    from shapely.validation import make_valid

    iso = doc.get("ISO") or {}
    code = iso.get("alpha3") if isinstance(iso, dict) else None
    collection = doc.get("geoJSON") or {}
    features = collection.get("features") or [] if isinstance(collection, dict) else []
    if not isinstance(code, str) or len(code) != 3 or not features:
        return None
    from shapely import union_all

    parts = [shape(f["geometry"]) for f in features if f.get("geometry")]
    if not parts:
        return None
    geom = union_all([make_valid(p) for p in parts])
    return code.upper(), geom


@cache
def borders() -> Borders:
    """Load and index every outline once (about 0.2 s), on first use."""
    codes: list[str] = []
    shapes: list[BaseGeometry] = []
    for path in sorted(borders_dir().glob("*.json")):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            found = _outline(doc) if isinstance(doc, dict) else None
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("skipping unreadable borders file %s: %s", path.name, exc)
            continue
        if found is not None:
            codes.append(found[0])
            shapes.append(found[1])
    log.debug("loaded %d country outlines", len(codes))
    return Borders(codes, shapes)


def countries_for(shape: BaseGeometry | None) -> list[str]:
    """ISO 3166 alpha-3 codes of the countries ``shape`` (lon/lat, WGS 84) touches, sorted."""
    return borders().codes_for(shape)


def countries_for_many(shapes: list[BaseGeometry | None]) -> list[list[str]]:
    """``countries_for`` over a batch in one tree query (what the indexer service uses)."""
    return borders().codes_for_many(shapes)


def known_countries() -> frozenset[str]:
    """The codes that have an outline (territories without one are never derived)."""
    return frozenset(borders().codes)
