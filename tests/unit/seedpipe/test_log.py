"""The log formatters keep every string from outside on its own line, escaped."""

from __future__ import annotations

import io
import json
import logging

import pytest

from seedpipe.log import JsonFormatter, TextFormatter, escape

FORGED = "evil\n06:00:00.000 ERROR   seedpipe.auth: forged line.png"


def _emit(formatter: logging.Formatter, *args: object, exc: bool = False, **extra: object) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    logger = logging.getLogger("tests.log.injection")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    try:
        if exc:
            try:
                raise ValueError(f"bad name {args[0]}")
            except ValueError:
                logger.exception("captured %s", *args, extra=extra)
        else:
            logger.warning("captured %s", *args, extra=extra)
    finally:
        logger.handlers.clear()
    return stream.getvalue()


def test_a_file_name_with_a_newline_cannot_forge_a_text_log_line() -> None:
    out = _emit(TextFormatter(), FORGED, file_name=FORGED)
    assert out.count("\n") == 1  # the handler's own terminator only
    assert "evil\\n06:00:00.000 ERROR" in out
    assert not any(line.startswith("06:00:00.000 ERROR") for line in out.splitlines())


def test_a_traceback_keeps_its_lines_but_none_looks_like_a_log_line() -> None:
    out = _emit(TextFormatter(), FORGED, exc=True)
    lines = out.splitlines()
    assert "Traceback" in out
    assert all(line.startswith("  ") for line in lines[1:])
    assert not any(line.startswith("06:00:00.000") for line in lines)


def test_a_json_log_line_keeps_an_outside_string_inside_one_string() -> None:
    out = _emit(JsonFormatter(), FORGED + "\udcff", file_name=FORGED)
    assert out.count("\n") == 1
    doc = json.loads(out)
    assert doc["message"] == "captured " + FORGED + "\udcff"
    assert doc["file_name"] == FORGED


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("a\rb", "a\\rb"),
        ("tab\there", "tab\\there"),
        ("nul\x00", "nul\\x00"),
        ("esc\x1b[31mred", "esc\\x1b[31mred"),
        ("bad\udcff\udcfe.png", "bad\\xff\\xfe.png"),
        ("line\u2028sep", "line\\u2028sep"),
        ("rtl\u202egnp.exe", "rtl\\u202egnp.exe"),
        ("plain name é 東京.png", "plain name é 東京.png"),
    ],
)
def test_control_characters_are_shown_as_escapes(raw: str, shown: str) -> None:
    assert escape(raw) == shown
    assert shown in _emit(TextFormatter(), raw)
