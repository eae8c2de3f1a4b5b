"""An S3 drop prefix fed by S3 event notifications via SQS (direct or SNS-wrapped) and listing."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from typing import IO, Any
from urllib.parse import unquote_plus, urlsplit

from ingest.completeness import is_hidden
from ingest.drops.base import Content, Drop, DropStat, Notify, hash_stream
from seedpipe.aws import describe_error, error_code, s3_client, sqs_client
from seedpipe.errors import ConfigError, InvalidInput
from seedpipe.settings import StrikeSettings

log = logging.getLogger(__name__)

NOT_FOUND = frozenset({"404", "NoSuchKey", "NotFound"})
TAKEN = frozenset({"412", "PreconditionFailed", "409", "ConditionalRequestConflict"})
# Leases of drop objects, one per object version, under the drop (hidden: never ingested).
CLAIMS = ".seedpipe-claims"
LEASE_S = 900.0  # a copy that died holding a lease frees it after this long
LOST_S = 60.0  # a lease seen held by another copy is not asked for again for this long


def parse_notification(body: str) -> list[tuple[str, str]]:
    """``(bucket, key)`` of the objects an SQS message says were created.

    Accepts S3's own message, the same wrapped in an SNS notification, and S3's test event;
    raises InvalidInput naming the field that is wrong.
    """
    try:
        doc = json.loads(body)
    except ValueError as exc:
        raise InvalidInput(f"message body is not JSON: {exc}", field="Body") from exc
    if isinstance(doc, dict) and doc.get("Type") == "Notification":
        inner = doc.get("Message")
        if not isinstance(inner, str):
            raise InvalidInput("an SNS notification must carry a string Message", field="Message")
        try:
            doc = json.loads(inner)
        except ValueError as exc:
            raise InvalidInput(f"SNS Message is not JSON: {exc}", field="Message") from exc
    if not isinstance(doc, dict):
        raise InvalidInput("an S3 notification must be a JSON object", field="$")
    if doc.get("Event") == "s3:TestEvent":
        return []
    records = doc.get("Records")
    if not isinstance(records, list):
        raise InvalidInput("missing or not a list", field="Records")
    out = []
    for i, rec in enumerate(records):
        name = rec.get("eventName") if isinstance(rec, dict) else None
        if not isinstance(name, str):
            raise InvalidInput("missing", field=f"Records[{i}].eventName")
        if not name.startswith("ObjectCreated"):
            continue
        s3 = rec.get("s3") if isinstance(rec, dict) else None
        bucket = s3.get("bucket", {}).get("name") if isinstance(s3, dict) else None
        key = s3.get("object", {}).get("key") if isinstance(s3, dict) else None
        if not isinstance(bucket, str) or not bucket:
            raise InvalidInput("missing", field=f"Records[{i}].s3.bucket.name")
        if not isinstance(key, str) or not key:
            raise InvalidInput("missing", field=f"Records[{i}].s3.object.key")
        # S3 sends keys URL-encoded with '+' for spaces.
        out.append((bucket, unquote_plus(key)))
    return out


class S3Drop(Drop):
    """``s3://bucket/prefix``: objects are complete once they exist, so nothing settles."""

    settles = False
    leases = True

    def __init__(self, strike: StrikeSettings) -> None:
        super().__init__(strike.drop)
        parts = urlsplit(strike.drop)
        if not parts.netloc:
            raise ConfigError(f"strikes[{strike.name}].drop: {strike.drop!r} names no bucket")
        self.name = strike.name
        self.bucket = parts.netloc
        prefix = parts.path.lstrip("/")
        self.prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
        self.queue_url = strike.sqs_queue_url
        # who holds a lease: this process, distinct from every other copy of the strike
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex}".encode()
        self._claims: dict[str, str] = {}  # relpath -> the lease key this copy holds
        self._lost: dict[str, float] = {}  # lease key -> when another copy was seen holding it
        self.s3: Any = s3_client(endpoint_url=strike.endpoint_url, region=strike.region)
        self.sqs: Any = (
            sqs_client(endpoint_url=strike.endpoint_url, region=strike.region)
            if self.queue_url
            else None
        )

    @classmethod
    def for_strike(cls, strike: StrikeSettings) -> S3Drop:
        return cls(strike)

    def _relpath(self, key: str) -> str | None:
        if not key.startswith(self.prefix) or key.endswith("/"):
            return None  # elsewhere, or a zero-byte "folder" key
        rel = key[len(self.prefix) :]
        return None if not rel or is_hidden(rel) else rel

    async def watch(self, notify: Notify, rescan: Callable[[], None], stop: asyncio.Event) -> None:
        if self.sqs is None:
            await stop.wait()  # the strike's periodic listing is all there is
            return
        while not stop.is_set():
            try:
                resp = await asyncio.to_thread(
                    self.sqs.receive_message,
                    QueueUrl=self.queue_url,
                    MaxNumberOfMessages=10,
                    WaitTimeSeconds=1,
                )
            except Exception as exc:
                log.warning("strike %s: SQS receive failed: %s", self.name, describe_error(exc))
                await asyncio.sleep(1.0)
                rescan()  # messages may have been missed meanwhile
                continue
            done = []
            for i, msg in enumerate(resp.get("Messages", [])):
                try:
                    for bucket, key in parse_notification(msg.get("Body", "")):
                        rel = self._relpath(key) if bucket == self.bucket else None
                        if rel is not None:
                            notify(rel)
                except InvalidInput as exc:
                    # Dropped, not lost: any object it may have named is found by listing.
                    log.warning("strike %s: ignoring an SQS message: %s", self.name, exc)
                done.append({"Id": str(i), "ReceiptHandle": msg["ReceiptHandle"]})
            if done:
                await asyncio.to_thread(
                    self.sqs.delete_message_batch, QueueUrl=self.queue_url, Entries=done
                )

    def scan(self, prefix: str = "") -> Iterator[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix + prefix
        )
        for page in pages:
            for obj in page.get("Contents", []):
                rel = self._relpath(obj["Key"])
                if rel is not None:
                    yield rel

    def stat(self, relpath: str) -> DropStat | None:
        try:
            head = self.s3.head_object(Bucket=self.bucket, Key=self.prefix + relpath)
        except Exception as exc:
            if error_code(exc) in NOT_FOUND:
                return None
            raise OSError(describe_error(exc)) from None
        mtime_ns = int(head["LastModified"].timestamp() * 1e9)
        return DropStat(int(head["ContentLength"]), mtime_ns)

    def read(self, relpath: str, dst: IO[bytes] | None = None) -> Content:
        try:
            obj = self.s3.get_object(Bucket=self.bucket, Key=self.prefix + relpath)
        except Exception as exc:
            if error_code(exc) in NOT_FOUND:
                raise FileNotFoundError(relpath) from None
            raise OSError(describe_error(exc)) from None
        with obj["Body"] as body:
            return hash_stream(body, dst)

    def delete(self, relpath: str) -> None:
        self.s3.delete_object(Bucket=self.bucket, Key=self.prefix + relpath)

    def set_aside(self, relpath: str, area: str, name: str | None = None) -> str:
        target = f"{area}/{name or relpath}"
        src = {"Bucket": self.bucket, "Key": self.prefix + relpath}
        try:
            self.s3.copy_object(Bucket=self.bucket, Key=self.prefix + target, CopySource=src)
        except Exception as exc:
            raise OSError(describe_error(exc)) from None
        self.delete(relpath)
        return target

    def claim(self, relpath: str) -> bool:
        """Lease this object version with one conditional write (``If-None-Match: *``): of the
        strike copies that see it (one SQS queue, listings), exactly one ingests it. A lease
        older than LEASE_S is taken over with ``If-Match``, so a dead copy blocks nothing."""
        try:
            head = self.s3.head_object(Bucket=self.bucket, Key=self.prefix + relpath)
        except Exception as exc:
            if error_code(exc) in NOT_FOUND:
                return False  # gone: ingested by another copy meanwhile
            raise OSError(describe_error(exc)) from None
        version = f"{head['ETag'].strip(chr(34))}-{int(head['LastModified'].timestamp() * 1e6)}"
        key = f"{self.prefix}{CLAIMS}/{relpath}@{version}"
        if time.monotonic() - self._lost.get(key, -LOST_S) < LOST_S:
            return False  # another copy has it (looked lately): listings need not ask again
        if self._put_lease(key, IfNoneMatch="*"):
            self._claims[relpath] = key
            return True
        try:
            held = self.s3.get_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            if error_code(exc) in NOT_FOUND:
                return self._put_lease(key, IfNoneMatch="*")
            raise OSError(describe_error(exc)) from None
        with held["Body"] as body:
            owner = body.read(256)
        if owner != self.owner:
            if time.time() - held["LastModified"].timestamp() < LEASE_S:
                if len(self._lost) > 100_000:
                    self._lost.clear()
                self._lost[key] = time.monotonic()
                return False
            log.warning("strike %s: taking over the expired lease on %s", self.name, relpath)
            if not self._put_lease(key, IfMatch=held["ETag"]):
                return False
        self._claims[relpath] = key
        return True

    def release(self, relpath: str) -> None:
        # The object has left the drop first, so a copy that looks now finds nothing to claim.
        key = self._claims.pop(relpath, None)
        if key is not None:
            try:
                self.s3.delete_object(Bucket=self.bucket, Key=key)
            except Exception as exc:  # a leftover lease only costs a takeover later
                log.warning("strike %s: could not release %s: %s", self.name, key,
                            describe_error(exc))  # fmt: skip

    def _put_lease(self, key: str, **condition: str) -> bool:
        try:
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=self.owner, **condition)
        except Exception as exc:
            if error_code(exc) in TAKEN:
                return False
            raise OSError(describe_error(exc)) from None
        return True

    def close(self) -> None:
        self.s3.close()
        if self.sqs is not None:
            self.sqs.close()
