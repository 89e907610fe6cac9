"""customer-facing's HTTP behaviour with its Kafka and upstream clients replaced by fakes."""

import json
import re
from typing import Any

import pytest

from buylist.common.settings import load_settings
from buylist.common.web import NotReady
from buylist.customer_facing import create_app
from buylist.customer_facing.management import encode_segment
from buylist.customer_facing.publisher import PublishFailed

pytestmark = pytest.mark.unit

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


class FakePublisher:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.fail: str | None = None
        self.is_ready = True

    def publish(self, event: dict[str, Any], request_id: str) -> None:
        if self.fail:
            raise PublishFailed(self.fail, retry_after=2)
        self.events.append({**event, "_request_id": request_id})

    def ready(self) -> bool:
        return self.is_ready

    def close(self, timeout_s: float = 5.0) -> None:
        pass


class FakeManagement:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, str]]] = []
        self.error: Exception | None = None

    def purchases(self, userid: str, paging: dict[str, str], request_id: str):
        self.calls.append((userid, paging))
        if self.error:
            raise self.error
        return [{"id": "x", "userid": userid}], "next-page"


class FakeIdempotency:
    """Keeps reservations in a dict with the store's semantics (see integration tests for the real one)."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], dict[str, Any]] = {}

    def reserve(self, userid, key, body, make_event):
        from buylist.customer_facing.idempotency import KeyReused, Reservation, fingerprint

        record = self.records.get((userid, key))
        if record is None:
            record = self.records[(userid, key)] = {"fp": fingerprint(body), "event": make_event(), "done": False}
            return Reservation(record["event"], replay=False)
        if record["fp"] != fingerprint(body):
            raise KeyReused("reused")
        return Reservation(record["event"], replay=record["done"])

    def finish(self, userid, key, *, published):
        self.records[(userid, key)]["done"] = published


@pytest.fixture
def app():
    settings = load_settings(
        "customer-facing",
        {
            "BUYLIST_KAFKA_BOOTSTRAP": "127.0.0.1:1",
            "BUYLIST_MANAGEMENT_URL": "http://127.0.0.1:1",
            "BUYLIST_MONGODB_URI": "mongodb://127.0.0.1:1/",
        },
    )
    app = create_app(settings)
    app.extensions["buylist.publisher"] = FakePublisher()
    app.extensions["buylist.management"] = FakeManagement()
    app.extensions["buylist.idempotency"] = FakeIdempotency()
    return app


@pytest.fixture
def client(app):
    return app.test_client()


def post(client, body: Any, content_type: str = "application/json", **kw):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post("/buy", data=data, content_type=content_type, **kw)


def test_buy_answers_201_with_the_published_purchase(app, client):
    response = post(client, {"username": "Ann", "userid": "ann", "price": 9.99}, headers={"X-Request-ID": "req-1"})
    assert response.status_code == 201
    body = response.get_json()
    assert body["message"] == "Purchase recorded"
    purchase = body["purchase"]
    assert UUID.match(purchase["id"])
    assert (purchase["username"], purchase["userid"], purchase["price"]) == ("Ann", "ann", 9.99)
    published = app.extensions["buylist.publisher"].events
    assert [e["id"] for e in published] == [purchase["id"]]
    assert published[0]["_request_id"] == "req-1"
    assert response.headers["X-Request-ID"] == "req-1"


@pytest.mark.parametrize(
    ("data", "content_type", "status", "code"),
    [
        (b'{"username": "a", "userid": "b", "price": NaN}', "application/json", 400, "invalid_json"),
        (b"{not json", "application/json", 400, "invalid_json"),
        (b"", "application/json", 400, "invalid_json"),
        (b'{"username": "a", "userid": "b", "price": 1}', "text/plain", 415, "unsupported_media_type"),
        (b"username=a&userid=b&price=1", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        (b'{"username": "a", "userid": "b", "price": "1"}', "application/json", 422, "validation_failed"),
        (b'{"username": "a", "userid": "b", "price": 1e309}', "application/json", 422, "validation_failed"),
        (b"[1, 2]", "application/json", 422, "validation_failed"),
    ],
)
def test_bad_bodies_get_json_4xx_and_publish_nothing(app, client, data, content_type, status, code):
    response = post(client, data, content_type=content_type)
    assert response.status_code == status
    assert response.is_json
    assert response.get_json()["error"] == code
    assert response.get_json()["message"]
    assert app.extensions["buylist.publisher"].events == []


def test_validation_errors_list_each_field(client):
    response = post(client, {"username": " ", "userid": "../x", "price": -3})
    assert response.status_code == 422
    assert {d["field"] for d in response.get_json()["details"]} == {"username", "userid", "price"}


def test_oversized_body_is_413_json(app, client):
    response = post(client, {"username": "a" * 20000, "userid": "b", "price": 1})
    assert response.status_code == 413
    assert response.get_json()["error"] == "request_entity_too_large"
    assert app.extensions["buylist.publisher"].events == []


def test_kafka_failure_is_503_with_retry_after(app, client):
    app.extensions["buylist.publisher"].fail = "KafkaTimeoutError"
    response = post(client, {"username": "Ann", "userid": "ann", "price": 1})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2"
    assert response.get_json()["error"] == "unavailable"


def test_unknown_route_and_wrong_method_are_json(client):
    assert client.get("/nope").get_json()["error"] == "not_found"
    response = client.get("/buy")
    assert response.status_code == 405
    assert response.is_json
    assert "POST" in response.headers["Allow"]


def test_unexpected_error_is_a_generic_500_without_a_traceback(app, client):
    def boom(*_args: Any, **_kw: Any) -> None:
        raise RuntimeError("secret internals")

    app.extensions["buylist.publisher"].publish = boom
    response = post(client, {"username": "Ann", "userid": "ann", "price": 1})
    assert response.status_code == 500
    assert response.get_json()["error"] == "internal_error"
    assert b"secret internals" not in response.data
    assert b"Traceback" not in response.data


def test_listing_passes_paging_through_and_returns_the_next_cursor(app, client):
    response = client.get("/getAllUserBuys/ann?limit=5&cursor=abc")
    assert response.status_code == 200
    assert response.headers["X-Next-Cursor"] == "next-page"
    assert app.extensions["buylist.management"].calls == [("ann", {"limit": "5", "cursor": "abc"})]


def test_unknown_query_parameters_are_refused(app, client):
    response = client.get("/getAllUserBuys/ann?limit=5&lmit=3")
    assert response.status_code == 400
    assert response.get_json()["error"] == "unknown_query_parameter"
    assert "lmit" in response.get_json()["message"]
    assert app.extensions["buylist.management"].calls == []
    assert post(client, {"username": "a", "userid": "b", "price": 1}, query_string={"x": "1"}).status_code == 400
    repeated = client.get("/getAllUserBuys/ann?limit=5&limit=true")
    assert repeated.status_code == 400
    assert repeated.get_json()["error"] == "repeated_query_parameter"


@pytest.mark.parametrize(
    "path", ["/getAllUserBuys/%2E%2E%2Fpurchases", "/getAllUserBuys/a%2Fb", "/getAllUserBuys/a%00"]
)
def test_listing_refuses_user_ids_the_schema_refuses(app, client, path):
    response = client.get(path)
    assert response.status_code in (400, 404)
    assert response.is_json
    assert app.extensions["buylist.management"].calls == []


def test_upstream_outage_is_503(app, client):
    app.extensions["buylist.management"].error = NotReady("down", retry_after=2)
    response = client.get("/getAllUserBuys/ann")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2"


def test_ready_follows_the_publisher(app, client):
    assert client.get("/ready").status_code == 200
    app.extensions["buylist.publisher"].is_ready = False
    assert client.get("/ready").status_code == 503
    assert client.get("/health").status_code == 200


def test_openapi_describes_the_routes_with_the_event_schema(client):
    doc = client.get("/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    assert set(doc["paths"]) >= {"/buy", "/getAllUserBuys/{userid}", "/health", "/ready"}
    request_schema = doc["components"]["schemas"]["PurchaseRequest"]
    assert request_schema["properties"]["price"]["exclusiveMinimum"] == 0
    assert "503" in doc["paths"]["/buy"]["post"]["responses"]


@pytest.mark.parametrize(
    ("userid", "segment"),
    [("ann", "ann"), (".", "%2E"), ("..", "%2E%2E"), ("../x", "%2E%2E%2Fx"), ("a b?#", "a%20b%3F%23"), ("ü", "%C3%BC")],
)
def test_encode_segment_leaves_no_character_that_changes_the_path(userid, segment):
    assert encode_segment(userid) == segment


def test_same_idempotency_key_returns_the_same_purchase_and_publishes_once(app, client):
    body = {"username": "Ann", "userid": "ann", "price": 5}
    first = post(client, body, headers={"Idempotency-Key": "k-1"})
    second = post(client, body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == second.status_code == 201
    assert first.get_json()["purchase"] == second.get_json()["purchase"]
    assert second.headers["Idempotent-Replayed"] == "true"
    assert len(app.extensions["buylist.publisher"].events) == 1


def test_a_failed_publish_is_retried_with_the_same_event(app, client):
    body = {"username": "Ann", "userid": "ann", "price": 5}
    app.extensions["buylist.publisher"].fail = "KafkaTimeoutError"
    assert post(client, body, headers={"Idempotency-Key": "k-2"}).status_code == 503
    app.extensions["buylist.publisher"].fail = None
    retry = post(client, body, headers={"Idempotency-Key": "k-2"})
    assert retry.status_code == 201
    reserved = app.extensions["buylist.idempotency"].records[("ann", "k-2")]["event"]
    assert retry.get_json()["purchase"]["id"] == reserved["id"]


def test_a_key_reused_with_another_body_is_422(app, client):
    assert (
        post(client, {"username": "Ann", "userid": "ann", "price": 5}, headers={"Idempotency-Key": "k-3"}).status_code
        == 201
    )
    reused = post(client, {"username": "Ann", "userid": "ann", "price": 6}, headers={"Idempotency-Key": "k-3"})
    assert reused.status_code == 422
    assert reused.get_json()["error"] == "idempotency_key_reused"


@pytest.mark.parametrize("key", ["", "has space", "x" * 201, "ключ"])
def test_malformed_idempotency_keys_are_400(client, key):
    response = post(client, {"username": "Ann", "userid": "ann", "price": 5}, headers={"Idempotency-Key": key})
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_idempotency_key"
