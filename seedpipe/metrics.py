"""The Prometheus metrics every service increments (defined once here, served at /metrics).

prometheus-client is imported on first use, not when a service module is imported (it pulls in
http.server and friends: ~80 ms a command that never counts anything should not pay). Label
values come from settings and validated envelopes (strike, topic, group and job type names),
never from file names or free text, so the series stay few.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

_lock = threading.Lock()
_registry: list[CollectorRegistry] = []
_defined: list[Metric] = []


class Metric:
    """A metric of prometheus-client, made (with every other one) the first time it is used."""

    def __init__(
        self, kind: str, name: str, doc: str, labels: tuple[str, ...] = (), **options: Any
    ) -> None:
        self.kind, self.name, self.doc, self.label_names = kind, name, doc, labels
        self.options = options
        self._real: Any = None
        _defined.append(self)

    @property
    def real(self) -> Any:
        if self._real is None:
            registry()
        return self._real

    def labels(self, **values: str) -> Any:
        return self.real.labels(**values)

    def time(self) -> Any:
        return self.real.time()

    def observe(self, value: float) -> None:
        self.real.observe(value)


def registry() -> CollectorRegistry:
    """The process's registry with every metric defined here in it."""
    with _lock:
        if not _registry:
            import prometheus_client

            made = prometheus_client.CollectorRegistry(auto_describe=True)
            for m in _defined:
                cls = getattr(prometheus_client, m.kind)
                m._real = cls(m.name, m.doc, m.label_names, registry=made, **m.options)
            _registry.append(made)
        return _registry[0]


FILES_INGESTED = Metric(
    "Counter", "seedpipe_files_ingested", "Files ingested by a strike (placed and recorded)",
    ("strike",),
)  # fmt: skip
FILES_DEFERRED = Metric(
    "Counter", "seedpipe_files_deferred", "Files no ingest rule matched, moved aside by a strike",
    ("strike",),
)  # fmt: skip
FILES_ERRORED = Metric(
    "Counter", "seedpipe_files_errored", "Files a strike failed to ingest", ("strike",)
)
FILES_DUPLICATE = Metric(
    "Counter", "seedpipe_files_duplicate", "Files a strike recognised as duplicates", ("strike",)
)
EVENTS_PUBLISHED = Metric(
    "Counter", "seedpipe_events_published", "Records appended to a topic (events and dead letters)",
    ("topic",),
)  # fmt: skip
EVENTS_CONSUMED = Metric(
    "Counter", "seedpipe_events_consumed", "Events a consumer group handled", ("topic", "group")
)
EVENTS_DEAD_LETTERED = Metric(
    "Counter", "seedpipe_events_dead_lettered",
    "Events sent to <topic>.dlq, by the topic they came from", ("topic", "stage"),
)  # fmt: skip
CONSUMER_LAG = Metric(
    "Gauge", "seedpipe_consumer_lag",
    "Records on a topic not yet handled by a consumer group (as this process last saw it)",
    ("group", "topic"),
)  # fmt: skip
JOBS_FINISHED = Metric(
    "Counter", "seedpipe_jobs_finished", "Jobs that finished, by job type and final status",
    ("job_type", "status"),
)  # fmt: skip
JOB_DURATION = Metric(
    "Histogram", "seedpipe_job_duration_seconds", "Run time of finished jobs",
    ("job_type", "status"),
    buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600),
)  # fmt: skip
INDEX_RECORDS = Metric(
    "Counter", "seedpipe_index_records",
    "Records the indexer wrote, found stale or failed to write", ("status",),
)  # fmt: skip
INDEX_BATCH_SECONDS = Metric(
    "Histogram", "seedpipe_index_batch_seconds",
    "Time the indexer took to write one batch of records",
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)  # fmt: skip
SEARCH_SECONDS = Metric(
    "Histogram", "seedpipe_search_seconds",
    "Latency of catalogue searches served by the API, by route", ("route",),
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)  # fmt: skip

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
