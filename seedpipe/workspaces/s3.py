"""``s3://bucket/prefix`` workspaces via boto3: multipart puts, server-side moves, presigning."""

from __future__ import annotations

import logging
import mimetypes
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import cached_property
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO, NoReturn, cast
from urllib.parse import quote

from seedpipe.aws import describe_error, error_code, s3_client
from seedpipe.checksum import (
    ChainReader,
    HashingReader,
    Readable,
    copy_and_hash,
    hash_bytes,
    read_up_to,
)
from seedpipe.errors import InvalidInput, WorkspaceError, WorkspaceFileNotFound
from seedpipe.settings import WorkspaceSettings
from seedpipe.workspaces.base import ObjectInfo, Workspace
from seedpipe.workspaces.s3keys import object_key, parse_s3_url

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)

MIB = 1024 * 1024
# Parts of a streamed multipart upload are buffered in memory: keep them modest.
PART_SIZE = 8 * MIB
MAX_CONCURRENCY = 4
_MISSING = {"404", "NoSuchKey", "NotFound"}


def _server_time(response: Any) -> datetime:
    date = response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
    try:
        return parsedate_to_datetime(date).astimezone(UTC)
    except (TypeError, ValueError):
        return datetime.now(UTC)


def _etag(value: Any) -> str | None:
    return str(value).strip('"') if value else None


class S3Workspace(Workspace):
    """Objects under ``prefix`` in one bucket; keys are the workspace paths."""

    page_size = 1000  # S3's own maximum per ListObjectsV2 page

    def __init__(self, name: str, settings: WorkspaceSettings) -> None:
        super().__init__(name, settings)
        self.bucket, self.prefix = parse_s3_url(settings.url)
        self.threshold = settings.multipart_threshold_mib * MIB

    @cached_property
    def client(self) -> S3Client:
        s = self.settings
        return s3_client(
            endpoint_url=s.endpoint_url,
            region=s.region,
            access_key_id=s.access_key_id,
            secret_access_key=s.secret_access_key,
        )

    @cached_property
    def transfer_config(self) -> Any:
        from boto3.s3.transfer import TransferConfig

        return TransferConfig(
            multipart_threshold=self.threshold,
            multipart_chunksize=max(5 * MIB, min(PART_SIZE, self.threshold)),
            max_concurrency=MAX_CONCURRENCY,
        )

    def _key(self, path: str, field: str = "path") -> tuple[str, str]:
        return object_key(self.prefix, path, field=field)

    def _fail(self, action: str, rel: str, exc: Exception) -> NoReturn:
        # describe_error keeps only the operation and error code: no request, no credentials.
        if error_code(exc) in _MISSING:
            raise WorkspaceFileNotFound(f"{self.name}: {rel!r} does not exist") from exc
        msg = f"{self.name}: cannot {action} {rel!r}: {describe_error(exc)}"
        raise WorkspaceError(msg) from exc

    def _errors(self) -> tuple[type[Exception], ...]:
        from botocore.exceptions import BotoCoreError, ClientError

        return (ClientError, BotoCoreError)

    # -- operations ------------------------------------------------------------------------

    def put_stream(self, src: Readable, path: str) -> ObjectInfo:
        rel, key = self._key(path)
        head = read_up_to(src, self.threshold)
        if len(head) < self.threshold:
            return self._put_small(rel, key, head)
        reader = HashingReader(ChainReader(head, src))
        extra = self._extra_args(rel)
        try:
            # Not seekable, so the transfer manager reads it once, in order, part by part.
            self.client.upload_fileobj(
                cast(IO[bytes], reader),
                self.bucket,
                key,
                ExtraArgs=extra,
                Config=self.transfer_config,
            )
        except self._errors() as exc:
            self._fail("write", rel, exc)
        info = self.stat(rel)
        log.debug("put %s/%s (%d bytes, multipart)", self.name, rel, reader.size)
        return ObjectInfo(rel, reader.size, info.modified, info.etag, reader.checksum)

    def _put_small(self, rel: str, key: str, data: bytes) -> ObjectInfo:
        try:
            resp = self.client.put_object(
                Bucket=self.bucket, Key=key, Body=data, **self._extra_args(rel)
            )
        except self._errors() as exc:
            self._fail("write", rel, exc)
        log.debug("put %s/%s (%d bytes)", self.name, rel, len(data))
        return ObjectInfo(
            rel, len(data), _server_time(resp), _etag(resp.get("ETag")), hash_bytes(data)
        )

    def _extra_args(self, rel: str) -> dict[str, Any]:
        media_type, _ = mimetypes.guess_type(rel, strict=False)
        return {"ContentType": media_type or "application/octet-stream"}

    def open(self, path: str) -> BinaryIO:
        rel, key = self._key(path)
        try:
            body = cast(BinaryIO, self.client.get_object(Bucket=self.bucket, Key=key)["Body"])
        except self._errors() as exc:
            self._fail("open", rel, exc)
        return body

    def stage(self, path: str, dest: Path, *, link: bool = True) -> Path:
        rel, key = self._key(path)
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.parent / f".sp-{uuid.uuid4().hex}.seedpipe-tmp"
        try:
            resp = self.client.get_object(Bucket=self.bucket, Key=key)
            body = resp["Body"]
            if resp.get("ContentLength", 0) >= self.threshold:
                # Large: ranged GETs in parallel beat one stream.
                body.close()
                self.client.download_file(self.bucket, key, str(tmp), Config=self.transfer_config)
            else:
                with body, open(tmp, "wb") as fh:
                    copy_and_hash(body, fh)
            os.replace(tmp, dest)
        except self._errors() as exc:
            tmp.unlink(missing_ok=True)
            self._fail("stage", rel, exc)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return dest

    def move(self, src: str, dst: str) -> ObjectInfo:
        src_rel, src_key = self._key(src, "src")
        dst_rel, dst_key = self._key(dst, "dst")
        info = self.stat(src_rel)
        if src_key == dst_key:
            return info
        source: Any = {"Bucket": self.bucket, "Key": src_key}
        try:
            if info.size < self.threshold:
                self.client.copy_object(
                    Bucket=self.bucket, Key=dst_key, CopySource=source, MetadataDirective="COPY"
                )
            else:
                # Managed copy: multipart UploadPartCopy, needed past 5 GiB.
                self.client.copy(source, self.bucket, dst_key, Config=self.transfer_config)
            self.client.delete_object(Bucket=self.bucket, Key=src_key)
        except self._errors() as exc:
            self._fail("move", src_rel, exc)
        return self.stat(dst_rel)

    def delete(self, path: str) -> None:
        rel, key = self._key(path)
        try:
            self.client.delete_object(Bucket=self.bucket, Key=key)
        except self._errors() as exc:
            if error_code(exc) not in _MISSING:
                self._fail("delete", rel, exc)

    def stat(self, path: str) -> ObjectInfo:
        rel, key = self._key(path)
        try:
            resp = self.client.head_object(Bucket=self.bucket, Key=key)
        except self._errors() as exc:
            self._fail("stat", rel, exc)
        modified = resp["LastModified"].astimezone(UTC)
        return ObjectInfo(rel, int(resp["ContentLength"]), modified, _etag(resp.get("ETag")))

    def list(self, prefix: str = "", *, recursive: bool = True) -> Iterator[ObjectInfo]:
        base = "" if prefix.strip("/") in ("", ".") else self._key(prefix, "prefix")[1]
        base = base or self.prefix
        list_prefix = f"{base}/" if base else ""
        kwargs: dict[str, Any] = {
            "Bucket": self.bucket,
            "Prefix": list_prefix,
            "PaginationConfig": {"PageSize": self.page_size},
        }
        if not recursive:
            kwargs["Delimiter"] = "/"
        root = f"{self.prefix}/" if self.prefix else ""
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(**kwargs):
                for obj in page.get("Contents", []):
                    info = self._listed(root, obj)
                    if info is not None:
                        yield info
        except self._errors() as exc:
            self._fail("list", prefix or "/", exc)

    def _listed(self, root: str, obj: Any) -> ObjectInfo | None:
        key: str = obj["Key"]
        rel = key[len(root) :]
        if key.endswith("/"):
            return None  # a "folder" marker written by consoles, not a file
        try:
            if object_key("", rel, field="key")[0] != rel:
                raise InvalidInput("is not in normal form", field="key")
        except InvalidInput:
            # Keys written by others with '..', '//' or control characters cannot be named
            # through this API, so listing them would only hand out paths that fail.
            log.warning("skipping S3 key %r in %s: not a clean relative path", key, self.name)
            return None
        modified = obj["LastModified"].astimezone(UTC)
        return ObjectInfo(rel, int(obj["Size"]), modified, _etag(obj.get("ETag")))

    def sweep_temporaries(self, max_age_s: float = 3600.0) -> int:
        # Parts of an upload that never completed are stored (and billed) until aborted.
        cutoff = datetime.now(UTC).timestamp() - max_age_s
        removed = 0
        root = f"{self.prefix}/" if self.prefix else ""
        try:
            pages = self.client.get_paginator("list_multipart_uploads")
            for page in pages.paginate(Bucket=self.bucket, Prefix=root):
                for up in page.get("Uploads", []):
                    if up["Initiated"].timestamp() <= cutoff:
                        self.client.abort_multipart_upload(
                            Bucket=self.bucket, Key=up["Key"], UploadId=up["UploadId"]
                        )
                        removed += 1
        except self._errors() as exc:
            self._fail("sweep", root or "/", exc)
        if removed:
            log.info("aborted %d stale multipart uploads in %s", removed, self.name)
        return removed

    def uri(self, path: str) -> str:
        return f"s3://{self.bucket}/{quote(self._key(path)[1], safe='/')}"

    def url_for(self, path: str) -> str | None:
        if self.settings.base_url:
            return self.record_url(path)
        rel, key = self._key(path)
        try:
            url: str = self.client.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.bucket, "Key": key},
                ExpiresIn=self.settings.presign_expiry_s,
            )
        except self._errors() as exc:
            self._fail("presign", rel, exc)
        return url
