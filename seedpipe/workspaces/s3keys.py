"""S3 bucket, prefix and key rules, checked before any request is made."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from seedpipe.errors import ConfigError, InvalidInput
from seedpipe.paths import safe_relpath

MAX_KEY_BYTES = 1024
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def parse_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` → (bucket, normalised prefix without slashes at either end)."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "s3":
        raise ConfigError(f"not an s3:// URL: {url!r}")
    bucket = parts.netloc
    if not _BUCKET_RE.match(bucket) or ".." in bucket:
        raise ConfigError(f"{url!r}: {bucket!r} is not a valid S3 bucket name")
    if parts.query or parts.fragment:
        raise ConfigError(f"{url!r}: an s3:// URL takes no query or fragment")
    prefix = parts.path.strip("/")
    if prefix:
        prefix = safe_relpath(prefix, field="url")
    return bucket, prefix


def object_key(prefix: str, path: str, *, field: str = "path") -> tuple[str, str]:
    """(normalised relative path, full key) after S3's rules: ≤ 1024 bytes of UTF-8."""
    rel = safe_relpath(path, field=field)
    if _CONTROL_RE.search(rel):
        # XML listings and many S3 tools mangle control characters (AWS advises avoiding them).
        raise InvalidInput("contains a control character, which S3 keys must not", field=field)
    key = f"{prefix}/{rel}" if prefix else rel
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidInput("is not valid UTF-8 text", field=field) from None
    if size > MAX_KEY_BYTES:
        msg = f"makes an S3 key of {size} bytes (at most {MAX_KEY_BYTES})"
        raise InvalidInput(msg, field=field)
    return rel, key
