"""Metric names and labels are the ones dashboards and the HPA read."""

import pytest
from prometheus_client import REGISTRY

from buylist.common import metrics
from buylist.common.settings import load_settings
from buylist.customer_facing import create_app

pytestmark = pytest.mark.unit


def sample(name, **labels):
    value = REGISTRY.get_sample_value(name, labels)
    return 0.0 if value is None else value


@pytest.fixture
def client():
    settings = load_settings(
        "customer-facing",
        {
            "BUYLIST_KAFKA_BOOTSTRAP": "127.0.0.1:1",
            "BUYLIST_MANAGEMENT_URL": "http://127.0.0.1:1",
            "BUYLIST_MONGODB_URI": "mongodb://127.0.0.1:1/",
        },
    )
    return create_app(settings).test_client()


def test_in_flight_gauge_is_livesum_so_the_hpa_sums_live_workers_only():
    assert metrics.HTTP_IN_FLIGHT._multiprocess_mode == "livesum"


def test_requests_are_labelled_by_route_template_not_raw_path(client):
    before = sample("http_requests_total", method="GET", route="/getAllUserBuys/<userid>", status="400")
    client.get("/getAllUserBuys/bad$id")
    client.get("/getAllUserBuys/bad%2Fid")
    after = sample("http_requests_total", method="GET", route="/getAllUserBuys/<userid>", status="400")
    assert after - before == 1  # the %2F one never matched the route
    assert sample("http_requests_total", method="GET", route="<unmatched>", status="404") >= 1
    assert (
        REGISTRY.get_sample_value("http_requests_total", {"method": "GET", "route": "/getAllUserBuys/bad$id"}) is None
    )


def test_duration_histogram_and_in_flight_are_exported(client):
    client.get("/health")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'http_request_duration_seconds_bucket{le="0.005",method="GET",route="/health"}' in text
    assert "http_requests_in_flight " in text
    for name in ("kafka_producer_messages_total", "kafka_messages_processed_total", "kafka_message_processing_seconds"):
        assert f"# TYPE {name.removesuffix('_total')}" in text
