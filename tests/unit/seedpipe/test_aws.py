"""The shared boto3 client builders and their secret-free error descriptions."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, NoCredentialsError
from pydantic import SecretStr

from seedpipe.aws import describe_error, error_code, s3_client, sqs_client
from seedpipe.errors import ConfigError

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def test_a_client_error_is_described_by_operation_and_code_only():
    response: Any = {
        "Error": {"Code": "SignatureDoesNotMatch", "Message": "check your key"},
        "StringToSign": SECRET,
    }
    exc = ClientError(response, "PutObject")
    assert error_code(exc) == "SignatureDoesNotMatch"
    assert describe_error(exc) == "PutObject failed: SignatureDoesNotMatch (check your key)"


def test_missing_credentials_are_described_with_what_to_set():
    assert "no AWS credentials" in describe_error(NoCredentialsError())
    assert error_code(ValueError("x")) is None


def test_a_secret_key_without_its_key_id_is_a_config_error_that_hides_the_secret():
    with pytest.raises(ConfigError, match="must be set together") as err:
        s3_client(secret_access_key=SecretStr(SECRET))
    assert SECRET not in str(err.value)


def test_clients_for_a_custom_endpoint_use_path_style_addressing():
    client = s3_client(endpoint_url="http://127.0.0.1:9000", region="eu-west-1")
    assert client.meta.endpoint_url == "http://127.0.0.1:9000"
    assert client.meta.region_name == "eu-west-1"
    assert getattr(client.meta.config, "s3", None) == {"addressing_style": "path"}
    assert sqs_client(endpoint_url="http://127.0.0.1:9000").meta.region_name
