"""Ingest rules: the first rule whose regex matches a dropped file decides its types and place."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath

from seedpipe.errors import ConfigError
from seedpipe.paths import safe_relpath
from seedpipe.settings import IngestRule, StrikeSettings

# Names a new_file_path template may use besides the regex's named groups.
DATE_FIELDS = frozenset({"yyyy", "mm", "dd", "hh", "date"})
NAME_FIELDS = frozenset({"file_name", "stem", "ext", "dir", "path"})
TEMPLATE_FIELDS = DATE_FIELDS | NAME_FIELDS


@dataclass(frozen=True, slots=True)
class Rule:
    """One compiled ingest rule."""

    index: int
    regex: re.Pattern[str]
    data_types: tuple[str, ...]
    new_workspace: str | None
    new_file_path: str | None


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a matched file goes: a workspace and a safe relative path inside it."""

    rule: int
    workspace: str
    file_path: str
    data_types: tuple[str, ...]


def _check_template(template: str, regex: re.Pattern[str], field: str) -> None:
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ConfigError(f"{field}: malformed template {template!r}: {exc}") from exc
    allowed = TEMPLATE_FIELDS | set(regex.groupindex)
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        # Attribute or index access ({x.__class__}) would let a config reach into objects.
        if name not in allowed:
            known = ", ".join(sorted(allowed))
            raise ConfigError(f"{field}: unknown placeholder {{{name}}} (known: {known})")
        if spec or conversion:
            raise ConfigError(f"{field}: placeholder {{{name}}} may not have a format or !conv")
    if template.startswith("/"):
        raise ConfigError(f"{field}: must be relative to the workspace, not start with '/'")


def compile_rule(index: int, rule: IngestRule, where: str) -> Rule:
    field = f"{where}.rules[{index}]"
    try:
        regex = re.compile(rule.filename_regex)
    except re.error as exc:
        raise ConfigError(f"{field}.filename_regex: invalid regex: {exc}") from exc
    if rule.new_file_path is not None:
        _check_template(rule.new_file_path, regex, f"{field}.new_file_path")
    return Rule(index, regex, tuple(rule.data_types), rule.new_workspace, rule.new_file_path)


def compile_rules(strike: StrikeSettings) -> list[Rule]:
    """Compile a strike's rules, validating regexes and templates; no rules means ingest all."""
    where = f"strikes[{strike.name}]"
    rules = [compile_rule(i, r, where) for i, r in enumerate(strike.rules)]
    return rules or [Rule(0, re.compile(""), (), None, None)]


def render(template: str, relpath: str, groups: dict[str, str | None], when: datetime) -> str:
    """Fill a template; a result ending in '/' is a directory the file name is appended to."""
    p = PurePosixPath(relpath)
    values: dict[str, str] = {
        "yyyy": f"{when.year:04d}",
        "mm": f"{when.month:02d}",
        "dd": f"{when.day:02d}",
        "hh": f"{when.hour:02d}",
        "date": when.strftime("%Y-%m-%d"),
        "file_name": p.name,
        "stem": p.stem,
        "ext": p.suffix.lstrip("."),
        "dir": str(p.parent) if str(p.parent) != "." else "",
        "path": relpath,
    }
    values.update({k: v or "" for k, v in groups.items()})
    out = template.format_map(values)
    return out + p.name if out.endswith("/") else out


def place(
    rules: list[Rule], relpath: str, default_workspace: str, when: datetime
) -> Placement | None:
    """The placement of ``relpath`` by the first matching rule, or None (deferred).

    Raises InvalidInput (or PathEscapeError) when the rendered path is unsafe.
    """
    for rule in rules:
        m = rule.regex.search(relpath)
        if m is None:
            continue
        target = relpath
        if rule.new_file_path is not None:
            target = render(rule.new_file_path, relpath, m.groupdict(), when)
        target = safe_relpath(target, field=f"rules[{rule.index}].new_file_path")
        return Placement(
            rule.index, rule.new_workspace or default_workspace, target, rule.data_types
        )
    return None
