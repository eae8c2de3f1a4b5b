"""Unit tests of media type sniffing for geo formats."""

from __future__ import annotations

import io
import json

from PIL import Image

from seedpipe import media


def tiff_bytes(geo: bool) -> bytes:
    buf = io.BytesIO()
    info = {33550: (1.0, 1.0, 0.0), 33922: (0.0, 0.0, 0.0, 10.0, 50.0, 0.0)} if geo else {}
    Image.new("L", (4, 4)).save(buf, format="TIFF", tiffinfo=info)
    return buf.getvalue()


def test_geotiff_is_told_from_plain_tiff_by_its_geokey_tags():
    assert media.sniff(tiff_bytes(True), "x.bin") == media.GEOTIFF
    assert media.sniff(tiff_bytes(False), "x.tif") == media.TIFF


def test_nitf_hdf5_and_netcdf_are_sniffed_from_their_magic():
    assert media.sniff(b"NITF02.10" + b"\0" * 20, "a") == media.NITF
    assert media.sniff(b"CDF\x01" + b"\0" * 20, "a") == media.NETCDF
    assert media.sniff(media.HDF5_MAGIC + b"\0" * 20, "a.h5") == media.HDF5
    assert media.sniff(media.HDF5_MAGIC + b"\0" * 20, "a.nc") == media.NETCDF
    assert media.sniff(media.HDF5_MAGIC + b"_NCProperties", "a") == media.NETCDF
    assert media.sniff(b"\0" * 512 + media.HDF5_MAGIC, "a") == media.HDF5


def test_png_and_jpeg_are_sniffed_whatever_their_extension():
    buf = io.BytesIO()
    Image.new("RGB", (2, 2)).save(buf, format="PNG")
    assert media.sniff(buf.getvalue(), "x.dat") == media.PNG
    buf = io.BytesIO()
    Image.new("RGB", (2, 2)).save(buf, format="JPEG")
    assert media.sniff(buf.getvalue(), "x.png") == media.JPEG


def test_geojson_is_recognised_in_json_files():
    doc = {"type": "FeatureCollection", "features": []}
    assert media.sniff(json.dumps(doc).encode(), "a.json") == media.GEOJSON
    assert media.sniff(b'{"a": 1}', "a.json") == "application/json"


def test_unknown_content_falls_back_to_the_extension():
    assert media.sniff(b"hello", "a.txt") == "text/plain"
    assert media.sniff(b"hello", "noext") == media.OCTET
    assert media.sniff(b"", "a.tif") == media.TIFF


def test_truncated_or_corrupt_tiff_headers_do_not_raise():
    for head in (b"II*\x00", b"II*\x00\xff\xff\xff\xff", b"MM\x00+" + b"\xff" * 12, b"II*\x00\x08"):
        assert media.sniff(head, "x.tif") in (media.TIFF, media.OCTET)
