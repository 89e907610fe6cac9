"""Settings are read once from BUYLIST_* variables and missing ones are named."""

import pytest

from buylist.common.settings import SettingsError, describe, load_settings

pytestmark = pytest.mark.unit

FACING_ENV = {
    "BUYLIST_KAFKA_BOOTSTRAP": "k1:9092, k2:9092",
    "BUYLIST_MANAGEMENT_URL": "http://api:3001",
    "BUYLIST_MONGODB_URI": "mongodb://db:27017/",
}


def test_missing_required_variables_are_all_named():
    with pytest.raises(SettingsError) as err:
        load_settings("customer-facing", {})
    assert "BUYLIST_KAFKA_BOOTSTRAP" in str(err.value)
    assert "BUYLIST_MANAGEMENT_URL" in str(err.value)
    assert "BUYLIST_MONGODB_URI" in str(err.value)  # for its Idempotency-Key records


@pytest.mark.parametrize(
    ("component", "needs"),
    [
        ("customer-management-api", {"BUYLIST_MONGODB_URI"}),
        ("customer-management-worker", {"BUYLIST_MONGODB_URI", "BUYLIST_KAFKA_BOOTSTRAP"}),
    ],
)
def test_each_component_requires_only_what_it_uses(component, needs):
    with pytest.raises(SettingsError) as err:
        load_settings(component, {})
    named = {word for word in str(err.value).replace(";", " ").split() if word.startswith("BUYLIST_")}
    assert named == needs


def test_values_are_parsed_into_types_and_defaults_fill_the_rest():
    settings = load_settings("customer-facing", {**FACING_ENV, "BUYLIST_PUBLISH_TIMEOUT_SECONDS": "1.5"})
    assert settings.publish_timeout_s == 1.5
    assert settings.kafka_topic == "purchases"
    assert settings.http_port == 3000
    assert settings.kafka_client_options["bootstrap_servers"] == ["k1:9092", "k2:9092"]
    assert "sasl_mechanism" not in settings.kafka_client_options


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BUYLIST_PORT", "eighty"),
        ("BUYLIST_PUBLISH_TIMEOUT_SECONDS", "nan"),
        ("BUYLIST_PUBLISH_TIMEOUT_SECONDS", "-1"),
        ("BUYLIST_LOG_LEVEL", "LOUD"),
    ],
)
def test_malformed_values_are_refused_with_the_variable_name(name, value):
    with pytest.raises(SettingsError, match=name):
        load_settings("customer-facing", {**FACING_ENV, name: value})


def test_sasl_credentials_reach_the_kafka_clients():
    env = {
        **FACING_ENV,
        "BUYLIST_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "BUYLIST_KAFKA_SASL_MECHANISM": "SCRAM-SHA-256",
        "BUYLIST_KAFKA_SASL_USERNAME": "user",
        "BUYLIST_KAFKA_SASL_PASSWORD": "secret",
    }
    options = load_settings("customer-facing", env).kafka_client_options
    assert options["security_protocol"] == "SASL_PLAINTEXT"
    assert options["sasl_mechanism"] == "SCRAM-SHA-256"
    assert options["sasl_plain_password"] == "secret"


def test_every_variable_is_documented_with_the_prefix():
    rows = describe()
    assert rows
    assert all(var.startswith("BUYLIST_") for var, *_ in rows)
    assert [var for var, _default, _required, doc in rows if not doc] == []


def test_web_worker_class_defaults_to_gevent_and_refuses_others():
    assert load_settings("customer-facing", FACING_ENV).web_worker_class == "gevent"
    assert load_settings("customer-facing", {**FACING_ENV, "BUYLIST_WEB_WORKER_CLASS": "gthread"}).web_worker_class == (
        "gthread"
    )
    with pytest.raises(SettingsError, match="BUYLIST_WEB_WORKER_CLASS='sync' must be gevent or gthread"):
        load_settings("customer-facing", {**FACING_ENV, "BUYLIST_WEB_WORKER_CLASS": "sync"})


def test_gunicorn_gets_the_worker_model_and_one_listening_socket_per_worker():
    from buylist.cli import gunicorn_options

    env = {**FACING_ENV, "BUYLIST_WEB_WORKER_CLASS": "gthread", "BUYLIST_WEB_THREADS": "4", "BUYLIST_WEB_WORKERS": "3"}
    options = gunicorn_options(load_settings("customer-facing", env))
    assert (options["worker_class"], options["threads"], options["workers"]) == ("gthread", 4, 3)
    assert options["worker_connections"] == 1000
    assert options["reuse_port"] is True
    assert options["bind"] == "0.0.0.0:3000"
