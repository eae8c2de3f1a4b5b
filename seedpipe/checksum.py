"""SHA-256 content checksums (``sha256:<hex>``), computed while the bytes are copied."""

from __future__ import annotations

import hashlib
import io
import os
import re
from typing import Any, Protocol

CHUNK = 1024 * 1024
PREFIX = "sha256:"
_CHECKSUM_RE = re.compile(r"^sha256:[0-9a-f]{64}$")


class Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...


class Writable(Protocol):
    def write(self, data: bytes | memoryview, /) -> Any: ...


def _format(digest: Any) -> str:
    return PREFIX + digest.hexdigest()


def copy_and_hash(src: Readable, dst: Writable | None) -> tuple[int, str]:
    """Stream ``src`` into ``dst`` (or nowhere) in 1 MiB chunks; return (size, checksum)."""
    digest = hashlib.sha256()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    size = 0
    readinto = getattr(src, "readinto", None)
    while True:
        if readinto is not None:
            n = readinto(buf)
            chunk: bytes | memoryview = view[:n] if n else b""
        else:
            chunk = src.read(CHUNK)
            n = len(chunk)
        if not n:
            break
        digest.update(chunk)
        if dst is not None:
            dst.write(chunk)
        size += n
    return size, _format(digest)


def hash_file(path: str | os.PathLike[str]) -> str:
    """The checksum of a local file."""
    with open(path, "rb") as fh:
        return _format(hashlib.file_digest(fh, "sha256"))


def hash_bytes(data: bytes) -> str:
    return _format(hashlib.sha256(data))


def is_checksum(value: object) -> bool:
    """True for a well-formed ``sha256:<64 lowercase hex>`` string."""
    return isinstance(value, str) and bool(_CHECKSUM_RE.match(value))


class HashingReader:
    """A forward-only reader that hashes what passes through it.

    It says it is not seekable so uploaders (boto3's transfer manager) read it exactly once, in
    order; the checksum is then that of the bytes actually sent.
    """

    def __init__(self, src: Readable) -> None:
        self._src = src
        self._digest = hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        data = self._src.read(n)
        self._digest.update(data)
        self.size += len(data)
        return data

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    @property
    def checksum(self) -> str:
        return _format(self._digest)


def read_up_to(src: Readable, n: int) -> bytes:
    """Up to ``n`` bytes: reads again after short reads, since only b"" means the end."""
    chunks: list[bytes] = []
    left = n
    while left > 0:
        chunk = src.read(left)
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


class ChainReader:
    """A reader that yields ``head`` and then the rest of ``src``."""

    def __init__(self, head: bytes, src: Readable) -> None:
        self._head = io.BytesIO(head)
        self._src = src

    def read(self, n: int = -1) -> bytes:
        data = self._head.read(n)
        if n < 0:
            return data + self._src.read()
        if len(data) < n:
            data += self._src.read(n - len(data))
        return data
