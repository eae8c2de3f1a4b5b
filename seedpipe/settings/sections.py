"""Settings sections of the shared seams: workspaces, the bus (Kafka, SQLite) and the index."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WorkspaceSettings(_Section):
    """A named place files live: ``file:///root`` or ``s3://bucket/prefix``."""

    url: str
    base_url: str | None = Field(default=None, description="public URL prefix for records' url")
    endpoint_url: str | None = Field(default=None, description="S3-compatible endpoint (MinIO)")
    region: str | None = None
    access_key_id: SecretStr | None = None
    secret_access_key: SecretStr | None = None
    presign_expiry_s: int = Field(default=3600, ge=1, le=7 * 24 * 3600)
    multipart_threshold_mib: int = Field(default=64, ge=5)


class KafkaSettings(_Section):
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    enable_idempotence: bool = Field(
        default=False, description="off by default: some Kafka-protocol brokers refuse it"
    )
    linger_ms: int = Field(default=5, ge=0)
    partitions: int = Field(default=6, ge=1)
    replication_factor: int = Field(default=1, ge=1)
    client_id: str = "seedpipe"
    session_timeout_ms: int = Field(
        default=10000, ge=1000, description="a silent member leaves; tansu delays joins by half"
    )
    heartbeat_interval_ms: int = Field(default=3000, ge=100)
    fetch_max_wait_ms: int = Field(
        default=50, ge=1, description="bounds idle latency on brokers that hold fetches (tansu)"
    )
    max_poll_interval_ms: int = Field(
        default=300000,
        ge=1000,
        description="a member handling one event longer leaves the group; with capture.commit "
        "finished it must exceed the longest job timeout x max_attempts",
    )


class SqliteBusSettings(_Section):
    partitions: int = Field(default=4, ge=1, le=256, description="for topics created from now on")
    synchronous: Literal["NORMAL", "FULL"] = Field(
        default="FULL", description="FULL fsyncs each commit: survives power loss, not just kill -9"
    )
    poll_interval_s: float = Field(default=0.05, gt=0, description="cross-process wake-up")
    session_timeout_s: float = Field(default=10.0, gt=0, description="then a share moves")
    retention_hours: float | None = Field(
        default=None,
        gt=0,
        description="delete events older than this (checked as events are published); none "
        "keeps the whole log, which `seedpipe reindex` replays",
    )


# The prefix that names things as they are: topics seedpipe.X, bare consumer-group names.
DEFAULT_TOPIC_PREFIX = "seedpipe"


class BusSettings(_Section):
    url: str = "sqlite:///events.db"
    topic_prefix: str = Field(
        default=DEFAULT_TOPIC_PREFIX,
        description="topics seedpipe.X become <prefix>.X; on Kafka the consumer groups become "
        "<prefix>.<group> as well, so deployments sharing a cluster share no group",
    )
    max_attempts: int = Field(default=5, ge=1, description="handler tries before the DLQ")
    backoff_initial_s: float = Field(default=0.2, ge=0)
    backoff_max_s: float = Field(default=10.0, ge=0)
    max_event_bytes: int = Field(default=1024 * 1024, ge=1024)
    batch_size: int = Field(default=500, ge=1)
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    sqlite: SqliteBusSettings = Field(default_factory=SqliteBusSettings)


class ElasticsearchSettings(_Section):
    index_prefix: str = "seedpipe"
    username: str | None = None
    password: SecretStr | None = None
    api_key: SecretStr | None = None
    ca_certs: str | None = None
    verify_certs: bool = True
    request_timeout_s: float = 30.0
    refresh: Literal["false", "wait_for", "true"] = Field(
        default="false",
        description="when writes become searchable: false (the refresh interval), wait_for "
        "(each write waits for it), true (at once, costly: tests)",
    )


class IndexSettings(_Section):
    url: str = "sqlite:///index.db"
    elasticsearch: ElasticsearchSettings = Field(default_factory=ElasticsearchSettings)
    opensearch: ElasticsearchSettings = Field(
        default_factory=ElasticsearchSettings, description="the same keys, for opensearch://"
    )
