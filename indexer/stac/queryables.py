"""Queryables: the JSON Schema of the properties a CQL2 filter (or the Query extension) names."""

from __future__ import annotations

from typing import Any

from indexer.stac.query import ARRAYS, SCALARS

QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
SCHEMA_JSON = "application/schema+json"
_STRING = {"type": "string"}


def queryables(href: str, collections: list[str]) -> dict[str, Any]:
    props: dict[str, Any] = {
        "id": {"title": "Item id (the file record's id)", **_STRING},
        "collection": {"title": "Collection (workspace)", "type": "string", "enum": collections},
        "datetime": {
            "title": "Data time, or created time for a file without data time",
            "type": "string",
            "format": "date-time",
        },
        "geometry": {"title": "Footprint (or center point)", "format": "geometry-any"},
        "title": {"title": "File name (LIKE 'a%', '%b', '%c%')", **_STRING},
    }
    for name in sorted(SCALARS):
        if name.startswith("seedpipe:"):
            props[name] = {"title": name.removeprefix("seedpipe:").replace("_", " "), **_STRING}
    props["seedpipe:file_type"]["enum"] = ["SOURCE", "PRODUCT"]
    for name in sorted(ARRAYS):
        props[name] = {
            "title": name.removeprefix("seedpipe:").replace("_", " "),
            "type": "array",
            "items": _STRING,
        }
    return {
        "$schema": "https://json-schema.org/draft/2019-09/schema",
        "$id": href,
        "type": "object",
        "title": "Queryables",
        "description": "Besides these: seedpipe:meta_data.<path> and namespaced meta_data keys "
        "(eo:cloud_cover, …) compare with =, <>, <, <=, >, >=, IN, BETWEEN and IS NULL.",
        "properties": props,
        "patternProperties": {
            r"^seedpipe:meta_data\.[A-Za-z0-9_:@.\-]+$": {},
            r"^[A-Za-z0-9_\-]+:[A-Za-z0-9_:@\-]+$": {},
        },
        "additionalProperties": False,
    }
