"""Checksums are computed while copying and match hashlib's."""

from __future__ import annotations

import hashlib
import io

from seedpipe.checksum import (
    CHUNK,
    ChainReader,
    HashingReader,
    copy_and_hash,
    hash_bytes,
    hash_file,
    is_checksum,
    read_up_to,
)


def test_copy_and_hash_copies_every_byte_and_returns_size_and_sha256():
    data = bytes(range(256)) * (CHUNK // 256 * 2 + 3)
    dst = io.BytesIO()
    size, checksum = copy_and_hash(io.BytesIO(data), dst)
    assert size == len(data) and dst.getvalue() == data
    assert checksum == "sha256:" + hashlib.sha256(data).hexdigest()


def test_copy_and_hash_of_an_empty_stream_is_the_empty_digest():
    assert copy_and_hash(io.BytesIO(), None) == (0, hash_bytes(b""))


def test_hash_file_matches_hash_bytes(tmp_path):
    p = tmp_path / "f.bin"
    p.write_bytes(b"seedpipe")
    assert hash_file(p) == hash_bytes(b"seedpipe")
    assert is_checksum(hash_file(p))


def test_hashing_reader_is_forward_only_and_hashes_what_it_read():
    reader = HashingReader(io.BytesIO(b"abc" * 1000))
    assert not reader.seekable()
    while reader.read(7):
        pass
    assert reader.size == 3000 and reader.checksum == hash_bytes(b"abc" * 1000)


def test_malformed_checksums_are_recognised():
    assert not is_checksum("md5:abc")
    assert not is_checksum("sha256:" + "G" * 64)
    assert not is_checksum(None)


class Trickle:
    """A stream that returns at most 3 bytes a read, as sockets and pipes may."""

    def __init__(self, data: bytes) -> None:
        self.buf = io.BytesIO(data)

    def read(self, n: int = -1) -> bytes:
        return self.buf.read(3 if n < 0 else min(n, 3))


def test_read_up_to_keeps_reading_after_short_reads():
    assert read_up_to(Trickle(b"abcdefghij"), 8) == b"abcdefgh"
    assert read_up_to(Trickle(b"abc"), 8) == b"abc"


def test_chain_reader_yields_the_head_then_the_rest():
    src = io.BytesIO(b"0123456789")
    head = src.read(4)
    chain = ChainReader(head, src)
    assert chain.read(2) == b"01" and chain.read(5) == b"23456" and chain.read() == b"789"
