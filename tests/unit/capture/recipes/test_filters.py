"""Scale's data filters: every type, every condition, fields, all_fields, all_files and all."""

from __future__ import annotations

from typing import Any

import pytest

from capture.recipes.definition import DataFilter, Filter
from capture.recipes.filters import Files, filter_passes, is_accepted
from seedpipe.records import FileRecord, WorkspaceRef


def rec(
    name: str = "a.png", media: str = "image/png", tags: tuple[str, ...] = (), **meta: Any
) -> FileRecord:
    return FileRecord(
        file_name=name,
        workspace=WorkspaceRef(name="w"),
        file_path=name,
        media_type=media,
        data_type_tags=list(tags),
        meta_data=meta,
    )


def f(type_: str, condition: str, values: list[Any], **kw: Any) -> Filter:
    return Filter.model_validate(
        {"name": "X", "type": type_, "condition": condition, "values": values, **kw}
    )


def files(*records: FileRecord) -> Files:
    return Files(tuple(records))


@pytest.mark.parametrize(
    ("condition", "values", "value", "expected"),
    [
        ("<", [5], 4, True),
        ("<", [5], 5, False),
        ("<=", [5], 5, True),
        ("<=", [5], 6, False),
        (">", [5], 6, True),
        (">", [5], 5, False),
        (">=", [5], 5, True),
        (">=", [5], 4, False),
        ("==", [5], 5, True),
        ("==", [5], 6, False),
        ("!=", [5], 6, True),
        ("!=", [5], 5, False),
        ("between", [1, 10], 1, True),
        ("between", [1, 10], 10, True),
        ("between", [1, 10], 11, False),
        ("in", [1, 2, 3], 2, True),
        ("in", [1, 2, 3], 4, False),
        ("not in", [1, 2, 3], 4, True),
        ("not in", [1, 2, 3], 3, False),
    ],
)
def test_number_conditions(condition: str, values: list[Any], value: Any, expected: bool) -> None:
    assert filter_passes(f("integer", condition, values), value) is expected
    assert filter_passes(f("number", condition, values), float(value)) is expected


def test_number_values_written_as_strings_are_converted_as_scale_does() -> None:
    assert filter_passes(f("number", ">", ["2.5"]), 3.0)
    assert filter_passes(f("integer", "==", ["7"]), 7)


def test_ordering_never_holds_for_non_numbers_or_booleans() -> None:
    assert not filter_passes(f("integer", ">", [0]), "5")
    assert not filter_passes(f("integer", ">", [0]), True)
    assert not filter_passes(f("number", "<", [1.0]), float("nan"))
    assert not filter_passes(f("integer", "between", [0, 10]), None)


@pytest.mark.parametrize(
    ("condition", "values", "value", "expected"),
    [
        ("==", ["abc"], "abc", True),
        ("==", ["abc"], "abd", False),
        ("!=", ["abc"], "abd", True),
        ("!=", ["abc"], "abc", False),
        ("in", ["abc", "xyz"], "xyz", True),
        ("in", ["abcdef"], "cde", True),  # Scale: a substring of a value is "in" it
        ("in", ["abc"], "q", False),
        ("not in", ["abc"], "q", True),
        ("not in", ["abcdef"], "cde", False),
        ("contains", ["bc"], "abcd", True),
        ("contains", ["zz", "cd"], "abcd", True),
        ("contains", ["zz"], "abcd", False),
    ],
)
def test_string_conditions(condition: str, values: list[Any], value: Any, expected: bool) -> None:
    assert filter_passes(f("string", condition, values), value) is expected


def test_boolean_conditions_keep_true_apart_from_one() -> None:
    assert filter_passes(f("boolean", "==", [True]), True)
    assert not filter_passes(f("boolean", "==", [True]), False)
    assert filter_passes(f("boolean", "!=", [True]), False)
    assert not filter_passes(f("boolean", "==", [True]), 1)
    assert not filter_passes(f("integer", "==", [1]), True)


def test_array_conditions() -> None:
    assert filter_passes(f("array", "contains", ["b"]), ["a", "b"])
    assert not filter_passes(f("array", "contains", ["c"]), ["a", "b"])
    assert filter_passes(f("array", "==", [["a", "b"]]), ["a", "b"])
    assert filter_passes(f("array", "!=", [["a"]]), ["a", "b"])
    assert filter_passes(f("array", "in", [["a", "b"], ["c"]]), ["c"])
    assert filter_passes(f("array", "not in", [["a"]]), ["c"])


def test_object_subset_and_superset() -> None:
    ref = {"a": 1, "b": 2}
    assert filter_passes(f("object", "subset of", [ref]), {"a": 1})
    assert not filter_passes(f("object", "subset of", [ref]), {"a": 1, "c": 3})
    assert filter_passes(f("object", "superset of", [{"a": 1}]), {"a": 1, "b": 2})
    assert not filter_passes(f("object", "superset of", [{"a": 2}]), {"a": 1, "b": 2})
    assert not filter_passes(f("object", "subset of", [ref]), ["a"])


def test_object_fields_each_with_their_own_values() -> None:
    value = {"size": {"w": 100, "h": 50}, "name": "x"}
    both = f("object", ">", [[90], [40]], fields=[["size", "w"], ["size", "h"]])
    assert filter_passes(both, value)
    one = f("object", ">", [[90], [60]], fields=[["size", "w"], ["size", "h"]])
    assert not filter_passes(one, value)  # all_fields defaults to true
    any_field = f(
        "object", ">", [[90], [60]], fields=[["size", "w"], ["size", "h"]], all_fields=False
    )
    assert filter_passes(any_field, value)
    missing = f("object", "==", [["x"]], fields=[["nope", "deeper"]])
    assert not filter_passes(missing, value)


def test_a_field_value_may_be_written_bare_instead_of_as_a_list() -> None:
    assert filter_passes(f("object", ">=", [100], fields=[["size", "w"]]), {"size": {"w": 100}})


def test_filename_media_type_and_data_type_filters_judge_file_records() -> None:
    a = rec("scene_01.png", "image/png", ("image", "png"))
    assert filter_passes(f("filename", "contains", ["scene"]), files(a))
    assert filter_passes(f("filename", "==", ["scene_01.png"]), files(a))
    assert filter_passes(f("media-type", "==", ["image/png"]), files(a))
    assert not filter_passes(f("media-type", "in", ["image/tiff"]), files(a))
    assert filter_passes(f("data-type", "contains", ["png"]), files(a))
    assert filter_passes(f("data-type", "==", ["image"]), files(a))
    assert filter_passes(f("data-type", "in", ["png", "tif"]), files(a))
    assert not filter_passes(f("data-type", "!=", ["png"]), files(a))  # no tag may be png
    assert filter_passes(f("data-type", "not in", ["tif"]), files(a))


def test_any_file_is_enough_unless_all_files() -> None:
    png, tif = rec("a.png", "image/png"), rec("b.tif", "image/tiff")
    assert filter_passes(f("media-type", "==", ["image/png"]), files(png, tif))
    assert not filter_passes(f("media-type", "==", ["image/png"], all_files=True), files(png, tif))
    assert filter_passes(f("media-type", "==", ["image/png"], all_files=True), files(png, png))


def test_meta_data_fields_as_updated_by_a_sidecar() -> None:
    wide, narrow = rec(width=96, height=40), rec(width=16, height=16)
    by_width = f("meta-data", ">=", [[64]], fields=[["width"]])
    assert filter_passes(by_width, files(wide))
    assert not filter_passes(by_width, files(narrow))
    assert filter_passes(by_width, files(narrow, wide))
    assert not filter_passes(
        f("meta-data", ">=", [[64]], fields=[["width"]], all_files=True), files(narrow, wide)
    )
    two = f("meta-data", ">=", [[64], [64]], fields=[["width"], ["height"]])
    assert not filter_passes(two, files(wide))
    assert filter_passes(
        f("meta-data", ">=", [[64], [64]], fields=[["width"], ["height"]], all_fields=False),
        files(wide),
    )


def test_meta_data_without_fields_compares_whole_objects() -> None:
    r = rec(sensor="cam-1", band=3)
    assert filter_passes(f("meta-data", "superset of", [{"sensor": "cam-1"}]), files(r))
    assert not filter_passes(f("meta-data", "subset of", [{"sensor": "cam-1"}]), files(r))


def test_missing_inputs_and_mismatched_kinds_fail_the_filter() -> None:
    assert not filter_passes(f("string", "==", ["a"]), None)
    assert not filter_passes(f("filename", "==", ["a"]), "a")  # a JSON value, not files
    assert not filter_passes(f("string", "==", ["a"]), files(rec()))
    assert not filter_passes(f("filename", "==", ["a.png"]), files())
    assert filter_passes(f("integer", "between", [1, 10]), 5.5)  # a number still compares


def data_filter(filters: list[Filter], all_: bool = True) -> DataFilter:
    return DataFilter(filters=filters, all=all_)


def test_all_filters_must_pass_unless_all_is_false() -> None:
    yes = Filter(name="A", type="integer", condition="==", values=[1])
    no = Filter(name="B", type="string", condition="==", values=["x"])
    data = {"A": 1, "B": "y"}
    assert not is_accepted(data_filter([yes, no]), data)
    assert is_accepted(data_filter([yes, no], all_=False), data)
    assert not is_accepted(data_filter([no], all_=False), data)
    assert is_accepted(data_filter([yes]), data)


def test_no_filters_accepts_everything() -> None:
    assert is_accepted(DataFilter(), {})
