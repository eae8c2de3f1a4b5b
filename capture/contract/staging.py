"""Stage input files at ``<job dir>/input_data/<INPUT>/<file_name>`` as read-only copies."""

from __future__ import annotations

import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path

from seedpipe.checksum import hash_file
from seedpipe.errors import InvalidInput
from seedpipe.paths import safe_relpath
from seedpipe.records import FileRecord, WorkspaceRef

READ_ONLY = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH
MIB = 1024 * 1024


@dataclass(frozen=True)
class StagedInput:
    """A file given to a job input; ``record`` is its catalogue record when it has one."""

    path: Path
    record: FileRecord | None = None


@dataclass
class Staged:
    """What staging produced: per input the staged paths and records, and the total size."""

    paths: dict[str, list[Path]] = field(default_factory=dict)
    records: dict[str, list[FileRecord]] = field(default_factory=dict)
    total_bytes: int = 0

    @property
    def total_mib(self) -> float:
        return self.total_bytes / MIB


def local_record(path: Path) -> FileRecord:
    """A minimal SOURCE record for a file that the catalogue does not know."""
    from seedpipe.media import SNIFF_BYTES, sniff

    with path.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
    resolved = path.resolve()
    return FileRecord(
        file_name=path.name,
        workspace=WorkspaceRef(name="local"),
        file_path=str(resolved).lstrip("/") or path.name,
        url=resolved.as_uri(),
        media_type=sniff(head, path.name),
        file_size=path.stat().st_size,
        checksum=hash_file(path),
    )


def _file_name(item: StagedInput, where: str) -> str:
    name = item.record.file_name if item.record is not None else item.path.name
    name = safe_relpath(name, field=where)
    if "/" in name:
        raise InvalidInput(f"file name {name!r} must not contain '/'", field=where)
    return name


def _copy(src: Path, dst: Path) -> None:
    # A copy (not a link) so nothing the job does can reach the original file.
    shutil.copyfile(src, dst)
    os.chmod(dst, READ_ONLY)


def stage_inputs(inputs: dict[str, list[StagedInput]], input_root: Path) -> Staged:
    """Copy each input under ``input_root/<NAME>/``; a file name is used once per input."""
    staged = Staged()
    input_root.mkdir(parents=True, exist_ok=True)
    for name, items in inputs.items():
        folder = input_root / safe_relpath(name, field=f"inputs.{name}")
        folder.mkdir(parents=True, exist_ok=True)
        paths: list[Path] = []
        records: list[FileRecord] = []
        for index, item in enumerate(items):
            where = f"inputs.{name}[{index}]"
            if not item.path.is_file():
                raise InvalidInput(f"{str(item.path)!r} is not a readable file", field=where)
            file_name = _file_name(item, where)
            target = folder / file_name
            if target.exists():
                raise InvalidInput(f"two files named {file_name!r}", field=where)
            _copy(item.path, target)
            paths.append(target)
            record = item.record if item.record is not None else local_record(item.path)
            records.append(record)
            staged.total_bytes += target.stat().st_size
        staged.paths[name] = paths
        staged.records[name] = records
    return staged
