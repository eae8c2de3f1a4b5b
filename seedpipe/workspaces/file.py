"""``file:///root`` workspaces: atomic puts, hard-link staging, everything confined to the root."""

from __future__ import annotations

import errno
import logging
import os
import shutil
import stat as statmod
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, NoReturn

from seedpipe.checksum import Readable, copy_and_hash, hash_file
from seedpipe.errors import InvalidInput, WorkspaceError, WorkspaceFileNotFound
from seedpipe.paths import confined
from seedpipe.settings import WorkspaceSettings, file_path
from seedpipe.workspaces.base import ObjectInfo, Workspace

log = logging.getLogger(__name__)

TMP_PREFIX = ".sp-"
TMP_SUFFIX = ".seedpipe-tmp"


def _tmp_name(directory: Path) -> Path:
    # Independent of the target's name, so a 255-byte name still has room for its temp file.
    return directory / f"{TMP_PREFIX}{uuid.uuid4().hex}{TMP_SUFFIX}"


def _is_tmp(name: str) -> bool:
    return name.startswith(TMP_PREFIX) and name.endswith(TMP_SUFFIX)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _info(rel: str, st: os.stat_result, checksum: str | None = None) -> ObjectInfo:
    modified = datetime.fromtimestamp(st.st_mtime, UTC)
    return ObjectInfo(rel, st.st_size, modified, checksum=checksum)


class FileWorkspace(Workspace):
    """Files under a local directory; puts are temp-file + fsync + rename, so never partial."""

    def __init__(self, name: str, settings: WorkspaceSettings) -> None:
        super().__init__(name, settings)
        self.root = Path(os.path.realpath(file_path(settings.url)))
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            msg = f"workspace {name!r}: cannot create root {self.root}: {exc.strerror}"
            raise WorkspaceError(msg) from exc
        if not self.root.is_dir():
            raise WorkspaceError(f"workspace {name!r}: root {self.root} is not a directory")

    # -- helpers ---------------------------------------------------------------------------

    def _target(self, path: str, field: str = "path") -> tuple[str, Path]:
        rel = self.check_path(path, field)
        return rel, confined(self.root, rel, field=field)

    def _fail(self, action: str, rel: str, exc: OSError) -> NoReturn:
        if exc.errno == errno.ENAMETOOLONG:
            raise InvalidInput("a name in it is too long for the file system", field="path")
        if isinstance(exc, FileNotFoundError):
            raise WorkspaceFileNotFound(f"{self.name}: {rel!r} does not exist") from exc
        reason = exc.strerror or type(exc).__name__
        raise WorkspaceError(f"{self.name}: cannot {action} {rel!r}: {reason}") from exc

    def _makedirs(self, directory: Path) -> None:
        missing: list[Path] = []
        d = directory
        while not d.is_dir():
            missing.append(d)
            d = d.parent
        for d in reversed(missing):
            d.mkdir(exist_ok=True)
            # The new directory's entry must survive a crash, or the file in it is lost.
            _fsync_dir(d.parent)

    def _regular(self, rel: str, target: Path) -> os.stat_result:
        try:
            st = target.stat()
        except OSError as exc:
            self._fail("read", rel, exc)
        if not statmod.S_ISREG(st.st_mode):
            raise WorkspaceFileNotFound(f"{self.name}: {rel!r} is not a file")
        return st

    # -- operations ------------------------------------------------------------------------

    def put_stream(self, src: Readable, path: str) -> ObjectInfo:
        rel, target = self._target(path)
        try:
            self._makedirs(target.parent)
            tmp = _tmp_name(target.parent)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
            try:
                with os.fdopen(fd, "wb") as fh:
                    size, checksum = copy_and_hash(src, fh)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, target)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            _fsync_dir(target.parent)
            st = target.stat()
        except OSError as exc:
            self._fail("write", rel, exc)
        log.debug("put %s/%s (%d bytes)", self.name, rel, size)
        return _info(rel, st, checksum)

    def put_file(self, local: Path, path: str, *, move: bool = False) -> ObjectInfo:
        if not move or os.path.islink(local):
            # A symlink is copied, never renamed in: the link could point out of the root.
            return super().put_file(local, path, move=move)
        rel, target = self._target(path)
        # Errors reading the local file are the caller's (OSError), not the workspace's.
        checksum = hash_file(local)
        fd = os.open(local, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            self._makedirs(target.parent)
            os.replace(local, target)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                self._fail("move in", rel, exc)
            return super().put_file(local, path, move=True)
        try:
            _fsync_dir(target.parent)
            _fsync_dir(Path(local).parent)
            st = target.stat()
        except OSError as exc:
            self._fail("move in", rel, exc)
        return _info(rel, st, checksum)

    def open(self, path: str) -> BinaryIO:
        rel, target = self._target(path)
        self._regular(rel, target)
        try:
            return target.open("rb")
        except OSError as exc:
            self._fail("open", rel, exc)

    def stage(self, path: str, dest: Path, *, link: bool = True) -> Path:
        rel, target = self._target(path)
        self._regular(rel, target)
        dest = Path(dest)
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = _tmp_name(dest.parent)
            try:
                if link:
                    try:
                        os.link(os.path.realpath(target), tmp)
                    except OSError:
                        # Another disk, or a file system without hard links: copy instead.
                        shutil.copyfile(target, tmp)
                else:
                    shutil.copyfile(target, tmp)
                os.replace(tmp, dest)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
        except OSError as exc:
            self._fail("stage", rel, exc)
        return dest

    def local_path(self, path: str) -> Path | None:
        return self._target(path)[1]

    def move(self, src: str, dst: str) -> ObjectInfo:
        src_rel, src_path = self._target(src, "src")
        dst_rel, dst_path = self._target(dst, "dst")
        try:
            st = src_path.lstat()
        except OSError as exc:
            self._fail("move", src_rel, exc)
        if statmod.S_ISDIR(st.st_mode):
            raise WorkspaceError(f"{self.name}: cannot move {src_rel!r}: it is a directory")
        try:
            self._makedirs(dst_path.parent)
            os.replace(src_path, dst_path)
            _fsync_dir(dst_path.parent)
            if dst_path.parent != src_path.parent:
                _fsync_dir(src_path.parent)
        except OSError as exc:
            self._fail("move", src_rel, exc)
        return self.stat(dst_rel)

    def delete(self, path: str) -> None:
        rel, target = self._target(path)
        try:
            target.unlink()
        except FileNotFoundError:
            return
        except OSError as exc:
            self._fail("delete", rel, exc)

    def stat(self, path: str) -> ObjectInfo:
        rel, target = self._target(path)
        return _info(rel, self._regular(rel, target))

    def list(self, prefix: str = "", *, recursive: bool = True) -> Iterator[ObjectInfo]:
        if prefix.strip("/") in ("", "."):
            start_rel, start = "", self.root
        else:
            start_rel, start = self._target(prefix, "prefix")
        if not start.is_dir():
            return
        stack = [(start_rel, start)]
        while stack:
            rel_dir, directory = stack.pop()
            try:
                entries = os.scandir(directory)
            except OSError as exc:
                log.warning("cannot list %s/%s: %s", self.name, rel_dir, exc.strerror)
                continue
            with entries:
                for entry in entries:
                    rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
                    if _is_tmp(entry.name):
                        continue
                    if entry.is_symlink():
                        info = self._linked_file(rel)
                        if info is not None:
                            yield info
                    elif entry.is_dir(follow_symlinks=False):
                        if recursive:
                            stack.append((rel, Path(entry.path)))
                    elif entry.is_file(follow_symlinks=False):
                        yield _info(rel, entry.stat(follow_symlinks=False))

    def _linked_file(self, rel: str) -> ObjectInfo | None:
        # Symlinked directories are not walked (loops); links leaving the root are not files here.
        try:
            return self.stat(rel)
        except (InvalidInput, WorkspaceFileNotFound):
            log.warning("skipping %s/%s: a link out of the root or not to a file", self.name, rel)
            return None

    def sweep_temporaries(self, max_age_s: float = 3600.0) -> int:
        # Only old ones: a young temp file may belong to a put still running in another process.
        cutoff = time.time() - max_age_s
        removed = 0
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                p = Path(dirpath) / name
                try:
                    if _is_tmp(name) and p.lstat().st_mtime <= cutoff:
                        p.unlink()
                        removed += 1
                except FileNotFoundError:
                    continue
        if removed:
            log.info("removed %d stale temporary files from %s", removed, self.name)
        return removed

    def uri(self, path: str) -> str:
        return self._target(path)[1].as_uri()

    def url_for(self, path: str) -> str | None:
        return self.record_url(path)
