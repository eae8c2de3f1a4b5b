"""Strike copies on one S3 drop lease each object with a conditional write: one copy wins."""

from __future__ import annotations

import pytest

from ingest.drops import s3 as watch_s3
from ingest.drops.s3 import S3Drop
from seedpipe.aws import s3_client
from seedpipe.settings import StrikeSettings

pytestmark = pytest.mark.s3


def drop_for(bucket: str, endpoint: str) -> S3Drop:
    strike = StrikeSettings(
        name="shared", drop=f"s3://{bucket}/drop", workspace="ws", endpoint_url=endpoint
    )
    return S3Drop(strike)


def test_of_two_copies_only_one_claims_an_object_and_a_new_version_is_claimable_again(
    moto_endpoint: str, s3_bucket: str
) -> None:
    s3 = s3_client(endpoint_url=moto_endpoint)
    s3.put_object(Bucket=s3_bucket, Key="drop/a.tif", Body=b"one")
    first, second = drop_for(s3_bucket, moto_endpoint), drop_for(s3_bucket, moto_endpoint)
    try:
        assert first.claim("a.tif")
        assert not second.claim("a.tif")
        assert first.claim("a.tif")  # its own lease: a second look does not lose it
        assert list(first.scan()) == ["a.tif"]  # leases are hidden from the strike
        s3.put_object(Bucket=s3_bucket, Key="drop/a.tif", Body=b"two")  # a new version
        assert second.claim("a.tif") and not first.claim("a.tif")
        first.delete("a.tif")  # ingested: gone from the drop, then released
        second.release("a.tif")
        assert not first.claim("a.tif") and not second.claim("a.tif")
    finally:
        first.close()
        second.close()


def test_an_expired_lease_of_a_dead_copy_is_taken_over(
    moto_endpoint: str, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3 = s3_client(endpoint_url=moto_endpoint)
    s3.put_object(Bucket=s3_bucket, Key="drop/b.tif", Body=b"b")
    dead, alive = drop_for(s3_bucket, moto_endpoint), drop_for(s3_bucket, moto_endpoint)
    try:
        assert dead.claim("b.tif")
        assert not alive.claim("b.tif")
        monkeypatch.setattr(watch_s3, "LEASE_S", -1.0)  # the dead copy's lease has run out
        monkeypatch.setattr(watch_s3, "LOST_S", -1.0)  # and the memory of having lost it
        assert alive.claim("b.tif")
    finally:
        dead.close()
        alive.close()
