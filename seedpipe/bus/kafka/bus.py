"""The distributed event bus: Kafka (or any Kafka-protocol broker) via aiokafka."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError
from aiokafka.partitioner import DefaultPartitioner

from seedpipe.bus.base import EventBus, Source
from seedpipe.bus.kafka.source import KafkaSource
from seedpipe.errors import BusError, ConfigError
from seedpipe.settings import DEFAULT_TOPIC_PREFIX, BusSettings

log = logging.getLogger(__name__)

TOPIC_ALREADY_EXISTS = 36
BATCH_BYTES = 256 * 1024  # per partition per request; aiokafka's 16 KiB is a few dozen events


def bootstrap_servers(url: str) -> list[str]:
    """``kafka://h1:9092,h2:9092`` → ``["h1:9092", "h2:9092"]`` (port 9092 when left out)."""
    netloc = urlsplit(url).netloc
    if "@" in netloc:
        raise ConfigError("bus.url: put Kafka credentials in [bus.kafka], not in the URL")
    servers = []
    for part in filter(None, (p.strip() for p in netloc.split(","))):
        host, sep, port = part.rpartition(":")
        if not sep:
            host, port = part, "9092"
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(f"bus.url: {part!r} is not host:port")
        servers.append(f"{host}:{port}")
    if not servers:
        raise ConfigError(f"bus.url: {url!r} names no broker (kafka://host:9092[,host:port])")
    return servers


class KafkaBus(EventBus):
    """``kafka://host:port[,host:port]``: keyed records in CloudEvents structured mode."""

    def __init__(self, url: str, settings: BusSettings) -> None:
        super().__init__(url, settings)
        self.servers = bootstrap_servers(url)
        self._producer: AIOKafkaProducer | None = None
        self._known: set[str] = set()
        self._topic_lock = asyncio.Lock()
        self._partitioner = DefaultPartitioner()

    def group_id(self, group: str) -> str:
        """The Kafka group a consumer group goes by: ``<topic_prefix>.<group>`` unless the
        prefix is the default, so deployments sharing a cluster never share a group (and one's
        rebalances and lost members never hold up the other's)."""
        prefix = self.settings.topic_prefix
        return group if prefix == DEFAULT_TOPIC_PREFIX else f"{prefix}.{group}"

    def client_options(self) -> dict[str, Any]:
        """Connection options every client shares: brokers, client id, TLS and SASL."""
        k = self.settings.kafka
        options: dict[str, Any] = {
            "bootstrap_servers": self.servers,
            "client_id": k.client_id,
            "security_protocol": k.security_protocol,
        }
        if k.security_protocol in ("SSL", "SASL_SSL"):
            options["ssl_context"] = ssl_context(k.ssl_cafile, k.ssl_certfile, k.ssl_keyfile)
        if k.security_protocol.startswith("SASL"):
            options["sasl_mechanism"] = k.sasl_mechanism or "PLAIN"
            options["sasl_plain_username"] = k.sasl_username
            if k.sasl_password is not None:
                options["sasl_plain_password"] = k.sasl_password.get_secret_value()
        return options

    async def start(self) -> None:
        if self._producer is not None:
            return
        k = self.settings.kafka
        # Room for a dead letter of a maximal event (base64 plus its envelope).
        request_bytes = max(self.settings.max_event_bytes * 2 + 64 * 1024, BATCH_BYTES)
        producer = AIOKafkaProducer(
            **self.client_options(),
            acks="all",
            linger_ms=k.linger_ms,
            enable_idempotence=k.enable_idempotence,
            max_request_size=request_bytes,
            max_batch_size=min(BATCH_BYTES, request_bytes),
        )
        try:
            await producer.start()
        except KafkaError as exc:
            await producer.stop()
            raise BusError(f"cannot reach Kafka at {','.join(self.servers)}: {exc}") from exc
        self._producer = producer

    async def close(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            await producer.stop()

    def producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            raise BusError("the bus is not started: use 'async with open_bus(...)'")
        return self._producer

    async def ensure_topics(self, topics: Sequence[str]) -> None:
        """Create the topics that do not exist yet (partitions and replication from settings)."""
        missing = [t for t in dict.fromkeys(topics) if t not in self._known]
        if not missing:
            return
        async with self._topic_lock:
            k = self.settings.kafka
            admin = AIOKafkaAdminClient(**self.client_options())
            try:
                await admin.start()
                response = await admin.create_topics(
                    [NewTopic(t, k.partitions, k.replication_factor) for t in missing]
                )
            except KafkaError as exc:
                raise BusError(f"cannot create topics {missing}: {exc}") from exc
            finally:
                await admin.close()
            for topic, code, message, *_ in response.topic_errors:
                if code not in (0, TOPIC_ALREADY_EXISTS):
                    raise BusError(f"cannot create topic {topic!r}: error {code} {message or ''}")
            self._known.update(missing)

    async def _publish_raw(
        self, topic: str, records: Sequence[tuple[bytes | None, bytes]], content_type: str
    ) -> None:
        producer = self.producer()
        await self.ensure_topics([topic])
        headers = [("content-type", content_type.encode("ascii"))]
        try:
            if self.settings.kafka.enable_idempotence:
                futures = [
                    await producer.send(topic, value, key=key, headers=headers)
                    for key, value in records
                ]
            else:
                futures = await self._send_batches(producer, topic, records, headers)
            await asyncio.gather(*futures)
        except KafkaError as exc:
            raise BusError(f"publish to {topic!r} failed: {type(exc).__name__}: {exc}") from exc

    async def _send_batches(
        self,
        producer: AIOKafkaProducer,
        topic: str,
        records: Sequence[tuple[bytes | None, bytes]],
        headers: list[tuple[str, bytes]],
    ) -> list[asyncio.Future[Any]]:
        """Build the record batches ourselves: a third of the CPU of one send() per record.

        Same partitioner as send() (murmur2 of the key), and batches of one partition are
        queued in order, so order per key holds.
        """
        partitions = sorted(await producer.partitions_for(topic))
        building: dict[int, Any] = {}
        futures: list[asyncio.Future[Any]] = []
        for key, value in records:
            partition = self._partitioner(key, partitions, partitions)
            batch = building.get(partition)
            if batch is None:
                batch = building[partition] = producer.create_batch()
            if batch.append(key=key, value=value, timestamp=None, headers=headers) is None:
                futures.append(await producer.send_batch(batch, topic, partition=partition))
                batch = building[partition] = producer.create_batch()
                # An empty batch takes any record; max_request_size is checked by the broker.
                batch.append(key=key, value=value, timestamp=None, headers=headers)
        for partition, batch in building.items():
            futures.append(await producer.send_batch(batch, topic, partition=partition))
        return futures

    async def _open_source(
        self, topics: Sequence[str], group: str, *, from_beginning: bool
    ) -> Source:
        self.producer()
        await self.ensure_topics(topics)
        kafka_group = self.group_id(group)
        # Groups went by their bare name under every prefix until 2026-12: carry on from there.
        inherit = group if kafka_group != group else None
        source = KafkaSource(self, topics, kafka_group, from_beginning, inherit)
        await source.start()
        return source


def ssl_context(cafile: str | None, certfile: str | None, keyfile: str | None) -> ssl.SSLContext:
    from aiokafka.helpers import create_ssl_context

    try:
        context: ssl.SSLContext = create_ssl_context(
            cafile=cafile, certfile=certfile, keyfile=keyfile
        )
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"bus.kafka: cannot load the TLS files: {exc}") from exc
    return context
