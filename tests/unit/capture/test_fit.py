"""Product geometries too big for an event: thinned to a vertex budget, never silently lost."""

from __future__ import annotations

from capture.contract.fit import count_vertices, simplify, vertex_budget
from capture.contract.sidecars import parse_sidecar


def zigzag(n: int) -> dict:
    return {"type": "LineString", "coordinates": [[-170 + 340 * i / n, i % 3] for i in range(n)]}


def test_the_budget_follows_the_event_limit_and_the_index_cap() -> None:
    assert vertex_budget(1024 * 1024) == 16_384
    assert vertex_budget(1024**3) == 100_000


def test_a_zigzag_line_is_thinned_to_the_budget_keeping_its_ends() -> None:
    line = zigzag(200_000)
    out, kept = simplify(line, 1000)
    assert out["type"] == "LineString" and kept == count_vertices(out) <= 1000
    assert out["coordinates"][0] == line["coordinates"][0]
    assert out["coordinates"][-1] == line["coordinates"][-1]


def test_thinned_rings_stay_closed_with_at_least_four_positions() -> None:
    big = [[float(i % 360 - 180), 10.0 + (i % 2)] for i in range(5000)] + [[-180.0, 10.0]]
    small = [[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]
    geom = {"type": "MultiPolygon", "coordinates": [[big], [small]]}
    out, kept = simplify(geom, 100)
    assert kept <= 100
    for (ring,) in out["coordinates"]:
        assert len(ring) >= 4 and ring[0] == ring[-1]


def test_parts_too_many_to_thin_leave_the_bounding_box() -> None:
    squares = [[[[x, 0], [x + 0.5, 0], [x + 0.5, 1], [x, 1], [x, 0]]] for x in range(100)]
    out, kept = simplify({"type": "MultiPolygon", "coordinates": squares}, 50)
    assert out["type"] == "Polygon" and kept == 5


def test_a_sidecar_over_the_budget_says_how_many_vertices_it_had_and_kept() -> None:
    side = parse_sidecar({"type": "Feature", "geometry": zigzag(50_000)}, "x.metadata.json", 500)
    assert side.full_vertices is not None and side.full_vertices[0] == 50_000
    assert count_vertices(side.fields["geometry"]) == side.full_vertices[1] <= 500
    assert abs(side.fields["center_point"]["coordinates"][1] - 1.0) < 1e-4  # the full centroid
    within = parse_sidecar({"type": "Feature", "geometry": zigzag(400)}, "y.metadata.json", 500)
    assert within.full_vertices is None and len(within.fields["geometry"]["coordinates"]) == 400


def test_a_job_cannot_write_the_full_geometry_note_itself(tmp_path) -> None:
    from capture.contract.collect import product_record
    from capture.contract.fit import FULL_GEOMETRY
    from capture.seed import load_manifest
    from tests.functional.capture.conftest import manifest_dict

    m = load_manifest(manifest_dict({"outputs": {"files": [{"name": "OUT", "pattern": "*.bin"}]}}))
    (tmp_path / "a.bin").write_bytes(b"x")
    (tmp_path / "a.bin.metadata.json").write_text(
        '{"type": "Feature", "geometry": null, "properties": '
        '{"seedpipe:full_geometry": {"sidecar": "../../etc/passwd"}, "ok": 1}}'
    )
    output = m.job.interface.outputs.files[0]
    rec = product_record(m.job, tmp_path, "a.bin", output, [], job_id="j", workspace="w")
    assert FULL_GEOMETRY not in rec.meta_data and rec.meta_data["ok"] == 1
