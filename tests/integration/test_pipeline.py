"""The purchase pipeline end to end: HTTP -> Kafka -> worker -> MongoDB -> HTTP, all real processes."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from kafka import KafkaConsumer, KafkaProducer

from buylist.common.schema import encode_event, new_event
from tests.integration.helpers import buy, listed, metric, new_userid, wait_listed
from tests.support.processes import wait_until
from tests.support.stack import Prometheus, Stack

pytestmark = pytest.mark.integration


def test_buy_is_acknowledged_then_listed_with_the_same_fields(stack: Stack):
    base, userid = stack.services.facing_url, new_userid()
    response = buy(base, userid, price=19.99, username="Ann Example")
    assert response.status_code == 201, response.text
    purchase = response.json()["purchase"]
    assert response.json()["message"] == "Purchase recorded"
    [stored] = wait_listed(base, userid, 1)
    assert stored == purchase
    [document] = stack.mongo.purchases(stack.services.database, userid=userid)
    assert document["_id"] == purchase["id"]


def test_unknown_user_lists_empty(stack: Stack):
    assert listed(stack.services.facing_url, new_userid("nobody")) == []


def test_listing_is_newest_first_and_pages_cover_everything_once(stack: Stack):
    base, userid = stack.services.facing_url, new_userid()
    ids = []
    for price in range(1, 8):
        response = buy(base, userid, price=price)
        assert response.status_code == 201
        ids.append(response.json()["purchase"]["id"])
    wait_listed(base, userid, 7)

    pages, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        response = requests.get(f"{base}/getAllUserBuys/{userid}", params=params, timeout=10)
        assert response.status_code == 200
        pages.append(response.json())
        cursor = response.headers.get("X-Next-Cursor")
        if not cursor:
            break
    assert [len(p) for p in pages] == [3, 3, 1]
    flat = [p for page in pages for p in page]
    assert [p["id"] for p in flat] == list(reversed(ids))
    stamps = [p["timestamp"] for p in flat]
    assert stamps == sorted(stamps, reverse=True)


@pytest.mark.parametrize("params", [{"limit": "0"}, {"limit": "1000"}, {"limit": "x"}, {"cursor": "forged"}])
def test_bad_paging_is_refused(stack: Stack, params):
    response = requests.get(f"{stack.services.facing_url}/getAllUserBuys/ann", params=params, timeout=10)
    assert response.status_code == 400
    assert response.json()["error"] in ("invalid_limit", "invalid_cursor")


def test_ten_concurrent_buys_are_all_stored(stack: Stack):
    base, userid = stack.services.facing_url, new_userid()
    with ThreadPoolExecutor(10) as pool:
        responses = list(pool.map(lambda i: buy(base, userid, price=i + 1), range(10)))
    assert [r.status_code for r in responses] == [201] * 10
    ids = {r.json()["purchase"]["id"] for r in responses}
    assert len(ids) == 10
    assert {p["id"] for p in wait_listed(base, userid, 10)} == ids
    assert len(stack.mongo.purchases(stack.services.database, userid=userid)) == 10


def test_request_and_purchase_ids_reach_the_worker_log(stack: Stack):
    base, userid = stack.services.facing_url, new_userid()
    response = requests.post(
        f"{base}/buy",
        json={"username": "Trace", "userid": userid, "price": 3},
        headers={"X-Request-ID": "trace-me-123"},
        timeout=10,
    )
    assert response.headers["X-Request-ID"] == "trace-me-123"
    purchase_id = response.json()["purchase"]["id"]
    wait_listed(base, userid, 1)

    def worker_logged() -> bool:
        return any(
            line.get("message") == "purchase persisted"
            and line.get("purchase_id") == purchase_id
            and line.get("request_id") == "trace-me-123"
            for line in stack.services.logs("customer-management-worker")
        )

    wait_until(worker_logged, 10, what="worker log line with the purchase id")

    def facing_logged() -> bool:
        facing_lines = stack.services.logs("customer-facing")
        return any(line.get("purchase_id") == purchase_id and line.get("status") == 201 for line in facing_lines)

    # Log lines are written in batches (BUYLIST_LOG_FLUSH_INTERVAL_MS, 200 ms by default).
    wait_until(facing_logged, 10, what="customer-facing access-log line with the purchase id")


def test_metrics_count_the_pipeline_per_process_and_in_prometheus(stack: Stack, prometheus: Prometheus):
    s = stack.services
    produced_before = metric(s.facing_url, "kafka_producer_messages_total", topic="purchases")
    stored_before = metric(s.worker_url, "kafka_messages_processed_total", outcome="stored")
    userid = new_userid()
    for _ in range(5):
        assert buy(s.facing_url, userid).status_code == 201
    wait_listed(s.facing_url, userid, 5)
    # Several gunicorn workers answered; the multiprocess registry sums them all.
    assert metric(s.facing_url, "kafka_producer_messages_total", topic="purchases") - produced_before == 5
    wait_until(
        lambda: metric(s.worker_url, "kafka_messages_processed_total", outcome="stored") - stored_before == 5,
        10,
        what="worker stored counter",
    )
    assert metric(s.facing_url, "http_requests_total", route="/buy", status="201") >= 5
    in_flight = requests.get(f"{s.facing_url}/metrics", timeout=5).text
    assert "\nhttp_requests_in_flight " in in_flight  # livesum: one series, no pid label

    def scraped() -> bool:
        produced = prometheus.query('sum(kafka_producer_messages_total{job="customer-facing"})')
        stored = prometheus.query(
            'sum(kafka_messages_processed_total{job="customer-management-worker",outcome="stored"})'
        )
        requests_ = prometheus.query('sum(http_requests_total{job="customer-facing",route="/buy"})')
        return (
            bool(produced and stored and requests_)
            and float(produced[0]["value"][1]) >= produced_before + 5
            and float(stored[0]["value"][1]) >= stored_before + 5
        )

    wait_until(scraped, 30, interval=1, what="Prometheus scraped the pipeline counters")

    def targets_up() -> bool:
        targets = requests.get(f"{prometheus.url}/api/v1/targets", timeout=5).json()["data"]["activeTargets"]
        return {t["labels"]["job"]: t["health"] for t in targets} == {
            "customer-facing": "up",
            "customer-management-api": "up",
            "customer-management-worker": "up",
        }

    wait_until(targets_up, 15, interval=1, what="all three scrape jobs up")


def test_probes_answer_on_every_component(stack: Stack):
    s = stack.services
    for url in (s.facing_url, s.api_url, s.worker_url):
        assert requests.get(f"{url}/health", timeout=5).status_code == 200
        assert requests.get(f"{url}/ready", timeout=5).status_code == 200
    spec = requests.get(f"{s.facing_url}/openapi.json", timeout=5).json()
    assert "/buy" in spec["paths"]


def test_poison_events_go_to_the_dead_letter_topic_and_good_ones_around_them_are_stored(stack: Stack):
    s, bootstrap = stack.services, stack.kafka.bootstrap
    userid = new_userid("poison")
    good = [new_event({"username": "ok", "userid": userid, "price": p}) for p in (1, 2)]
    marker = uuid.uuid4().hex
    poison = [
        (b"not json " + marker.encode(), [("schema-version", b"1")]),
        (json.dumps({"id": marker}).encode(), [("schema-version", b"1")]),
        (encode_event(new_event({"username": marker, "userid": userid, "price": 3})), [("schema-version", b"9")]),
    ]
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        key = userid.encode()  # one partition: the poison sits between the good events
        producer.send("purchases", encode_event(good[0]), key=key, headers=[("schema-version", b"1")]).get(10)
        for value, headers in poison:
            producer.send("purchases", value, key=key, headers=headers).get(10)
        producer.send("purchases", encode_event(good[1]), key=key, headers=[("schema-version", b"1")]).get(10)
    finally:
        producer.close()

    assert {p["id"] for p in wait_listed(s.facing_url, userid, 2)} == {e["id"] for e in good}
    consumer = KafkaConsumer(
        "purchases.dlq", bootstrap_servers=bootstrap, auto_offset_reset="earliest", consumer_timeout_ms=5000
    )
    try:
        found = {}
        for record in consumer:
            if marker.encode() in (record.value or b""):
                found[record.value] = dict(record.headers)
    finally:
        consumer.close()
    assert set(found) == {value for value, _ in poison}
    reasons = sorted(h["dlq-reason"].decode() for h in found.values())
    assert reasons == ["not_json", "schema_invalid", "unknown_schema_version"]
    for headers in found.values():
        assert headers["dlq-source-topic"] == b"purchases"
        assert int(headers["dlq-source-offset"]) >= 0
        assert headers["dlq-error"]
    assert len(stack.mongo.purchases(s.database, userid=userid)) == 2
