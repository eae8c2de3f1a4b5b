"""Unit tests of S3 event notification parsing (direct, SNS-wrapped, test events, bad input)."""

from __future__ import annotations

import json

import pytest

from ingest.drops.s3 import parse_notification
from seedpipe.errors import InvalidInput


def s3_message(key: str, event: str = "ObjectCreated:Put") -> dict:
    return {
        "Records": [{"eventName": event, "s3": {"bucket": {"name": "b"}, "object": {"key": key}}}]
    }


def test_keys_are_url_decoded():
    assert parse_notification(json.dumps(s3_message("drop%2Fa+b%C3%BC.txt"))) == [
        ("b", "drop/a bü.txt")
    ]


def test_sns_wrapped_messages_are_unwrapped():
    body = {"Type": "Notification", "Message": json.dumps(s3_message("k"))}
    assert parse_notification(json.dumps(body)) == [("b", "k")]


def test_test_events_and_removals_announce_nothing():
    assert parse_notification(json.dumps({"Event": "s3:TestEvent", "Bucket": "b"})) == []
    assert parse_notification(json.dumps(s3_message("k", "ObjectRemoved:Delete"))) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("not json", "Body"),
        (json.dumps({"Type": "Notification", "Message": 3}), "Message"),
        (json.dumps({"Records": "x"}), "Records"),
        (json.dumps({"Records": [{"s3": {}}]}), r"Records\[0\]\.eventName"),
        (json.dumps({"Records": [{"eventName": "ObjectCreated:Put", "s3": {}}]}), "bucket.name"),
        (json.dumps(s3_message("")), "object.key"),
    ],
)
def test_bad_messages_name_the_field(body, field):
    with pytest.raises(InvalidInput, match=field):
        parse_notification(body)
