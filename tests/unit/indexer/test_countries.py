"""Countries derived from geometries with the borders shipped in the countryinfo wheel."""

from __future__ import annotations

from pathlib import Path

from shapely.geometry import LineString, MultiPolygon, Point, box

from indexer.countries import borders_dir, countries_for, known_countries


def test_a_point_in_paris_is_in_france() -> None:
    assert countries_for(Point(2.35, 48.85)) == ["FRA"]


def test_a_box_over_the_alps_touches_every_country_it_covers_sorted() -> None:
    assert countries_for(box(5, 45, 8, 48)) == ["CHE", "DEU", "FRA", "ITA"]


def test_open_ocean_and_missing_geometries_have_no_country() -> None:
    assert countries_for(Point(-30, 0)) == []
    assert countries_for(None) == []
    assert countries_for(box(0, 0, 0, 0).buffer(0)) == []


def test_a_geometry_split_at_the_antimeridian_finds_fiji_on_both_sides() -> None:
    split = MultiPolygon([box(177, -19, 180, -16), box(-180, -19, -179, -16)])
    assert countries_for(split) == ["FJI"]


def test_a_line_across_a_border_and_the_south_pole_are_covered() -> None:
    assert countries_for(LineString([(-100, 40), (-100, 55)])) == ["CAN", "USA"]
    assert countries_for(box(-180, -90, 180, -85)) == ["ATA"]


def test_borders_come_from_an_installed_package_not_the_network() -> None:
    folder = borders_dir()
    assert folder.is_dir() and "site-packages" in Path(folder).parts
    codes = known_countries()
    assert len(codes) > 150 and {"FRA", "USA", "BRA", "AUS", "CHN"} <= codes
