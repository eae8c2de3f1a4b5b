"""Compiles the neutral Query into SQLite WHERE clauses over the ``files`` table (alias ``f``)."""

from __future__ import annotations

import functools
import json
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from seedpipe.query.model import MetaFilter, Query, SortKey, to_micros

# S608 below: SQL text is joined only from constant fragments; every value is a bound parameter.
# Tag keys in the side table: data types and countries share it under distinct prefixes.
DATA_TYPE = "t\x1f"
COUNTRY = "c\x1f"
ANCESTOR = "a\x1f"
# Beyond this many tags, a per-row probe costs more than building the set once.
PROBE_MAX = 32

TIME_COLUMNS = {
    "data": ("d0", "d1"),
    "source": ("s0", "s1"),
    "created": ("created", "created"),
    "last_modified": ("modified", "modified"),
}
LIST_COLUMNS = {
    "media_types": "media_type",
    "file_types": "file_type",
    "workspaces": "workspace",
    "job_types": "job_type",
    "job_outputs": "job_output",
    "jobs": "job",
    "recipes": "recipe",
    "recipe_nodes": "recipe_node",
    "batches": "batch",
    "source_sensor_class": "sensor_class",
    "source_sensor": "sensor",
    "source_collection": "collection",
    "source_task": "task",
}
SORT_COLUMNS = {
    "id": "f.id",
    "file_name": "f.file_name",
    "file_size": "f.file_size",
    "created": "f.created",
    "last_modified": "f.modified",
    "data_started": "f.data_started",
    "data_ended": "f.data_ended",
    "source_started": "f.source_started",
    "source_ended": "f.source_ended",
    # the time a STAC item shows as datetime (index files_data_or_created)
    "data_or_created": "coalesce(f.data_started, f.created)",
}
NULLABLE = frozenset({"data_started", "data_ended", "source_started", "source_ended"})
# SQLite json_type() names grouped into the three kinds meta comparisons accept.
_KIND = "(CASE {t} WHEN 'integer' THEN 'n' WHEN 'real' THEN 'n' WHEN 'text' THEN 's' " + (
    "WHEN 'true' THEN 'b' WHEN 'false' THEN 'b' ELSE 'x' END)"
)


@dataclass(frozen=True, slots=True)
class Known:
    """What a search reads from the index before its filters are compiled (once, in its
    snapshot): the longest data interval (see ``_time``), the trigram index's candidates
    for a file-name needle (see sqlite_names), and whether the R*Tree's type signature alone
    decides the query's ``data_types_any`` / ``data_types_all`` (see spatial.tree_decides: then
    the exact tag test per candidate is not needed)."""

    data_span_us: int | None = None
    name_rids: str | None = None
    any_by_tree: bool = False
    all_by_tree: bool = False


@dataclass
class Where:
    clauses: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)

    def add(self, clause: str, *params: Any) -> None:
        self.clauses.append(clause)
        self.params.extend(params)

    def sql(self) -> str:
        return " AND ".join(self.clauses) if self.clauses else "1"


def _json(values: list[Any]) -> str:
    return json.dumps(list(dict.fromkeys(values)))


def _tags(where: Where, prefix: str, values: list[str], mode: str, probe: bool) -> None:
    keys = [prefix + v for v in dict.fromkeys(values)]
    member = "SELECT value FROM json_each(?)"
    if mode == "all":
        where.add(
            f"f.rid IN (SELECT rid FROM tags WHERE tag IN ({member}) GROUP BY rid "  # noqa: S608
            "HAVING count(*) = ?)",
            json.dumps(keys),
            len(keys),
        )
        return
    neg = "NOT " if mode == "none" else ""
    if probe and len(keys) <= PROBE_MAX:
        # another index drives: probe the (tag, rid) key for each row it yields
        where.add(
            f"{neg}EXISTS (SELECT 1 FROM tags t WHERE t.tag IN ({member}) AND t.rid = f.rid)",  # noqa: S608
            json.dumps(keys),
        )
    else:
        where.add(f"f.rid {neg}IN (SELECT rid FROM tags WHERE tag IN ({member}))", json.dumps(keys))  # noqa: S608


def tag_prefilter(q: Query) -> str | None:
    """Country tag keys (JSON) every match carries one of, so spatial candidates can be cut down
    on the small (tag, rid) index before their ``files`` rows are read (a random page each).

    Data types need none: the R*Tree ids' signature filters them on the tree scan itself.
    """
    if q.data_types_any or q.data_types_all or not q.countries or len(q.countries) > PROBE_MAX:
        return None
    return json.dumps([COUNTRY + v for v in dict.fromkeys(q.countries)])


def meta_path(prop: str) -> str:
    return "$" + "".join(f'."{key}"' for key in prop.split("."))


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "b"
    return "n" if isinstance(value, int | float) else "s"


def _meta(where: Where, m: MetaFilter) -> None:
    path = meta_path(m.property)
    kind = _KIND.format(t="json_type(f.meta, ?)")
    extract = "json_extract(f.meta, ?)"
    v = m.value
    if m.op == "contains":
        elem_kind = _KIND.format(t="e.type")
        text_branch = "instr(json_extract(f.meta, ?), ?) > 0" if isinstance(v, str) else "0"
        text_params = [path, v] if isinstance(v, str) else []
        where.add(
            f"(CASE json_type(f.meta, ?) WHEN 'text' THEN {text_branch} "  # noqa: S608
            f"WHEN 'array' THEN EXISTS (SELECT 1 FROM json_each(f.meta, ?) e "
            f"WHERE e.value = ? AND {elem_kind} = ?) ELSE 0 END)",
            path,
            *text_params,
            path,
            v,
            _kind_of(v),
        )
        return
    if m.op == "in":
        item_kind = _KIND.format(t="v.type")
        where.add(
            f"EXISTS (SELECT 1 FROM json_each(?) v WHERE v.value = {extract} "  # noqa: S608
            f"AND {item_kind} = {kind})",
            json.dumps(v),
            path,
            path,
        )
        return
    k = _kind_of(v[0] if m.op == "between" else v)
    if k == "b" and m.op not in ("==", "!="):
        where.add("0")  # booleans have no order
        return
    if m.op == "between":
        where.add(f"{kind} = ? AND {extract} BETWEEN ? AND ?", path, k, path, v[0], v[1])
        return
    op = {"==": "=", "!=": "!="}.get(m.op, m.op)
    where.add(f"{kind} = ? AND {extract} {op} ?", path, k, path, v)


def _time(where: Where, q: Query, data_span_us: int | None) -> None:
    if q.datetime is None:
        return
    if q.time_field == "data_or_created":
        # Either branch alone is the plain data or created filter; OR them as SQL fragments.
        data, created = Where(), Where()
        _time(data, q.model_copy(update={"time_field": "data"}), data_span_us)
        _time(created, q.model_copy(update={"time_field": "created"}), None)
        if q.bbox is not None or q.intersects is not None:
            # the R*Tree drives: test each candidate row
            where.add(
                f"(({data.sql()}) OR (f.d0 IS NULL AND {created.sql()}))",
                *data.params,
                *created.params,
            )
            return
        # else a union of two index ranges ((d0, d1) and created): an OR scans every row
        where.add(
            f"f.rid IN (SELECT f.rid FROM files f WHERE {data.sql()} UNION ALL "  # noqa: S608
            f"SELECT f.rid FROM files f WHERE f.d0 IS NULL AND {created.sql()})",
            *data.params,
            *created.params,
        )
        return
    lo, hi = TIME_COLUMNS[q.time_field]
    qs, qe = q.datetime.start_us, q.datetime.end_us
    where.add(f"f.{lo} IS NOT NULL")
    # No record's data interval is longer than data_span_us, so its start is at most that far
    # before the end it must reach: a lower bound on d0 that keeps the (d0, d1) index scan short.
    span = data_span_us if q.time_field == "data" else None
    if q.time_relation == "intersects":
        if qe is not None:
            where.add(f"f.{lo} <= ?", qe)
        if qs is not None:
            where.add(f"f.{hi} >= ?", qs)
            if span is not None:
                where.add(f"f.{lo} >= ?", qs - span)
    elif q.time_relation == "within":
        if qs is not None:
            where.add(f"f.{lo} >= ?", qs)
        if qe is not None:
            where.add(f"f.{hi} <= ?", qe)
    elif qs is None or qe is None:
        where.add("0")  # an open end is never contained in a record's closed interval
    else:
        where.add(f"f.{lo} <= ? AND f.{hi} >= ?", qs, qe)
        if span is not None:
            where.add(f"f.{lo} >= ?", qe - span)


def compile_filters(q: Query, *, probe_tags: bool, known: Known | None = None) -> Where:
    """Every non-spatial filter as SQL over ``files f``; values are always bound parameters.

    ``probe_tags``: test tags per row (something else drives: the R*Tree, or a walk in sort
    order) instead of letting the tag index choose the rows.

    ``known``: what the search read from the index first, if anything (see ``Known``).
    """
    known = known or Known()
    where = Where()
    if not q.include_deleted:
        where.add("f.deleted = 0")
    if not q.include_superseded:
        where.add("f.superseded = 0")
    if q.ids:
        where.add("f.id IN (SELECT value FROM json_each(?))", _json(q.ids))
    for name, column in LIST_COLUMNS.items():
        values = getattr(q, name)
        if values:
            where.add(f"f.{column} IN (SELECT value FROM json_each(?))", _json(list(values)))  # noqa: S608
    if q.data_types_all and not known.all_by_tree:
        _tags(where, DATA_TYPE, q.data_types_all, "all", probe_tags)
    if q.data_types_any and not known.any_by_tree:
        _tags(where, DATA_TYPE, q.data_types_any, "any", probe_tags)
    if q.data_types_none:
        _tags(where, DATA_TYPE, q.data_types_none, "none", probe_tags)
    if q.countries:
        _tags(where, COUNTRY, q.countries, "any", probe_tags)
    if q.derived_from:
        _tags(where, ANCESTOR, q.derived_from, "any", probe_tags)
    for name, values in q.not_in.items():
        column = "id" if name == "ids" else LIST_COLUMNS[name]
        where.add(
            f"(f.{column} IS NULL OR f.{column} NOT IN (SELECT value FROM json_each(?)))",  # noqa: S608
            _json(list(values)),
        )
    if q.file_names:
        where.add("f.file_name IN (SELECT value FROM json_each(?))", _json(list(q.file_names)))
    if q.file_name_starts:
        needle = q.file_name_starts.casefold()
        where.add("substr(f.name_lc, 1, ?) = ?", len(needle), needle)
    if q.file_name_ends:
        needle = q.file_name_ends.casefold()
        where.add("substr(f.name_lc, -?) = ?", len(needle), needle)
    if q.file_name_contains:
        if known.name_rids is not None:
            where.add("f.rid IN (SELECT value FROM json_each(?))", known.name_rids)
        where.add("instr(f.name_lc, ?) > 0", q.file_name_contains.casefold())
    _time(where, q, known.data_span_us)
    for b in q.bounds:
        column = SORT_COLUMNS[b.field]  # the plain time columns (epoch µs; NULL never compares)
        where.add(f"{column} {b.op} ?", to_micros(b.value))
    for m in q.meta:
        _meta(where, m)
    for path in q.meta_missing:
        where.add("coalesce(json_type(f.meta, ?), 'null') = 'null'", meta_path(path))
    for group in q.any_of:
        # each alternative as its own filters (tags probed per row: no index drives inside)
        inner = Known(data_span_us=known.data_span_us)
        parts = [compile_filters(alt, probe_tags=True, known=inner) for alt in group]
        where.add(
            "(" + " OR ".join(f"({p.sql()})" for p in parts) + ")",
            *[param for p in parts for param in p.params],
        )
    return where


def order_by(keys: tuple[SortKey, ...], *, reverse: bool = False) -> str:
    """The query's order (nulls last in either direction, id ascending breaking ties), or with
    ``reverse`` exactly its reverse (what a previous page reads, from its anchor backwards)."""
    parts = []
    for k in keys:
        col = SORT_COLUMNS[k.field]
        if k.field in NULLABLE:
            parts.append(f"({col} IS NULL){' DESC' if reverse else ''}")
        parts.append(f"{col} {'DESC' if k.desc != reverse else 'ASC'}")
    parts.append(f"f.id {'DESC' if reverse else 'ASC'}")
    return ", ".join(parts)


def sort_columns(keys: tuple[SortKey, ...]) -> str:
    """The values a page is ordered by, id last: selected next to each rid (see order_rows)."""
    return ", ".join([SORT_COLUMNS[k.field] for k in keys] + ["f.id"])


def _sql_rank(value: Any) -> tuple[int, Any]:
    # SQLite orders numbers before text; a forged token may pair a number column with text.
    return (1, value) if isinstance(value, str) else (0, value)


def _rank_at(i: int, row: tuple[Any, ...]) -> tuple[int, Any]:
    return _sql_rank(row[i])


def _key(rows: list[tuple[Any, ...]], i: int) -> Callable[[tuple[Any, ...]], Any]:
    """The sort key of column ``i``: the value itself (itemgetter, no Python call per row) when
    the column holds only text or only numbers, else SQLite's rank of types first."""
    if len({type(r[i]) is str for r in rows}) <= 1:
        return operator.itemgetter(i)
    return functools.partial(_rank_at, i)


def order_rows(
    rows: list[tuple[Any, ...]],
    keys: tuple[SortKey, ...],
    token: tuple[list[Any], str] | None,
    *,
    before: bool = False,
) -> list[tuple[Any, ...]]:
    """Rows ``(rid, *sort values, id)`` in ``order_by`` order, only those strictly ``after``
    the token (or, with ``before``, strictly before it): the same order SQL gives, for matches
    already in hand (a spatial search reads them in one pass; sorting a thousand here beats
    reading their rows again to sort in SQL).
    """
    n = len(keys)
    if token is None and len(rows) < 2:  # nothing to order (most point queries)
        return list(rows)
    items = list(rows)
    sentinel: tuple[Any, ...] | None = None
    if token is not None:
        values, last_id = token
        if len(values) != n:
            return []
        sentinel = (None, *values, last_id)
        # a row equal to it (the token's own row) stays on its far side: the sorts are stable
        if before:
            items.insert(0, sentinel)
        else:
            items.append(sentinel)
    items.sort(key=_key(items, n + 1))
    for i in range(n, 0, -1):  # least significant key first; every sort keeps earlier order
        present = [r for r in items if r[i] is not None]
        present.sort(key=_key(present, i), reverse=keys[i - 1].desc)
        items = present + [r for r in items if r[i] is None]  # nulls last, as order_by
    if sentinel is not None:
        at = next(k for k, r in enumerate(items) if r is sentinel)
        items = items[:at] if before else items[at + 1 :]
    return items


def before(keys: tuple[SortKey, ...], values: list[Any], first_id: str) -> Where:
    """Rows strictly before (values, first_id) in ``order_by`` order; nulls sort last, so a
    null value has every non-null one before it and a non-null value no null."""
    return _keyset(keys, values, first_id, back=True)


def after(keys: tuple[SortKey, ...], values: list[Any], last_id: str) -> Where:
    """Rows strictly after (values, last_id) in ``order_by`` order; nulls sort last."""
    return _keyset(keys, values, last_id, back=False)


def _keyset(keys: tuple[SortKey, ...], values: list[Any], anchor: str, *, back: bool) -> Where:
    """Rows strictly beyond the anchor row (values, id) in ``order_by`` order, or with
    ``back`` strictly before it: one OR branch per key, equal on the keys before it."""
    where = Where()
    if len(values) != len(keys):
        where.add("0")
        return where
    ors: list[str] = []
    params: list[Any] = []
    eq_sql: list[str] = []
    eq_params: list[Any] = []
    for k, v in zip(keys, values, strict=True):
        col = SORT_COLUMNS[k.field]
        if v is None:
            if back:  # every non-null value sorts before a null
                ors.append("(" + " AND ".join([*eq_sql, f"{col} IS NOT NULL"]) + ")")
                params.extend(eq_params)
            eq_sql.append(f"{col} IS NULL")
            continue
        beyond = f"{col} {'<' if k.desc != back else '>'} ?"
        if not back and k.field in NULLABLE:  # nulls sort after every value
            beyond = f"({col} IS NULL OR {beyond})"
        ors.append("(" + " AND ".join([*eq_sql, beyond]) + ")")
        params.extend([*eq_params, v])
        eq_sql.append(f"{col} = ?")
        eq_params.append(v)
    ors.append("(" + " AND ".join([*eq_sql, f"f.id {'<' if back else '>'} ?"]) + ")")
    params.extend([*eq_params, anchor])
    where.add("(" + " OR ".join(ors) + ")", *params)
    return where
