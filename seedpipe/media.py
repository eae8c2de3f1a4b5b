"""Media type of a file: content sniffing for common geo formats, then the extension."""

from __future__ import annotations

import json
import mimetypes
import struct
from pathlib import PurePosixPath

from seedpipe.geojson import OBJECT_TYPES

GEOTIFF = "image/tiff; application=geotiff"
TIFF = "image/tiff"
NITF = "image/nitf"  # Scale's name for it, so existing trigger rules keep matching
HDF5 = "application/x-hdf5"
NETCDF = "application/x-netcdf"
GEOJSON = "application/geo+json"
PNG = "image/png"
JPEG = "image/jpeg"
OCTET = "application/octet-stream"

# GeoKeyDirectory, ModelPixelScale, ModelTiepoint, ModelTransformation.
GEOTIFF_TAGS = frozenset({34735, 33550, 33922, 34264})
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
SNIFF_BYTES = 64 * 1024

EXTENSIONS = {
    ".tif": TIFF,
    ".tiff": TIFF,
    ".ntf": NITF,
    ".nitf": NITF,
    ".nsf": NITF,
    ".h5": HDF5,
    ".hdf5": HDF5,
    ".he5": HDF5,
    ".nc": NETCDF,
    ".nc4": NETCDF,
    ".cdf": NETCDF,
    ".geojson": GEOJSON,
    ".png": PNG,
    ".jpg": JPEG,
    ".jpeg": JPEG,
    ".json": "application/json",
}


def _tiff_tags(head: bytes) -> set[int] | None:
    """Tag numbers of the first IFD of a classic or BigTIFF header within ``head``, or None."""
    if head[:4] in (b"II*\x00", b"MM\x00*") and len(head) >= 8:
        end = "<" if head[:2] == b"II" else ">"
        (offset,) = struct.unpack_from(end + "I", head, 4)
        if offset + 2 > len(head):
            return set()
        (count,) = struct.unpack_from(end + "H", head, offset)
        start, size, tag_fmt = offset + 2, 12, "H"
    elif head[:4] in (b"II+\x00", b"MM\x00+") and len(head) >= 16:
        end = "<" if head[:2] == b"II" else ">"
        (offset,) = struct.unpack_from(end + "Q", head, 8)
        if offset + 8 > len(head):
            return set()
        (count,) = struct.unpack_from(end + "Q", head, offset)
        start, size, tag_fmt = offset + 8, 20, "H"
    else:
        return None
    tags = set()
    for i in range(min(count, 4096)):
        pos = start + i * size
        if pos + 2 > len(head):
            break
        tags.add(struct.unpack_from(end + tag_fmt, head, pos)[0])
    return tags


def _is_geojson(head: bytes) -> bool:
    text = head.lstrip()
    if not text.startswith(b"{"):
        return False
    try:
        doc = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        # Too big for the sniff window: look for a GeoJSON type near the start instead.
        window = text[:4096].decode("utf-8", "replace").replace(" ", "")
        return any(f'"type":"{t}"' in window for t in OBJECT_TYPES)
    return isinstance(doc, dict) and doc.get("type") in OBJECT_TYPES


def sniff(head: bytes, name: str) -> str:
    """The media type of a file whose first bytes are ``head`` and whose name is ``name``."""
    ext = PurePosixPath(name).suffix.lower()
    tags = _tiff_tags(head)
    if tags is not None:
        return GEOTIFF if tags & GEOTIFF_TAGS else TIFF
    if head[:4] in (b"NITF", b"NSIF"):
        return NITF
    if head[:4] in (b"CDF\x01", b"CDF\x02", b"CDF\x05"):
        return NETCDF
    # The HDF5 superblock sits at 0, 512, 1024, 2048, ... (a user block may precede it).
    if any(head[o : o + 8] == HDF5_MAGIC for o in (0, 512, 1024, 2048, 4096, 8192)):
        # netCDF-4 is HDF5 underneath; its library stamps _NCProperties in the root group.
        if ext in (".nc", ".nc4", ".cdf") or b"_NCProperties" in head:
            return NETCDF
        return HDF5
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return PNG
    if head[:3] == b"\xff\xd8\xff":
        return JPEG
    if ext in (".geojson", ".json") and _is_geojson(head):
        return GEOJSON
    if ext in EXTENSIONS:
        return EXTENSIONS[ext]
    guessed, _ = mimetypes.guess_type(name, strict=False)
    return guessed or OCTET
