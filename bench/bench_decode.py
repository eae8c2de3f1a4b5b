"""The decoded paths (`search_views`, `search`) against `search_json` (issue 16).

Usage: .venv/bin/python bench/bench_decode.py [--records 200000] [--docs 2000] [--queries 100]

Indexes N records of ``bench_peers.py``'s mix, reads back D stored documents, and times, per
document (best of several rounds, cyclic GC paused as ``decode_records`` does):
 - what ``search`` does: ``FileRecord.model_validate_json`` (``decode_records``);
 - what ``search_views`` does: msgspec into a read-only ``FileView`` (``decode_views``);
 - the same JSON into a pydantic model of as many fields typed ``Any`` (no field's own
   validation: what any pydantic model of these fields costs at least);
 - ``orjson.loads`` and ``json.loads`` into plain dicts (no model at all);
 - ``search_json``'s own per-match work past the SQL (``whole``).
Then the three public calls on bbox queries of the peer bench's shape, with their cost a match: the
decoded path can come within 1.3x of ``search_json`` only if decoding a match costs under 0.3x
what ``search_json`` spends on one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import orjson
from bench_index import START, TYPES
from bench_peers import batches
from pydantic import ConfigDict, create_model

from indexer.backends.sqlite.docs import decode_records, decode_views, whole
from indexer.backends.sqlite.index import SqliteIndex
from seedpipe.gcpause import gc_paused
from seedpipe.query.model import MAX_LIMIT, Query
from seedpipe.records import FileRecord
from seedpipe.views import decode_view

AnyFields = create_model(  # type: ignore[call-overload]
    "AnyFields",
    __config__=ConfigDict(extra="forbid"),
    **{name: (Any, None) for name in FileRecord.model_fields},
)


def per_doc(fn: Callable[[], Any], n: int, rounds: int = 7) -> float:
    best = float("inf")
    with gc_paused():
        for _ in range(rounds):
            t0 = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t0)
    return best / n * 1e6


async def bench(args: argparse.Namespace, db: Path) -> None:
    print(f"cores={os.cpu_count()} records={args.records:,} load average {os.getloadavg()[0]:.1f}")
    async with SqliteIndex(f"sqlite:///{db}") as index:
        async with index.bulk():
            for chunk in batches(args.records, 5000):
                await index.upsert(chunk)
        rows = index.con.execute("SELECT doc, nulls FROM docs LIMIT ?", (args.docs,)).fetchall()
        docs = [r[0] for r in rows]
        n = len(docs)
        print(f"| per document ({n:,} stored documents, ~{sum(map(len, docs)) // n} bytes) | µs |")
        print("|---|---|")
        for name, fn in [
            ("`FileRecord.model_validate_json` (what `search` does)",
             lambda: [FileRecord.model_validate_json(d) for d in docs]),
            ("`decode_view` (msgspec `FileView`, what `search_views` does)",
             lambda: [decode_view(d) for d in docs]),
            (f"a pydantic model of {len(FileRecord.model_fields)} fields typed `Any`",
             lambda: [AnyFields.model_validate_json(d) for d in docs]),
            ("`orjson.loads` (plain dicts)", lambda: [orjson.loads(d) for d in docs]),
            ("`json.loads` (plain dicts)", lambda: [json.loads(d) for d in docs]),
            ("`whole` (`search_json`'s per-match work past SQL)",
             lambda: [whole(*r) for r in rows]),
        ]:  # fmt: skip
            print(f"| {name} | {per_doc(fn, n):.2f} |")
        rng = random.Random(1616)
        calls = {"json": index.search_json, "views": index.search_views, "records": index.search}
        times: dict[str, list[float]] = {name: [] for name in calls}
        names, matches = list(calls), []
        queries = []
        for i in range(args.queries):
            x, y = rng.uniform(-180, 130), rng.uniform(-80, 30)
            t = START + timedelta(days=rng.randrange(9 * 365))
            q = Query(bbox=(x, y, x + 50, y + 50),
                      datetime={"start": t, "end": t + timedelta(days=365)},
                      data_types_any=[rng.choice(TYPES)], limit=MAX_LIMIT)  # fmt: skip
            queries.append(q)
            for name in names[i % 3 :] + names[: i % 3]:
                t0 = time.perf_counter()
                page = await calls[name](q)
                times[name].append(time.perf_counter() - t0)
                total = page.total
                del page  # dropped once used, as bench_peers.py does
            matches.append(total)
        j, m = statistics.median(times["json"]), statistics.median(matches)
        print(
            f"| bbox + datetime + type, {args.queries} queries, median {m:,.0f} matches: "
            f"`search_json` p50 {j * 1e3:.2f} ms ({j / m * 1e6:.2f} µs a match) | — |"
        )
        for name in ("views", "records"):
            d = statistics.median(times[name])
            print(
                f"| `{calls[name].__name__}` p50 {d * 1e3:.2f} ms ({d / m * 1e6:.2f} µs a match) "
                f"| {d / j:.2f}x |"
            )
        in_situ(index, queries, m)


def in_situ(index: SqliteIndex, queries: list[Query], matches: float) -> None:
    """Each step on each query's own documents, just read (the caches as a search leaves them,
    not warmed by repeating): what the decoded paths spend past ``search_json``'s."""
    steps: dict[str, list[float]] = {name: [] for name in IN_SITU}
    for q in queries:
        t0 = time.perf_counter()
        rows, *_ = index._snapshot(q, index._page)
        steps["the page's SQL, read in one snapshot"].append(time.perf_counter() - t0)
        docs = [r[0] for r in rows]
        for name, fn in IN_SITU.items():
            if fn is not None:
                t0 = time.perf_counter()
                out = fn(rows, docs)
                steps[name].append(time.perf_counter() - t0)
                del out
    print(f"| in situ, µs a match (median of {len(queries)} queries) | µs |")
    print("|---|---|")
    for name, times in steps.items():
        print(f"| {name} | {statistics.median(times) / matches * 1e6:.2f} |")


def _orjson(rows: Any, docs: list[str]) -> Any:
    with gc_paused():
        return [orjson.loads(d) for d in docs]


IN_SITU: dict[str, Callable[[Any, list[str]], Any] | None] = {
    "the page's SQL, read in one snapshot": None,
    "`whole` (`search_json`)": lambda rows, docs: [whole(*r) for r in rows],
    "`decode_views` (`search_views`)": lambda rows, docs: decode_views(docs),
    "`orjson.loads` into plain dicts": _orjson,
    "`decode_records` (`search`)": lambda rows, docs: decode_records(docs),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--queries", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(bench(args, Path(tmp) / "index.db"))


if __name__ == "__main__":
    main()
