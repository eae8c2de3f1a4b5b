"""A bulk load's writer process: the SQL of big batches runs beside the Python preparing them.

One SQLite writer does both halves of a batch under one GIL: turning records into rows (~14 µs
a record) and binding and inserting those rows (~18 µs), and threads cannot overlap them (a
row's binding holds the GIL; see bench/README.md, "bulk floor"). During a bulk load, a batch of
at least ``WRITER_MIN`` records is therefore written by a child process holding its own
connection to the same file: the index's thread prepares the rows ``SUB`` records at a time
and streams them (msgpack, through a socket pair) while the child inserts the ones before,
all inside one transaction of the child's, as ``writes.upsert_batch`` does in process:

- ``begin`` (ids and versions of the batch's newest records): BEGIN IMMEDIATE, the floors each
  must beat, the rows of those that beat it removed, the first free rid (``writes.claim``);
- ``rows`` (as many as needed): ``writes.write_rows``;
- ``commit`` (the longest data span and the data types): ``writes.note_batch``, COMMIT;
- ``abort``: ROLLBACK (the parent failed between begin and commit).

Crash safety is SQLite's, as in process: a child that dies, or a parent that does (the child
reads the end of its pipe and exits), leaves the transaction rolled back and every batch
committed before it kept. The parent then writes that batch again, and the rest of the load, in
process (see ``SqliteIndex._write_beside``).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import socket
import subprocess
import sys
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import msgspec

from indexer.backends.base import UpsertResult
from indexer.backends.sqlite import writes
from indexer.backends.sqlite.layout import connect_index
from indexer.backends.sqlite.rows import prepare
from seedpipe.errors import CatalogError
from seedpipe.query.geometry import RecordPlace
from seedpipe.records import FileRecord

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[3]  # the directory holding the indexer package

WRITER_MIN = 256  # records in one upsert call for the writer process to write it
SUB = 64  # records prepared, sent and inserted at a time (~70 KB of rows)
BUFFER = 4 << 20  # bytes a socket end asks to hold

_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder().decode


class WriterGone(CatalogError):
    """The writer process ended (or its pipe broke) in the middle of a batch."""


class Writer:
    """The parent's side: a child process writing batches into the index at ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        ours, theirs = socket.socketpair()
        for end in (ours, theirs):  # rows in flight while the child inserts (the kernel caps it)
            end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, BUFFER)
            end.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, BUFFER)
        # A fresh interpreter (``python -m`` this module), not multiprocessing: its children
        # import the parent's __main__ again, which a script without a main guard cannot bear.
        # It imports this very code (the package root first on its path), and in a session of
        # its own a terminal's Ctrl-C reaches only the parent, which decides when it stops.
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        try:
            self._proc = subprocess.Popen(  # this interpreter, this module, arguments of ours
                [sys.executable, "-m", __name__, str(path), str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )
        except BaseException:
            ours.close()
            theirs.close()
            raise
        theirs.close()
        self._conn = Connection(ours.detach())
        log.info("index bulk writer started", extra={"index": str(path), "pid": self._proc.pid})

    @property
    def alive(self) -> bool:
        return self._proc.poll() is None

    def _send(self, *msg: Any) -> None:
        try:
            self._conn.send_bytes(_encode(msg))
        except OSError as exc:
            raise WriterGone(
                f"sqlite index {self.path}: the writer process's pipe broke ({exc})"
            ) from exc

    def _reply(self) -> list[Any]:
        try:
            reply: list[Any] = _decode(self._conn.recv_bytes())
        except (EOFError, OSError) as exc:
            code = self._proc.poll()
            raise WriterGone(
                f"sqlite index {self.path}: the writer process ended (exit code {code})"
            ) from exc
        if reply[0] != "ok":
            raise CatalogError(f"sqlite index {self.path}: {reply[1]}")
        return reply[1:]

    def upsert(self, records: list[FileRecord], places: list[RecordPlace]) -> list[UpsertResult]:
        """``writes.upsert_batch``, its SQL in the child."""
        results, newest = writes.newest_of(records)
        ids = list(newest)
        self._send("begin", ids, [records[newest[i]].version for i in ids])
        floors, rid = self._reply()
        try:
            todo = writes.written(records, newest, floors, results)
            span: int | None = None
            for at in range(0, len(todo), SUB):
                part = todo[at : at + SUB]
                rows, doc_rows, rt_rows, tag_rows, done = prepare(
                    [records[i] for i in part], [places[i] for i in part], rid
                )
                rid += len(part)
                self._send("rows", rows, doc_rows, rt_rows, tag_rows)
                longest = writes.longest_span(rows)
                if longest is not None and (span is None or longest > span):
                    span = longest
                for i, result in zip(part, done, strict=True):
                    results[i] = result
            types = writes.types_of([records[i] for i in todo])
        except BaseException:
            with contextlib.suppress(CatalogError):
                self._send("abort")
                self._reply()
            raise
        self._send("commit", span, types)
        self._reply()
        return [r for r in results if r is not None]

    def close(self) -> None:
        """Stop the child (after what it was sent) and wait for it."""
        with contextlib.suppress(OSError):
            self._conn.send_bytes(_encode(("close",)))
        try:
            self._proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._conn.close()


def serve(path: str, conn: Connection) -> None:
    """The child: a connection to the index and the loop of its messages (see the module)."""
    gc.disable()  # flat rows only: nothing cyclic to collect
    con = connect_index(Path(path))
    loading: str | None = None
    error: str | None = None  # the batch's first failure, answered at its end
    try:
        while True:
            try:
                msg = _decode(conn.recv_bytes())
            except EOFError:
                return  # the parent is gone: an open transaction is rolled back on close
            kind = msg[0]
            if kind == "close":
                return
            try:
                if kind == "begin":
                    error = None
                    con.execute("BEGIN IMMEDIATE")
                    floors, rid, loading = writes.claim(con, msg[1], msg[2])
                    conn.send_bytes(_encode(("ok", floors, rid)))
                elif kind == "rows":
                    if error is None:
                        writes.write_rows(con, msg[1], msg[2], msg[3], msg[4], loading)
                elif kind == "commit":
                    if error is None:
                        writes.note_batch(con, msg[1], msg[2])
                        con.execute("COMMIT")
                        conn.send_bytes(_encode(("ok",)))
                    else:
                        conn.send_bytes(_encode(("error", error)))
                elif kind == "abort":
                    if con.in_transaction:
                        con.execute("ROLLBACK")
                    conn.send_bytes(_encode(("ok",)))
            except Exception as exc:  # answered to the parent, which raises it
                if con.in_transaction:
                    con.execute("ROLLBACK")
                error = f"{type(exc).__name__}: {exc}"
                if kind in ("begin", "commit"):  # answered: rows and abort are not
                    conn.send_bytes(_encode(("error", error)))
    finally:
        con.close()


if __name__ == "__main__":
    serve(sys.argv[1], Connection(int(sys.argv[2])))
