"""A CLI run inside the test process leaves logging as it found it (tests/conftest.py).

The two tests run in file order: the first configures logging as ``seedpipe`` does, on its own
captured stderr; the second, run after that stream is closed, must not log into it.
"""

from __future__ import annotations

import logging
import sys

import pytest

from seedpipe import log

_SEEN: dict[str, object] = {}


def test_a_cli_run_configures_the_root_logger_on_this_test_s_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _SEEN["before"] = logging.getLogger().handlers[:]
    _SEEN["level"] = logging.getLogger().level
    _SEEN["aiokafka"] = logging.getLogger("aiokafka").level
    log.configure("DEBUG")
    (handler,) = logging.getLogger().handlers
    assert isinstance(handler, logging.StreamHandler) and handler.stream is sys.stderr
    assert logging.getLogger("aiokafka").level == logging.WARNING
    logging.getLogger("tests.hygiene").info("from the first test")
    assert "from the first test" in capsys.readouterr().err


def test_the_next_test_finds_logging_as_it_was_before_the_cli_run() -> None:
    assert "before" in _SEEN, "run with the test above it"
    root = logging.getLogger()
    assert root.handlers == _SEEN["before"]
    assert root.level == _SEEN["level"]
    assert logging.getLogger("aiokafka").level == _SEEN["aiokafka"]
