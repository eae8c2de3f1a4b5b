"""A collection's summary from Elasticsearch/OpenSearch: one size-0 search of aggregations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from indexer.backends.base import CollectionSummary

MAX_VALUES = 100  # distinct values listed per summary field


def es_summary_body(workspace: str) -> dict[str, Any]:
    """A size-0 search whose aggregations are the summary."""
    live = {
        "bool": {
            "filter": [{"term": {"workspace": workspace}}],
            "must_not": [
                {"term": {"tombstone": True}},
                {"term": {"is_deleted": True}},
                {"term": {"is_superseded": True}},
            ],
        }
    }
    terms = {"size": MAX_VALUES, "order": {"_key": "asc"}}
    return {
        "size": 0,
        "track_total_hits": True,
        "query": live,
        "aggs": {
            # every footprint, not their centres; a footprint split at the antimeridian counts
            # as its two halves (as in the SQLite index), so the extent is never a wrapped box
            "bbox": {"geo_bounds": {"field": "geometry", "wrap_longitude": False}},
            "points": {"geo_bounds": {"field": "center_point", "wrap_longitude": False}},
            # a record's time is its data interval (either end alone is an instant), else its
            # created time: the same rule as the SQLite index's coalesce(d0, created)
            "with_data": {
                "filter": {"exists": {"field": "data_time"}},
                "aggs": {
                    f"{agg}_{field}": {agg: {"field": field}}
                    for agg in ("min", "max")
                    for field in ("data_started", "data_ended")
                },
            },
            "without_data": {
                "filter": {"bool": {"must_not": [{"exists": {"field": "data_time"}}]}},
                "aggs": {
                    "min_created": {"min": {"field": "created"}},
                    "max_created": {"max": {"field": "created"}},
                },
            },
            "media_types": {"terms": {"field": "media_type", **terms}},
            "file_types": {"terms": {"field": "file_type", **terms}},
            "data_types": {"terms": {"field": "data_type_tags", **terms}},
        },
    }


def es_summary(resp: dict[str, Any]) -> CollectionSummary:
    aggs = resp.get("aggregations", {})
    boxes = []
    for name in ("bbox", "points"):  # the footprints, and the centres of records with none
        bounds = aggs.get(name, {}).get("bounds")
        if bounds:
            tl, br = bounds["top_left"], bounds["bottom_right"]
            # the engine encodes shapes to ~1e-7°: 180 reads back as 179.99999992
            boxes.append([round(float(v), 6) for v in (tl["lon"], br["lat"], br["lon"], tl["lat"])])
    bbox = None
    if boxes:
        w, s, e, n = (f(b[i] for b in boxes) for i, f in enumerate((min, min, max, max)))
        bbox = (w, s, e, n)
    data, other = aggs.get("with_data", {}), aggs.get("without_data", {})

    def when(pick: Any, *values: dict[str, Any]) -> datetime | None:
        found = [v["value"] for v in values if v.get("value") is not None]
        return datetime.fromtimestamp(pick(found) / 1000, UTC) if found else None

    start = when(min, data.get("min_data_started", {}), data.get("min_data_ended", {}),
                 other.get("min_created", {}))  # fmt: skip
    end = when(max, data.get("max_data_started", {}), data.get("max_data_ended", {}),
               other.get("max_created", {}))  # fmt: skip

    def keys(name: str) -> list[str]:
        return [str(b["key"]) for b in aggs.get(name, {}).get("buckets", [])]

    return CollectionSummary(
        count=int(resp["hits"]["total"]["value"]),
        bbox=bbox,
        start=start,
        end=end,
        media_types=keys("media_types"),
        file_types=keys("file_types"),
        data_types=keys("data_types"),
    )
