"""A Seed command line expanded with Bash rules (``$VAR``, ``${VAR}``, ``${VAR/#/p}``), no shell."""

from __future__ import annotations

import re
from collections.abc import Mapping

from seedpipe.errors import InvalidInput

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# ${NAME}, ${NAME/#/prefix} (Seed's switch idiom) — the forms the Seed spec documents.
_BRACED = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:/#/([^}]*))?\}")


class _Words:
    """Accumulates argv words; values from the environment are never split or re-parsed."""

    def __init__(self) -> None:
        self.words: list[str] = []
        self.current: list[str] = []
        self.started = False

    def add(self, text: str) -> None:
        self.current.append(text)
        self.started = True

    def literal(self, text: str) -> None:
        # Text from the manifest's command (trusted) splits on whitespace like unquoted Bash.
        for ch in text:
            if ch.isspace():
                self.end()
            else:
                self.add(ch)

    def end(self) -> None:
        if self.started:
            self.words.append("".join(self.current))
        self.current, self.started = [], False


def _expansion(command: str, i: int, env: Mapping[str, str]) -> tuple[str | None, str, int]:
    """Parse the expansion at ``command[i] == '$'``: (value or None, prefix, next index)."""
    m = _BRACED.match(command, i)
    if m:
        value = env.get(m.group(1)) or None
        return value, m.group(2) or "", m.end()
    if command.startswith("${", i):
        end = command.find("}", i)
        shown = command[i : end + 1] if end != -1 else command[i:]
        raise InvalidInput(
            f"unsupported expansion {shown!r}: use $VAR, ${{VAR}} or ${{VAR/#/prefix}}",
            field="interface.command",
        )
    m = _NAME.match(command, i + 1)
    if m:
        return env.get(m.group(0)) or None, "", m.end()
    return "$", "", i + 1  # a lone '$' is literal, as in Bash


def expand_command(command: str, env: Mapping[str, str]) -> list[str]:
    """Split and expand ``command`` the way Bash would, but without running a shell.

    Quotes group words; ``$VAR``/``${VAR}`` substitute one value that stays inside its word
    (a file name with spaces, ``;`` or ``$()`` is data, never syntax); an unset or empty
    variable in an unquoted word vanishes; ``${VAR/#/-d }`` gives ``-d`` and the value when
    VAR is set and nothing otherwise.
    """
    words = _Words()
    i, n = 0, len(command)
    while i < n:
        ch = command[i]
        if ch.isspace():
            words.end()
            i += 1
        elif ch == "\\":
            if i + 1 < n:
                words.add(command[i + 1])
            i += 2
        elif ch == "'":
            end = command.find("'", i + 1)
            if end == -1:
                raise InvalidInput("unterminated single quote", field="interface.command")
            words.add(command[i + 1 : end])
            i = end + 1
        elif ch == '"':
            words.add("")
            i += 1
            while True:
                if i >= n:
                    raise InvalidInput("unterminated double quote", field="interface.command")
                c = command[i]
                if c == '"':
                    i += 1
                    break
                if c == "\\" and i + 1 < n and command[i + 1] in '$`"\\':
                    words.add(command[i + 1])
                    i += 2
                elif c == "$":
                    value, prefix, i = _expansion(command, i, env)
                    if value is not None:
                        words.add(prefix + value)
                else:
                    words.add(c)
                    i += 1
        elif ch == "$":
            value, prefix, i = _expansion(command, i, env)
            if value is not None:
                words.literal(prefix)
                words.add(value)
        else:
            words.add(ch)
            i += 1
    words.end()
    return words.words
