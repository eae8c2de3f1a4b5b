"""S3 drops fed by SQS notifications and listing, and S3 workspaces, on a moto server."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from ingest.ledger import Ledger
from ingest.service import IngestService
from seedpipe.aws import s3_client, sqs_client
from seedpipe.bus import open_bus
from seedpipe.settings import Settings

pytestmark = pytest.mark.s3


def clients(endpoint: str):
    return s3_client(endpoint_url=endpoint), sqs_client(endpoint_url=endpoint)


def make_queue(sqs, name: str, bucket: str | None, s3=None) -> str:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    if bucket and s3 is not None:
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        s3.put_bucket_notification_configuration(
            Bucket=bucket,
            NotificationConfiguration={
                "QueueConfigurations": [
                    {"QueueArn": arn["Attributes"]["QueueArn"], "Events": ["s3:ObjectCreated:*"]}
                ]
            },
        )
    return url


def settings_for(tmp: Path, strike: dict, workspaces: dict | None = None) -> Settings:
    return Settings(
        config_dir=str(tmp),
        data_dir=str(tmp / "data"),
        bus={"url": "sqlite:///events.db"},
        workspaces=workspaces or {"ws": {"url": str(tmp / "ws")}},
        strikes=[strike],
    )


async def run_until(settings: Settings, done_count: int, action) -> Ledger:
    stop = asyncio.Event()
    async with open_bus(settings.bus) as bus:
        task = asyncio.create_task(IngestService(settings, bus).run(stop))
        await asyncio.sleep(0.3)  # let the start-up listing pass first
        await asyncio.to_thread(action)
        ledger = Ledger(settings.path("ingest.db"))
        deadline = time.monotonic() + 30
        while sum(1 for r in ledger.find(limit=1000) if r.published) < done_count:
            assert not task.done(), task.exception()
            assert time.monotonic() < deadline, ledger.counts()
            await asyncio.sleep(0.05)
        stop.set()
        await task
    return ledger


async def test_objects_announced_through_sqs_are_ingested_once(
    tmp_path, moto_endpoint, s3_bucket, unique
):
    s3, sqs = clients(moto_endpoint)
    queue = make_queue(sqs, f"q-{unique}", s3_bucket, s3)
    strike = {
        "name": "s3drop",
        "drop": f"s3://{s3_bucket}/drop",
        "workspace": "ws",
        "sqs_queue_url": queue,
        "endpoint_url": moto_endpoint,
        "list_interval_s": 3600,
    }

    def put() -> None:
        s3.put_object(Bucket=s3_bucket, Key="drop/a b.txt", Body=b"spaced")
        s3.put_object(Bucket=s3_bucket, Key="drop/sub/ünï.txt", Body=b"unicode")
        s3.put_object(Bucket=s3_bucket, Key="drop/zero.dat", Body=b"")
        s3.put_object(Bucket=s3_bucket, Key="drop/folder/", Body=b"")  # a "folder": skipped
        s3.put_object(Bucket=s3_bucket, Key="elsewhere/x.txt", Body=b"not ours")

    ledger = await run_until(settings_for(tmp_path, strike), 3, put)
    rows = ledger.find(limit=100)
    assert sorted(r.source for r in rows) == ["a b.txt", "sub/ünï.txt", "zero.dat"]
    assert {r.status for r in rows} == {"INGESTED"}
    assert (tmp_path / "ws" / "a b.txt").read_bytes() == b"spaced"
    assert (tmp_path / "ws" / "zero.dat").read_bytes() == b""
    left = {o["Key"] for o in s3.list_objects_v2(Bucket=s3_bucket).get("Contents", [])}
    assert left == {"drop/folder/", "elsewhere/x.txt"}
    ledger.close()


async def test_sns_wrapped_messages_and_listing_both_find_objects(
    tmp_path, moto_endpoint, s3_bucket, unique
):
    s3, sqs = clients(moto_endpoint)
    queue = make_queue(sqs, f"q-{unique}", None)
    strike = {
        "name": "s3drop",
        "drop": f"s3://{s3_bucket}/in/",
        "workspace": "ws",
        "sqs_queue_url": queue,
        "endpoint_url": moto_endpoint,
        "list_interval_s": 0.5,
    }

    def put() -> None:
        s3.put_object(Bucket=s3_bucket, Key="in/announced.txt", Body=b"sns")
        record = {
            "eventName": "ObjectCreated:Put",
            "s3": {"bucket": {"name": s3_bucket}, "object": {"key": "in/announced.txt"}},
        }
        wrapped = {"Type": "Notification", "Message": json.dumps({"Records": [record]})}
        sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(wrapped))
        sqs.send_message(QueueUrl=queue, MessageBody="garbage that is not JSON")
        s3.put_object(Bucket=s3_bucket, Key="in/listed-only.txt", Body=b"listed")

    ledger = await run_until(settings_for(tmp_path, strike), 2, put)
    assert sorted(r.source for r in ledger.find(status="INGESTED")) == [
        "announced.txt",
        "listed-only.txt",
    ]
    assert len(ledger.find(limit=100)) == 2
    ledger.close()


async def test_a_local_drop_is_copied_into_an_s3_workspace_then_deleted(
    tmp_path, moto_endpoint, s3_bucket
):
    s3, _ = clients(moto_endpoint)
    drop = tmp_path / "drop"
    drop.mkdir()
    workspaces = {"s3ws": {"url": f"s3://{s3_bucket}/store", "endpoint_url": moto_endpoint}}
    strike = {"name": "local", "drop": str(drop), "workspace": "s3ws", "settle_s": 0.1}

    def put() -> None:
        (drop / "scene 1.tif").write_bytes(b"II*\x00" + b"\x00" * 100)

    ledger = await run_until(settings_for(tmp_path, strike, workspaces), 1, put)
    [row] = ledger.find(limit=10)
    assert row.status == "INGESTED" and row.mode == "copy"
    body = s3.get_object(Bucket=s3_bucket, Key="store/scene 1.tif")["Body"].read()
    assert body == b"II*\x00" + b"\x00" * 100 and not (drop / "scene 1.tif").exists()
    ledger.close()


def test_scan_registers_the_objects_of_an_s3_workspace(tmp_path, moto_endpoint, s3_bucket):
    from ingest.scan import scan_workspace

    s3, _ = clients(moto_endpoint)
    for key, body in (("store/a.png", b"\x89PNG\r\n\x1a\n"), ("store/sub/b.txt", b"b")):
        s3.put_object(Bucket=s3_bucket, Key=key, Body=body)
    settings = Settings(
        config_dir=str(tmp_path),
        data_dir=str(tmp_path / "data"),
        workspaces={"s3ws": {"url": f"s3://{s3_bucket}/store", "endpoint_url": moto_endpoint}},
    )
    ledger = Ledger(settings.path("ingest.db"))
    top = scan_workspace(settings, "s3ws", ledger)
    assert (top.found, top.ingested) == (1, 1)
    deep = scan_workspace(settings, "s3ws", ledger, recursive=True)
    assert (deep.found, deep.ingested, deep.known) == (2, 1, 1)
    rows = {r.file_path: r for r in ledger.find(status="INGESTED")}
    assert rows["a.png"].media_type == "image/png" and set(rows) == {"a.png", "sub/b.txt"}
    assert len(ledger.outbox()) == 2
    ledger.close()
