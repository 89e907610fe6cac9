"""customer-management-api over a fake store, and the store's cursor and document mapping."""

from datetime import UTC, datetime

import pytest

from buylist.common.schema import new_event
from buylist.common.settings import load_settings
from buylist.customer_management.api import create_app
from buylist.customer_management.store import (
    InvalidCursor,
    StoreUnavailable,
    decode_cursor,
    encode_cursor,
    to_document,
    to_purchase,
)

pytestmark = pytest.mark.unit


class FakeStore:
    def __init__(self) -> None:
        self.calls = []
        self.error: Exception | None = None
        self.up = True

    def page(self, userid, limit, cursor):
        self.calls.append((userid, limit, cursor))
        if self.error:
            raise self.error
        if cursor == "bad":
            raise InvalidCursor(cursor)
        return [{"id": "1"}], ("c2" if limit == 1 else None)

    def ping(self):
        return self.up


@pytest.fixture
def app():
    app = create_app(load_settings("customer-management-api", {"BUYLIST_MONGODB_URI": "mongodb://127.0.0.1:1/"}))
    app.extensions["buylist.store"] = FakeStore()
    return app


def test_lists_with_default_limit_and_next_cursor(app):
    client = app.test_client()
    assert client.get("/purchases/ann").get_json() == [{"id": "1"}]
    response = client.get("/purchases/ann?limit=1")
    assert response.headers["X-Next-Cursor"] == "c2"
    assert app.extensions["buylist.store"].calls == [("ann", 50, None), ("ann", 1, None)]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("?limit=0", "invalid_limit"),
        ("?limit=101", "invalid_limit"),
        ("?limit=x", "invalid_limit"),
        ("?cursor=bad", "invalid_cursor"),
    ],
)
def test_bad_paging_is_400(app, query, code):
    response = app.test_client().get(f"/purchases/ann{query}")
    assert response.status_code == 400
    assert response.get_json()["error"] == code


def test_store_outage_is_503_and_not_ready(app):
    store = app.extensions["buylist.store"]
    store.error, store.up = StoreUnavailable("down"), False
    client = app.test_client()
    assert client.get("/purchases/ann").status_code == 503
    assert client.get("/ready").status_code == 503
    assert client.get("/health").status_code == 200


def test_cursor_round_trips_and_refuses_forgeries():
    moment = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    assert decode_cursor(encode_cursor(moment, "abc")) == (moment, "abc")
    for forged in ["", "!!!", "bnVsbA", "WzEsMl0", "WyJ4IiwiYSJd"]:
        with pytest.raises(InvalidCursor):
            decode_cursor(forged)


def test_document_uses_the_event_id_as_key_and_maps_back_exactly():
    event = new_event({"username": "a", "userid": "u", "price": 2.5})
    document = to_document(event)
    assert document["_id"] == event["id"]
    assert isinstance(document["timestamp"], datetime)
    assert to_purchase(document) == event
