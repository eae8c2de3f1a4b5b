"""Countries derived from geometries with the Natural Earth 1:10m borders shipped in a wheel."""

from __future__ import annotations

from pathlib import Path

from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box

from indexer.countries import borders_file, countries_for, countries_for_many, known_countries


def test_a_point_in_paris_is_in_france() -> None:
    assert countries_for(Point(2.35, 48.85)) == ["FRA"]


def test_points_in_countries_the_coarse_borders_missed_are_found() -> None:
    assert countries_for(Point(125.6, 10.1)) == ["PHL"]  # Leyte, the Philippines
    assert countries_for(Point(19.04, 47.5)) == ["HUN"]  # Budapest
    assert countries_for(Point(103.82, 1.35)) == ["SGP"]  # Singapore
    assert countries_for(Point(-76.79, 18.01)) == ["JAM"]  # Kingston


def test_a_polygon_across_the_rhine_touches_france_and_germany() -> None:
    strasbourg_and_kehl = Polygon([(7.0, 48.3), (8.0, 48.3), (8.0, 49.0), (7.0, 49.0)])
    assert countries_for(strasbourg_and_kehl) == ["DEU", "FRA"]


def test_units_natural_earth_codes_minus_99_still_get_a_code() -> None:
    assert countries_for(Point(10.75, 59.91)) == ["NOR"]  # Oslo
    assert countries_for(Point(21.17, 42.66)) == ["KOS"]  # Pristina: Natural Earth's ADM0_A3


def test_a_box_over_the_alps_touches_every_country_it_covers_sorted() -> None:
    assert countries_for(box(5, 45, 8, 48)) == ["CHE", "DEU", "FRA", "ITA"]


def test_open_ocean_and_missing_geometries_have_no_country() -> None:
    assert countries_for(Point(-30, 0)) == []
    assert countries_for(None) == []
    assert countries_for(box(0, 0, 0, 0).buffer(0)) == []


def test_a_batch_answers_each_shape_in_order() -> None:
    shapes = [Point(19.04, 47.5), None, Point(-30, 0), box(7.0, 48.3, 8.0, 49.0)]
    assert countries_for_many(shapes) == [["HUN"], [], [], ["DEU", "FRA"]]
    assert countries_for_many([]) == []


def test_a_geometry_split_at_the_antimeridian_finds_fiji_on_both_sides() -> None:
    split = MultiPolygon([box(177, -19, 180, -16), box(-180, -19, -179, -16)])
    assert countries_for(split) == ["FJI"]


def test_a_line_across_a_border_and_the_south_pole_are_covered() -> None:
    assert countries_for(LineString([(-100, 40), (-100, 55)])) == ["CAN", "USA"]
    assert countries_for(box(-180, -90, 180, -85)) == ["ATA"]


def test_borders_come_from_an_installed_package_not_the_network() -> None:
    path = borders_file()
    assert path.is_file() and "site-packages" in Path(path).parts
    codes = known_countries()
    assert len(codes) > 230 and {"FRA", "USA", "BRA", "AUS", "CHN"} <= codes
    small = {"HUN", "SRB", "MNE", "MMR", "JAM", "SGP", "BHR", "HKG", "PSE", "MLT", "TUV"}
    assert small <= codes


def test_parsed_borders_are_cached_and_a_damaged_cache_is_rebuilt(
    tmp_path: Path, monkeypatch, caplog
) -> None:
    import shapely

    from indexer import countries

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    source = borders_file()
    path = countries._cache_path(source)
    assert path is not None and path.parent == tmp_path / "seedpipe"
    assert countries._read_cache(path) is None  # nothing yet
    codes, shapes = countries._read_shapefile(source)
    countries._write_cache(path, codes, shapes)
    cached = countries._read_cache(path)
    assert cached is not None and cached[0] == codes
    assert all(shapely.equals_exact(a, b, 0) for a, b in zip(cached[1], shapes, strict=True))
    path.write_bytes(b"PK\x03\x04 not a cache")
    assert countries._read_cache(path) is None
    assert "ignoring the borders cache" in caplog.text


def test_an_unwritable_cache_directory_costs_only_the_cache(tmp_path: Path, monkeypatch) -> None:
    from indexer import countries

    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    path = countries._cache_path(borders_file())
    assert path is not None
    countries._write_cache(path, ["FRA"], [box(0, 0, 1, 1)])  # logs, never raises
    assert not path.exists()
