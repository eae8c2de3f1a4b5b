"""Unit tests of how the Kafka bus reads its URL and passes TLS/SASL settings through."""

from __future__ import annotations

import pytest

from seedpipe.bus.kafka.bus import KafkaBus, bootstrap_servers
from seedpipe.errors import ConfigError
from seedpipe.settings import BusSettings


def kafka_bus(url: str = "kafka://broker:9092", **kafka) -> KafkaBus:
    return KafkaBus(url, BusSettings.model_validate({"url": url, "kafka": kafka}))


def test_several_brokers_are_read_from_the_url_with_the_default_port_filled_in():
    assert bootstrap_servers("kafka://a:9093,b,c:19092") == ["a:9093", "b:9092", "c:19092"]


@pytest.mark.parametrize("url", ["kafka://", "kafka://a:notaport", "kafka://a:0", "kafka://:9092"])
def test_a_url_without_a_usable_broker_is_a_config_error(url):
    with pytest.raises(ConfigError, match=r"bus\.url"):
        bootstrap_servers(url)


def test_credentials_in_the_url_are_refused_without_echoing_them():
    with pytest.raises(ConfigError) as err:
        bootstrap_servers("kafka://user:hunter2@broker:9092")
    assert "hunter2" not in str(err.value)


def test_sasl_settings_reach_the_client_and_the_password_stays_out_of_reprs():
    bus = kafka_bus(
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="svc",
        sasl_password="hunter2",
    )
    options = bus.client_options()
    assert options["security_protocol"] == "SASL_PLAINTEXT"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["sasl_plain_username"] == "svc"
    assert options["sasl_plain_password"] == "hunter2"
    assert "hunter2" not in repr(bus.settings) and "hunter2" not in str(bus.settings)


def test_tls_gets_an_ssl_context_and_plaintext_does_not():
    assert "ssl_context" in kafka_bus(security_protocol="SSL").client_options()
    assert "ssl_context" not in kafka_bus().client_options()


def test_a_missing_tls_file_is_a_config_error_naming_the_section(tmp_path):
    with pytest.raises(ConfigError, match=r"bus\.kafka"):
        kafka_bus(
            security_protocol="SSL", ssl_cafile=str(tmp_path / "missing.pem")
        ).client_options()


def test_the_idempotent_producer_is_off_unless_asked_for():
    assert kafka_bus().settings.kafka.enable_idempotence is False
    assert kafka_bus(enable_idempotence=True).settings.kafka.enable_idempotence is True
