"""The Prometheus metrics every service increments (one registry, defined once, served at /metrics).

Label values come from settings and event envelopes the bus already validated (strike, topic,
group and job type names), never from file names or free text, so the series stay few.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

FILES_INGESTED = Counter(
    "seedpipe_files_ingested",
    "Files ingested by a strike (placed in a workspace and recorded)",
    ["strike"],
    registry=REGISTRY,
)
FILES_DEFERRED = Counter(
    "seedpipe_files_deferred",
    "Files no ingest rule matched, moved aside by a strike",
    ["strike"],
    registry=REGISTRY,
)
FILES_ERRORED = Counter(
    "seedpipe_files_errored",
    "Files a strike failed to ingest",
    ["strike"],
    registry=REGISTRY,
)
FILES_DUPLICATE = Counter(
    "seedpipe_files_duplicate",
    "Files a strike recognised as duplicates",
    ["strike"],
    registry=REGISTRY,
)

EVENTS_PUBLISHED = Counter(
    "seedpipe_events_published",
    "Records appended to a topic (events and dead letters)",
    ["topic"],
    registry=REGISTRY,
)
EVENTS_CONSUMED = Counter(
    "seedpipe_events_consumed",
    "Events a consumer group handled (committed after success)",
    ["topic", "group"],
    registry=REGISTRY,
)
EVENTS_DEAD_LETTERED = Counter(
    "seedpipe_events_dead_lettered",
    "Events sent to <topic>.dlq, by the topic they came from",
    ["topic", "stage"],
    registry=REGISTRY,
)
CONSUMER_LAG = Gauge(
    "seedpipe_consumer_lag",
    "Records on a topic not yet handled by a consumer group (as this process last saw it)",
    ["group", "topic"],
    registry=REGISTRY,
)

JOBS_FINISHED = Counter(
    "seedpipe_jobs_finished",
    "Jobs that finished, by job type and final status",
    ["job_type", "status"],
    registry=REGISTRY,
)
JOB_DURATION = Histogram(
    "seedpipe_job_duration_seconds",
    "Run time of finished jobs",
    ["job_type", "status"],
    buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600),
    registry=REGISTRY,
)

INDEX_RECORDS = Counter(
    "seedpipe_index_records",
    "Records the indexer wrote, found stale or failed to write",
    ["status"],
    registry=REGISTRY,
)
INDEX_BATCH_SECONDS = Histogram(
    "seedpipe_index_batch_seconds",
    "Time the indexer took to write one batch of records",
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
SEARCH_SECONDS = Histogram(
    "seedpipe_search_seconds",
    "Latency of catalogue searches served by the API, by route",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
    registry=REGISTRY,
)

# What an ingest status counts as (ingest's ledger keeps the statuses; the ground the counters).
_BY_INGEST_STATUS = {
    "INGESTED": FILES_INGESTED,
    "DEFERRED": FILES_DEFERRED,
    "ERRORED": FILES_ERRORED,
    "DUPLICATE": FILES_DUPLICATE,
}


def count_ingest(strike: str, status: str) -> None:
    """Count one ingest that reached a final ``status`` (other statuses are not counted)."""
    counter = _BY_INGEST_STATUS.get(status)
    if counter is not None:
        counter.labels(strike=strike).inc()


def count_job(job_type: str, status: str, duration_s: float | None) -> None:
    JOBS_FINISHED.labels(job_type=job_type, status=status).inc()
    if duration_s is not None and duration_s >= 0:
        JOB_DURATION.labels(job_type=job_type, status=status).observe(duration_s)
