"""``[api] tile_url``: an XYZ template over http(s), or nothing (the offline basemap)."""

from __future__ import annotations

import pytest

from seedpipe.errors import ConfigError
from seedpipe.settings import Settings


def test_an_xyz_tile_template_is_taken_as_given() -> None:
    url = "https://tiles.example.org/{z}/{x}/{y}.png"
    assert Settings.load(None, api={"tile_url": url}).api.tile_url == url
    assert Settings.load(None, api={"tile_url": ""}).api.tile_url is None
    assert Settings.load(None).api.tile_url is None


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://tiles/{z}/{x}/{y}.png", "http(s)"),
        ("https://tiles/{z}/{x}.png", "{y}"),
        ("javascript:alert(1)//{z}{x}{y}", "http(s)"),
        ('https://tiles/{z}/{x}/{y}.png"><script>', "quotes"),
        ("https:///{z}/{x}/{y}", "http(s)"),
    ],
)
def test_a_tile_url_that_is_no_xyz_template_fails_naming_the_setting(url: str, why: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.load(None, api={"tile_url": url})
    assert "api.tile_url" in str(caught.value) and why in str(caught.value)
