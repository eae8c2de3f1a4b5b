"""boto3 S3 and SQS clients built from endpoint, region and optional credentials."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from seedpipe.errors import ConfigError, MissingDependency

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

DEFAULT_REGION = "us-east-1"


def _secret(value: SecretStr | str | None) -> str | None:
    if value is None:
        return None
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def _session(
    region: str | None,
    access_key_id: SecretStr | str | None,
    secret_access_key: SecretStr | str | None,
) -> Any:
    try:
        import boto3.session
    except ImportError as exc:
        raise MissingDependency("boto3", "pip install boto3") from exc
    key, secret = _secret(access_key_id), _secret(secret_access_key)
    if bool(key) != bool(secret):
        # Name the settings, never their values.
        raise ConfigError("access_key_id and secret_access_key must be set together (or neither)")
    # A session per client: boto3's default session is not thread-safe to create clients from.
    # Without explicit keys boto3 walks its standard chain (env, profile, instance role).
    return boto3.session.Session(
        aws_access_key_id=key or None,
        aws_secret_access_key=secret or None,
        region_name=region or None,
    )


def _config(*, path_style: bool, max_pool: int) -> Any:
    from botocore.config import Config

    return Config(
        signature_version="s3v4",
        retries={"mode": "standard", "max_attempts": 5},
        max_pool_connections=max_pool,
        # MinIO and moto serve buckets by path; AWS serves both.
        s3={"addressing_style": "path" if path_style else "auto"},
    )


def s3_client(
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
    access_key_id: SecretStr | str | None = None,
    secret_access_key: SecretStr | str | None = None,
    max_pool: int = 16,
) -> S3Client:
    """An S3 client; ``endpoint_url`` points it at MinIO or any S3-compatible store."""
    session = _session(region, access_key_id, secret_access_key)
    client: S3Client = session.client(
        "s3",
        endpoint_url=endpoint_url or None,
        region_name=region or session.region_name or DEFAULT_REGION,
        config=_config(path_style=bool(endpoint_url), max_pool=max_pool),
    )
    return client


def sqs_client(
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
    access_key_id: SecretStr | str | None = None,
    secret_access_key: SecretStr | str | None = None,
) -> SQSClient:
    """An SQS client (S3 event notifications for drop prefixes)."""
    session = _session(region, access_key_id, secret_access_key)
    client: SQSClient = session.client(
        "sqs",
        endpoint_url=endpoint_url or None,
        region_name=region or session.region_name or DEFAULT_REGION,
        config=_config(path_style=False, max_pool=10),
    )
    return client


def error_code(exc: BaseException) -> str | None:
    """The S3/SQS error code of a botocore ClientError (``NoSuchKey``, ``404``...), else None."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code is not None else None
    return None


def describe_error(exc: BaseException) -> str:
    """A short, secret-free description of a boto error: its class and code, not its request."""
    code = error_code(exc)
    if code is not None:
        message = getattr(exc, "response", {}).get("Error", {}).get("Message") or ""
        op = getattr(exc, "operation_name", "") or "request"
        return f"{op} failed: {code}" + (f" ({message})" if message else "")
    name = type(exc).__name__
    if name in ("NoCredentialsError", "PartialCredentialsError"):
        return "no AWS credentials found (set them in the workspace settings or the AWS chain)"
    if name == "EndpointConnectionError":
        return "cannot connect to the S3 endpoint"
    return name
