"""Entrypoints: a bare python is seedpipe's interpreter; relative scripts resolve against a base."""

from __future__ import annotations

import shlex
import sys

from capture.jobtypes import resolve_entrypoint


def test_bare_python_is_the_interpreter_running_seedpipe(tmp_path):
    (tmp_path / "job.py").write_text("print('hi')\n")
    parts = shlex.split(resolve_entrypoint("python job.py --fast", tmp_path))
    assert parts == [sys.executable, str((tmp_path / "job.py").resolve()), "--fast"]


def test_arguments_that_are_not_files_and_variables_stay_as_given(tmp_path):
    parts = shlex.split(resolve_entrypoint("/usr/bin/env tool '$INPUT' 'two words'", tmp_path))
    assert parts == ["/usr/bin/env", "tool", "$INPUT", "two words"]
