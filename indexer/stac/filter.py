"""The STAC API Filter extension: CQL2 (text or JSON, parsed by the ``cql2`` library) compiled
onto the neutral ``Query``.

The query model holds AND-ed filters plus groups of alternatives (``any_of``); a CQL2 part it
cannot answer exactly is a 400 naming that part, never a silently wider search.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from indexer.stac.query import ARRAYS, SCALARS, is_meta_name, query_fields
from seedpipe.errors import InvalidInput
from seedpipe.query.model import MAX_ALTERNATIVES

LANGS = ("cql2-text", "cql2-json")
CRS84 = (
    "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
    "https://www.opengis.net/def/crs/OGC/1.3/CRS84",
)
MAX_FILTER_CHARS = 100_000
COMPARE = {"=": "eq", "<>": "neq", "<": "lt", "<=": "lte", ">": "gt", ">=": "gte"}
FLIP = {"=": "=", "<>": "<>", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
# Fields that combine by AND as lists of conditions (the others may be given once).
STACKING = {"meta", "bounds", "any_of", "meta_missing"}
NOTHING = [""]  # no workspace has an empty name: a workspace filter that matches nothing


def parse_filter(value: Any, lang: str | None) -> dict[str, Any]:
    """CQL2 text (a string) or JSON (an object, or a string of it) -> CQL2-JSON."""
    import cql2

    if lang is not None and lang not in LANGS:
        raise InvalidInput(f"must be one of {', '.join(LANGS)}", field="filter-lang")
    if isinstance(value, str):
        if len(value) > MAX_FILTER_CHARS:
            raise InvalidInput(f"is longer than {MAX_FILTER_CHARS} characters", field="filter")
        if lang == "cql2-json" or (lang is None and value.lstrip().startswith("{")):
            try:
                value = json.loads(value)
            except ValueError as exc:
                raise InvalidInput(f"is not CQL2-JSON ({exc})", field="filter") from exc
    elif not isinstance(value, dict | bool):
        raise InvalidInput("must be CQL2 text or a CQL2-JSON object", field="filter")
    if isinstance(value, bool):
        return {"op": "and", "args": []} if value else {"op": "or", "args": []}
    try:
        expr = cql2.Expr(value)
        expr.validate()
        tree = expr.to_json()
    except Exception as exc:  # cql2 raises bare Exceptions for syntax errors
        reason = " ".join(str(exc).split())[:300]
        raise InvalidInput(f"is not valid CQL2: {reason}", field="filter") from None
    if isinstance(tree, bool):
        return {"op": "and", "args": []} if tree else {"op": "or", "args": []}
    if not isinstance(tree, dict):
        raise InvalidInput("must be a CQL2 boolean expression", field="filter")
    return tree


def filter_fields(tree: dict[str, Any], collections: Sequence[str]) -> dict[str, Any]:
    """Query-model fields for a CQL2-JSON expression; ``collections`` are the known ones (for
    orderings of ``collection``)."""
    return _Compiler(sorted(collections)).node(tree)


def and_fields(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    """Two sets of Query fields that must both hold, as one."""
    return _Compiler([])._and([first, second], None)


def _text(node: Any) -> str:
    try:
        import cql2

        return str(cql2.Expr(node).to_text())[:200]
    except Exception:  # the part is shown for the message only
        return json.dumps(node)[:200]


def _cannot(node: Any, why: str) -> InvalidInput:
    return InvalidInput(f"cannot answer {_text(node)!r}: {why}", field="filter")


class _Compiler:
    def __init__(self, collections: list[str]) -> None:
        self.collections = collections

    def node(self, node: Any) -> dict[str, Any]:
        if not isinstance(node, dict) or "op" not in node:
            raise _cannot(node, "not a boolean expression")
        op, args = str(node["op"]).lower(), node.get("args") or []
        if op == "and":
            return self._and([self.node(a) for a in args], node)
        if op == "or":
            return self._or(args, node)
        if op == "not":
            return self._not(args[0] if args else None, node)
        if op in COMPARE:
            return self._compare(op, args, node)
        if op == "in":
            return self._ext(args, "in", node)
        if op == "like":
            return self._like(args, node)
        if op == "between":
            prop, bounds = self._between(args, node)
            return self._ext_query(prop, {"gte": bounds[0], "lte": bounds[1]}, node)
        if op == "isnull":
            prop = self._name(args[0] if args else None, node)
            if prop.startswith("seedpipe:meta_data."):
                prop = prop[len("seedpipe:meta_data.") :]
            elif not is_meta_name(prop):
                raise _cannot(node, "only meta_data properties may be missing")
            return {"meta_missing": [prop]}
        if op in ("s_intersects", "intersects"):
            return self._spatial(args, node)
        if op in ("t_intersects", "anyinteracts"):
            return self._temporal(args, node)
        if op in ("a_overlaps", "a_contains", "a_equals", "a_containedby"):
            return self._array(op, args, node)
        raise _cannot(node, f"the operator {op!r} is not supported")

    # ----- boolean structure -----

    def _and(self, parts: list[dict[str, Any]], node: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for part in parts:
            clash = {k for k in part if k in out and k not in STACKING}
            if clash & {"bbox", "intersects"}:
                raise _cannot(node, "two spatial filters in one AND")
            if "datetime" in clash:
                part = dict(part)
                met = _meet(out["datetime"], part.pop("datetime"))
                if met is None:
                    out.setdefault("any_of", []).append([{"workspaces": NOTHING}])
                else:
                    out["datetime"] = met
                clash.discard("datetime")
                clash.discard("time_field")
                part.pop("time_field", None)
            if clash:
                # the same field twice: the second must hold as well (a group of one)
                out.setdefault("any_of", []).append([part])
                continue
            for key, value in part.items():
                out[key] = [*out[key], *value] if key in STACKING and key in out else value
        return out

    def _or(self, args: list[Any], node: Any) -> dict[str, Any]:
        parts = [self.node(a) for a in args]
        if not parts:
            return {"workspaces": NOTHING}  # an empty OR is false
        spatial = [p for p in parts if "intersects" in p or "bbox" in p]
        if spatial:
            if len(spatial) != len(parts) or any(len(p) != 1 for p in parts):
                raise _cannot(node, "OR joins spatial filters only with spatial filters")
            return {"intersects": _union([_shape(p) for p in parts])}
        keys = {k for p in parts for k in p}
        lists = {"ids", "workspaces", "media_types", "file_names", "data_types_any", "countries"}
        if len(keys) == 1 and keys <= lists and all(len(p) == 1 for p in parts):
            (key,) = keys
            merged = sorted({v for p in parts for v in p[key]})
            return {key: merged}
        if len(parts) > MAX_ALTERNATIVES:
            raise _cannot(node, f"OR takes at most {MAX_ALTERNATIVES} alternatives")
        flat: list[dict[str, Any]] = []
        for p in parts:
            if "any_of" in p:
                raise _cannot(node, "an OR inside an OR (or an AND of ORs inside one)")
            flat.append(p)
        return {"any_of": [flat]}

    def _not(self, inner: Any, node: Any) -> dict[str, Any]:
        if not isinstance(inner, dict):
            raise _cannot(node, "NOT needs an expression")
        op, args = str(inner.get("op", "")).lower(), inner.get("args") or []
        if op == "=":
            return self._compare("<>", args, inner)
        if op == "<>":
            return self._compare("=", args, inner)
        if op == "between":
            prop, bounds = self._between(args, inner)
            below = self._ext_query(prop, {"lt": bounds[0]}, inner)
            above = self._ext_query(prop, {"gt": bounds[1]}, inner)
            return {"any_of": [[below, above]]}
        if op == "in":
            prop, values = self._prop(args, inner)
            if prop in SCALARS and isinstance(values, list):
                fields: dict[str, Any] = {}
                for v in values:
                    part = self._ext_query(prop, {"neq": v}, inner)
                    for key, excluded in part.get("not_in", {}).items():
                        fields.setdefault("not_in", {}).setdefault(key, []).extend(excluded)
                if fields:
                    return fields
        raise _cannot(node, "NOT is answered only over =, <>, BETWEEN and IN")

    # ----- comparisons through the Query extension's vocabulary -----

    def _name(self, arg: Any, node: Any) -> str:
        if not isinstance(arg, dict) or not isinstance(arg.get("property"), str):
            raise _cannot(node, "the left side must be a property")
        return str(arg["property"]).removeprefix("properties.")

    def _prop(self, args: list[Any], node: Any) -> tuple[str, Any]:
        if len(args) != 2:
            raise _cannot(node, "takes a property and a value")
        return self._name(args[0], node), _literal(args[1], node)

    def _between(self, args: list[Any], node: Any) -> tuple[str, list[Any]]:
        if len(args) == 3:
            return self._name(args[0], node), [_literal(a, node) for a in args[1:]]
        raise _cannot(node, "BETWEEN takes a property and two bounds")

    def _compare(self, op: str, args: list[Any], node: Any) -> dict[str, Any]:
        if len(args) == 2 and isinstance(args[1], dict) and "property" in args[1]:
            if isinstance(args[0], dict) and "property" in args[0]:
                raise _cannot(node, "property-to-property comparisons are not supported")
            args, op = [args[1], args[0]], FLIP[op]
        prop, value = self._prop(args, node)
        if prop == "collection" and op not in ("=", "<>") and isinstance(value, str):
            order = {
                "<": lambda c: c < value,
                "<=": lambda c: c <= value,
                ">": lambda c: c > value,
                ">=": lambda c: c >= value,
            }[op]
            return {"workspaces": [c for c in self.collections if order(c)] or NOTHING}
        if prop == "datetime" and op == "<>":
            before = self._ext_query(prop, {"lt": value}, node)
            after = self._ext_query(prop, {"gt": value}, node)
            return {"any_of": [[before, after]]}
        return self._ext_query(prop, {COMPARE[op]: value}, node)

    def _ext(self, args: list[Any], op: str, node: Any) -> dict[str, Any]:
        prop, value = self._prop(args, node)
        return self._ext_query(prop, {op: value}, node)

    def _ext_query(self, prop: str, ops: dict[str, Any], node: Any) -> dict[str, Any]:
        try:
            fields = query_fields({prop: ops})
        except InvalidInput as exc:
            raise _cannot(node, str(exc).split(": ", 1)[-1]) from None
        if "datetime" in fields:
            fields["time_field"] = "data_or_created"
        return fields

    def _like(self, args: list[Any], node: Any) -> dict[str, Any]:
        prop, pattern = self._prop(args, node)
        if prop != "title" or not isinstance(pattern, str):
            raise _cannot(node, "LIKE is answered on title only")
        body = pattern.strip("%")
        if "_" in body or "%" in body or "\\" in body:
            raise _cannot(node, "LIKE takes % only at the start or the end")
        starts, ends = pattern.startswith("%"), pattern.endswith("%") and len(pattern) > 1
        if starts and ends:
            op = "contains"
        elif ends:
            op = "startsWith"
        elif starts:
            op = "endsWith"
        else:
            op = "eq"
        return self._ext_query("title", {op: body}, node)

    def _array(self, op: str, args: list[Any], node: Any) -> dict[str, Any]:
        prop, values = self._prop(args, node)
        if prop not in ARRAYS or not isinstance(values, list):
            raise _cannot(node, f"array operators apply to {', '.join(sorted(ARRAYS))}")
        if op == "a_overlaps":
            return self._ext_query(prop, {"in": values}, node)
        if op == "a_contains" and prop == "seedpipe:data_types":
            return {"data_types_all": [str(v) for v in values]}
        raise _cannot(node, f"{op.upper()} is not supported on {prop}")

    def _spatial(self, args: list[Any], node: Any) -> dict[str, Any]:
        if len(args) != 2:
            raise _cannot(node, "S_INTERSECTS takes the geometry and a shape")
        if self._name(args[0], node) != "geometry":
            raise _cannot(node, "spatial operators apply to geometry")
        shape = args[1]
        if isinstance(shape, dict) and "bbox" in shape:
            return {"bbox": shape["bbox"]}
        if isinstance(shape, dict) and "type" in shape:
            return {"intersects": shape}
        raise _cannot(node, "the shape must be GeoJSON or a BBOX")

    def _temporal(self, args: list[Any], node: Any) -> dict[str, Any]:
        if len(args) != 2 or self._name(args[0], node) != "datetime":
            raise _cannot(node, "temporal operators apply to datetime")
        value = args[1]
        if isinstance(value, dict) and isinstance(value.get("interval"), list):
            ends = [_literal(v, node) for v in value["interval"]]
            if len(ends) != 2:
                raise _cannot(node, "an interval has two ends")
            ops = {}
            if ends[0] not in ("..", None):
                ops["gte"] = ends[0]
            if ends[1] not in ("..", None):
                ops["lte"] = ends[1]
            if not ops:
                return {}
            return self._ext_query("datetime", ops, node)
        return self._ext_query("datetime", {"eq": _literal(value, node)}, node)


def _literal(value: Any, node: Any) -> Any:
    if isinstance(value, dict):
        for key in ("timestamp", "date"):
            if key in value and isinstance(value[key], str):
                text = value[key]
                return text if "T" in text.upper() else f"{text}T00:00:00Z"
        raise _cannot(node, "the value must be a literal")
    return value


def _meet(a: Any, b: Any) -> Any:
    """Two time intervals ANDed: the time both select (None when they do not meet)."""
    starts = [t for t in (a.start, b.start) if t is not None]
    ends = [t for t in (a.end, b.end) if t is not None]
    start, end = (max(starts) if starts else None), (min(ends) if ends else None)
    if start is not None and end is not None and start > end:
        return None
    return type(a)(start=start, end=end)


def _shape(part: dict[str, Any]) -> dict[str, Any]:
    if "bbox" in part:
        x0, y0, x1, y1 = [float(v) for v in part["bbox"][:4]]
        ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
        return {"type": "Polygon", "coordinates": [ring]}
    shape: dict[str, Any] = part["intersects"]
    return shape


def _union(shapes: list[dict[str, Any]]) -> dict[str, Any]:
    """Shapes ORed: one GeometryCollection (a record meets it when it meets one of them)."""
    return {"type": "GeometryCollection", "geometries": shapes}
