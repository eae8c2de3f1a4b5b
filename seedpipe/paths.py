"""Validation of relative paths that come from outside, so they never leave their root."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from seedpipe.errors import InvalidInput, PathEscapeError

MAX_PATH_LEN = 4096


def safe_relpath(path: str, *, field: str = "path") -> str:
    """Normalise a relative POSIX path; refuse absolute paths, ``..``, NUL and empty names."""
    if not isinstance(path, str) or not path:
        raise InvalidInput("must be a non-empty relative path", field=field)
    if len(path) > MAX_PATH_LEN:
        raise InvalidInput(f"is longer than {MAX_PATH_LEN} characters", field=field)
    if "\x00" in path:
        raise InvalidInput("contains a NUL character", field=field)
    # On POSIX a backslash is an ordinary character of a name (kept in paths and file names);
    # only where it separates directories (Windows) is it read as one.
    if os.sep == "\\":
        path = path.replace("\\", "/")
    if path.startswith("/"):
        raise PathEscapeError(f"{path!r} is absolute; a relative path is required", field=field)
    parts = [p for p in PurePosixPath(path).parts if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise PathEscapeError(f"{path!r} climbs out of its root with '..'", field=field)
    if not parts:
        raise InvalidInput("must name a file, not the root", field=field)
    return "/".join(parts)


def confined(root: Path, relpath: str, *, field: str = "path") -> Path:
    """``root/relpath`` after checking that it (and any symlink on the way) stays under root."""
    rel = safe_relpath(relpath, field=field)
    root_real = Path(os.path.realpath(root))
    target = root_real / rel
    real = Path(os.path.realpath(target))
    if real != root_real and root_real not in real.parents:
        raise PathEscapeError(f"{relpath!r} resolves outside its root", field=field)
    return target
