"""Unit tests of ingest rules: regex matching, templates, placement safety."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ingest.rules import compile_rules, place
from seedpipe.errors import ConfigError, PathEscapeError
from seedpipe.settings import IngestRule, StrikeSettings

WHEN = datetime(2024, 3, 9, 14, tzinfo=UTC)


def strike(*rules: IngestRule) -> StrikeSettings:
    return StrikeSettings(name="s", drop="file:///d", workspace="ws", rules=list(rules))


def test_first_matching_rule_wins_and_gives_data_types():
    rules = compile_rules(
        strike(
            IngestRule(filename_regex=r"\.tif$", data_types=["image"]),
            IngestRule(filename_regex=r".*", data_types=["other"]),
        )
    )
    got = place(rules, "a/b.tif", "ws", WHEN)
    assert got is not None and got.data_types == ("image",) and got.file_path == "a/b.tif"
    other = place(rules, "c.txt", "ws", WHEN)
    assert other is not None and other.data_types == ("other",) and other.rule == 1


def test_regex_is_matched_against_the_path_relative_to_the_drop_root():
    rules = compile_rules(strike(IngestRule(filename_regex=r"^landsat/")))
    assert place(rules, "landsat/x.tif", "ws", WHEN) is not None
    assert place(rules, "modis/landsat.tif", "ws", WHEN) is None


def test_template_uses_ingest_date_and_named_groups():
    rule = IngestRule(
        filename_regex=r"(?P<sensor>[A-Z]+)_(?P<scene>\d+)\.tif$",
        new_workspace="other",
        new_file_path="{sensor}/{yyyy}/{mm}/{dd}/{scene}.{ext}",
    )
    got = place(compile_rules(strike(rule)), "in/WV_0042.tif", "ws", WHEN)
    assert got is not None
    assert (got.workspace, got.file_path) == ("other", "WV/2024/03/09/0042.tif")


def test_template_ending_in_a_slash_is_a_directory_for_the_file_name():
    rule = IngestRule(filename_regex=".*", new_file_path="by-date/{date}/")
    got = place(compile_rules(strike(rule)), "deep/x y.tif", "ws", WHEN)
    assert got is not None and got.file_path == "by-date/2024-03-09/x y.tif"


def test_unknown_placeholder_is_a_config_error_naming_the_rule():
    with pytest.raises(ConfigError, match=r"strikes\[s\]\.rules\[0\]\.new_file_path.*\{nope\}"):
        compile_rules(strike(IngestRule(filename_regex=".*", new_file_path="{nope}/x")))


def test_attribute_access_in_a_template_is_refused():
    with pytest.raises(ConfigError, match="unknown placeholder"):
        compile_rules(strike(IngestRule(filename_regex=".*", new_file_path="{stem.__class__}")))


def test_invalid_regex_is_a_config_error():
    with pytest.raises(ConfigError, match=r"rules\[0\]\.filename_regex"):
        compile_rules(strike(IngestRule(filename_regex="(")))


def test_a_group_that_climbs_out_of_the_workspace_is_refused():
    rule = IngestRule(filename_regex=r"^(?P<where>.*)/x$", new_file_path="{where}/x")
    with pytest.raises(PathEscapeError, match="new_file_path"):
        place(compile_rules(strike(rule)), "../../etc/x", "ws", WHEN)


def test_no_rules_ingests_everything_where_it_lies():
    got = place(compile_rules(strike()), "a/b.c", "ws", WHEN)
    assert got is not None and got.file_path == "a/b.c" and got.data_types == ()
