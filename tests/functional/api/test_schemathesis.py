"""Schemathesis drives every documented operation with generated requests (bounded examples)
and every check it has: no 5xx, statuses, media types and bodies as the OpenAPI says, valid
data accepted, invalid data refused."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import hypothesis
import schemathesis
from hypothesis import strategies as st

MAX_EXAMPLES = 15

# The custom string formats the document names, as strategies of valid values.
_INSTANT = st.datetimes(
    min_value=__import__("datetime").datetime(1970, 1, 1),
    max_value=__import__("datetime").datetime(2100, 1, 1),
).map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ"))


def _interval(pair: tuple[str, str]) -> str:
    a, b = sorted(pair)
    return f"{a}/{b}"


FORMATS: dict[str, st.SearchStrategy[str]] = {
    "datetime-interval": st.one_of(
        _INSTANT,
        st.tuples(_INSTANT, _INSTANT).map(_interval),
        _INSTANT.map(lambda t: f"{t}/.."),
        _INSTANT.map(lambda t: f"../{t}"),
    ),
    "scale-time": st.one_of(_INSTANT, st.sampled_from(["PT3H", "P1D", "P2W", "PT30M"])),
    "bbox": st.sampled_from(["0,40,12,50", "170,-20,-170,20", "-180,-90,180,90"]),
    "geojson-geometry": st.sampled_from(
        [
            json.dumps({"type": "Point", "coordinates": [2.35, 48.85]}),
            json.dumps({"type": "Polygon", "coordinates": [[[0, 0], [10, 0], [10, 50], [0, 0]]]}),
        ]
    ),
    "cursor": st.nothing(),  # only a next link's cursor is valid: not generated
    "stac-sortby": st.sampled_from(["-datetime", "+created,-id", "title", "updated,datetime"]),
    "stac-query": st.sampled_from(
        [
            json.dumps({"seedpipe:data_types": {"eq": "landsat"}}),
            json.dumps({"eo:cloud_cover": {"lt": "20"}}),
            json.dumps({"title": {"startsWith": "p"}}),
        ]
    ),
    # CQL2-JSON text: valid whatever filter-lang says (cql2-text takes it too)
    "cql2": st.sampled_from(
        [
            json.dumps({"op": "<", "args": [{"property": "eo:cloud_cover"}, 20]}),
            json.dumps({"op": "like", "args": [{"property": "title"}, "n%"]}),
            json.dumps({"op": "=", "args": [{"property": "collection"}, "raw"]}),
        ]
    ),
    "meta-filter": st.sampled_from([json.dumps({"property": "cloud", "op": "<", "value": 20})]),
}
for name, strategy in FORMATS.items():
    schemathesis.openapi.format(name, strategy)


# Bodies that are valid (a schema cannot say that a polygon closes or miny <= maxy).
SEARCH_BODIES = [
    {},
    {"bbox": [0, 40, 12, 50], "limit": 3},
    {"intersects": {"type": "Point", "coordinates": [2.35, 48.85]}},
    {"datetime": "2019-01-01T00:00:00Z/..", "collections": ["raw"], "ids": ["paris", "ny"]},
    {"query": {"eo:cloud_cover": {"lt": 20}}, "sortby": [{"field": "id", "direction": "desc"}]},
    {
        "filter": {"op": "=", "args": [{"property": "collection"}, "raw"]},
        "filter-lang": "cql2-json",
    },
]


TIME_PAIRS = [
    (f"{kind}_started", f"{kind}_ended") for kind in ("data", "source", "created", "modified")
]


def schema_can_say(case: Any) -> bool:
    """What OpenAPI cannot say about parameters together, and the API refuses with a 400:
    bbox with intersects, and a time range whose start is after its end (as in Scale); such
    cases are left out of the valid ones."""
    names = set(case.query or {})
    if {"bbox", "intersects"} <= names:
        return False
    return not any({a, b} <= names for a, b in TIME_PAIRS)


def _string_kind(schema: dict[str, Any]) -> str | None:
    """ "str" or "list" for a parameter that takes strings (one, or exploded), else None."""
    for s in [schema, *schema.get("anyOf", []), *schema.get("oneOf", [])]:
        if s.get("type") == "string":
            return "str"
        if s.get("type") == "array" and s.get("items", {}).get("type") == "string":
            return "list"
    return None


def seen_over_http(operation: Any) -> Any:
    """Whether a negative case stays invalid once sent. A query string has no types: a
    boolean, a number or null given to a parameter that takes strings arrives as a string
    (``workspace=true``), and one string given where a list is taken is a list of one. Such
    cases are not negative over HTTP and are left out; a string too long, off its pattern or
    its enum, or too many of them, are still sent. A parameter sent empty (``name=``: null,
    "" or [] arrive so) is not given to the Scale-style routes (seedpipe.query.params reads an
    empty value as absent, an empty boolean as false): such cases are left out too."""
    kinds = {
        p["name"]: kind
        for p in operation.definition.raw.get("parameters", [])
        if p.get("in") == "query" and (kind := _string_kind(p.get("schema", {})))
    }

    def looks_valid(value: Any, kind: str) -> bool:
        if kind == "list" and isinstance(value, list):
            return not all(isinstance(v, str) for v in value)
        return not isinstance(value, str) and not isinstance(value, list | dict)

    def keep(case: Any) -> bool:
        return not any(
            (name in kinds and looks_valid(value, kinds[name]))
            or (name in kinds and kinds[name] == "list" and isinstance(value, str))
            or sent_empty(value)
            for name, value in (case.query or {}).items()
        )

    return keep


def sent_empty(value: Any) -> bool:
    """``name=`` (or ``name=&name=``) over HTTP: null, "" and lists of nothing else."""
    if isinstance(value, list):
        return all(v is None or v == "" for v in value)
    return value is None or value == ""


_COMPONENT = re.compile(r"Invalid component: parameters? (.+?) in query")
_VIOLATION = re.compile(r"violates `([A-Za-z]+)`")


def untyped_query_only(report: str, operation: Any) -> bool:
    """Whether the one failure reported is a "schema-violating request accepted" whose only
    violations are of type in query parameters that take strings: what arrives over HTTP is
    a valid string (see ``seen_over_http``, which leaves most such cases out beforehand)."""
    if "1 distinct failure" not in report or "Schema-violating request accepted" not in report:
        return False
    found = _COMPONENT.search(report)
    if found is None:
        return False
    names = set(re.findall(r"`([^`]+)`", found.group(1)))
    kinds = {
        p["name"]
        for p in operation.definition.raw.get("parameters", [])
        if p.get("in") == "query" and _string_kind(p.get("schema", {}))
    }
    violated = set(_VIOLATION.findall(report))
    return bool(names) and names <= kinds and violated <= {"type", "anyOf", "oneOf"}


def strategies(operation: Any) -> list[Any]:
    """Positive and negative cases; POST /search's valid bodies come from SEARCH_BODIES."""
    from schemathesis.generation.modes import GenerationMode

    negative = operation.as_strategy(generation_mode=GenerationMode.NEGATIVE).filter(
        seen_over_http(operation)
    )
    definition = operation.definition.raw
    if not definition.get("parameters") and "requestBody" not in definition:
        return [operation.as_strategy()]  # nothing to get wrong
    if operation.label in ("POST /recipes", "POST /jobs", "POST /batches"):
        # A valid start, job or batch names a configured recipe or job type (and files of the
        # catalogue that fit its inputs), which no schema can say (this catalogue has no
        # recipe or job types): only invalid bodies are sent.
        return [negative]
    if operation.label == "POST /search":
        positive = st.sampled_from(SEARCH_BODIES).flatmap(
            lambda body: operation.as_strategy(body=body)
        )
    else:
        positive = operation.as_strategy().filter(schema_can_say)
    return [positive, negative]


def test_every_operation_passes_every_schemathesis_check(live_api: str) -> None:
    doc = httpx.get(f"{live_api}/openapi.json").json()
    # OGC API Features: a limit above the maximum is served as the maximum, not refused (the
    # maximum stays in the document for clients such as GDAL); schemathesis' negative cases
    # would take one for an error, so its copy of the document says "clamped" in words only.
    for path in ("/search", "/collections/{collection_id}/items"):
        for param in doc["paths"][path]["get"]["parameters"]:
            if param["name"] == "limit":
                param["schema"].pop("maximum")
    schema = schemathesis.openapi.from_dict(doc)
    failures: list[str] = []
    from schemathesis.core.result import Ok

    results = list(schema.get_all_operations())
    assert all(isinstance(r, Ok) for r in results), results  # the document itself is valid
    operations = [r.ok() for r in results if isinstance(r, Ok)]
    assert len(operations) >= 15
    for operation in operations:
        for strategy in strategies(operation):

            @hypothesis.given(case=strategy)
            @hypothesis.settings(
                max_examples=MAX_EXAMPLES,
                deadline=None,
                suppress_health_check=list(hypothesis.HealthCheck),
                derandomize=True,
                database=None,
                phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],  # no shrinking
            )
            def run(case: Any) -> None:
                case.call_and_validate(base_url=live_api)

            try:
                run()
            except (Exception, BaseExceptionGroup) as exc:
                if not untyped_query_only(str(exc), operation):
                    failures.append(f"{operation.label}: {str(exc)[:1500]}")
    assert not failures, "\n\n".join(failures)
