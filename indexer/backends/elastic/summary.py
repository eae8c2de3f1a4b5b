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
            "bbox": {"geo_bounds": {"field": "center_point"}},
            "data_start": {"min": {"field": "data_started"}},
            "data_end": {"max": {"field": "data_ended"}},
            "created_start": {"min": {"field": "created"}},
            "created_end": {"max": {"field": "created"}},
            "media_types": {"terms": {"field": "media_type", **terms}},
            "file_types": {"terms": {"field": "file_type", **terms}},
            "data_types": {"terms": {"field": "data_type_tags", **terms}},
        },
    }


def es_summary(resp: dict[str, Any]) -> CollectionSummary:
    aggs = resp.get("aggregations", {})
    bounds = aggs.get("bbox", {}).get("bounds")
    bbox = None
    if bounds:
        tl, br = bounds["top_left"], bounds["bottom_right"]
        bbox = (float(tl["lon"]), float(br["lat"]), float(br["lon"]), float(tl["lat"]))

    def when(*names: str, pick: Any) -> datetime | None:
        values = [aggs.get(n, {}).get("value") for n in names]
        found = [v for v in values if v is not None]
        return datetime.fromtimestamp(pick(found) / 1000, UTC) if found else None

    def keys(name: str) -> list[str]:
        return [str(b["key"]) for b in aggs.get(name, {}).get("buckets", [])]

    return CollectionSummary(
        count=int(resp["hits"]["total"]["value"]),
        bbox=bbox,
        start=when("data_start", "created_start", pick=min),
        end=when("data_end", "created_end", pick=max),
        media_types=keys("media_types"),
        file_types=keys("file_types"),
        data_types=keys("data_types"),
    )
