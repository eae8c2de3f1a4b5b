"""The argument parser of every command: values that start with a minus, as users type them."""

from __future__ import annotations

import argparse
import re
from typing import Any

_NUMBER = r"(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
# argparse takes only "-5" or "-.5" for a value; coordinates ("-10,40,10,60", "-180,-90,180,90",
# "-10.5 40") are values too. No seedpipe option looks like a number, so nothing is shadowed.
NEGATIVE_VALUE = re.compile(rf"^-{_NUMBER}(?:(?:,\s*|\s+)-?{_NUMBER})*$")


class CliParser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` whose subcommand parsers are CliParsers too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = NEGATIVE_VALUE
