"""Idempotency-Key against the real store: the same key gives the same purchase, stored once."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests

from buylist.common.schema import new_event
from buylist.customer_facing.idempotency import IdempotencyStore
from tests.integration.helpers import buy, new_userid, wait_listed
from tests.support.stack import Stack

pytestmark = pytest.mark.integration


def keyed(base: str, userid: str, key: str, price: float = 5.0) -> requests.Response:
    return requests.post(
        f"{base}/buy",
        json={"username": "Key Holder", "userid": userid, "price": price},
        headers={"Idempotency-Key": key},
        timeout=10,
    )


def test_same_key_returns_the_same_purchase_stored_once(stack: Stack):
    s, userid, key = stack.services, new_userid("idem"), uuid.uuid4().hex
    first = keyed(s.facing_url, userid, key)
    second = keyed(s.facing_url, userid, key)
    assert first.status_code == second.status_code == 201
    assert first.json()["purchase"] == second.json()["purchase"]
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert buy(s.facing_url, userid).status_code == 201  # a keyless purchase after them, as a marker
    assert len(wait_listed(s.facing_url, userid, 2)) == 2
    assert len(stack.mongo.purchases(s.database, userid=userid)) == 2


def test_key_reused_with_a_different_body_is_refused(stack: Stack):
    s, userid, key = stack.services, new_userid("idem"), uuid.uuid4().hex
    assert keyed(s.facing_url, userid, key, price=5).status_code == 201
    reused = keyed(s.facing_url, userid, key, price=6)
    assert reused.status_code == 422
    assert reused.json()["error"] == "idempotency_key_reused"
    assert "different purchase" in reused.json()["message"]


def test_concurrent_requests_with_one_key_store_one_purchase(stack: Stack):
    s, userid, key = stack.services, new_userid("idem"), uuid.uuid4().hex
    with ThreadPoolExecutor(10) as pool:
        responses = list(pool.map(lambda _: keyed(s.facing_url, userid, key), range(10)))
    assert {r.status_code for r in responses} <= {201, 409}
    ids = {r.json()["purchase"]["id"] for r in responses if r.status_code == 201}
    assert len(ids) == 1
    for r in responses:
        if r.status_code == 409:
            assert r.headers["Retry-After"] == "1"
    assert buy(s.facing_url, userid).status_code == 201
    assert len(wait_listed(s.facing_url, userid, 2)) == 2
    assert len(stack.mongo.purchases(s.database, userid=userid)) == 2


def test_the_same_key_for_two_users_is_two_purchases(stack: Stack):
    s, key = stack.services, uuid.uuid4().hex
    a, b = new_userid("idem-a"), new_userid("idem-b")
    first, second = keyed(s.facing_url, a, key), keyed(s.facing_url, b, key)
    assert first.status_code == second.status_code == 201
    assert first.json()["purchase"]["id"] != second.json()["purchase"]["id"]


def test_keys_expire_after_the_ttl(stack: Stack):
    store = IdempotencyStore(stack.mongo.uri, stack.services.database, 2000, "test", ttl=timedelta(seconds=1))
    body = {"username": "a", "userid": new_userid("ttl"), "price": 1}
    try:
        first = store.reserve(body["userid"], "k", body, lambda: new_event(body))
        store.finish(body["userid"], "k", published=True)
        replay = store.reserve(body["userid"], "k", body, lambda: new_event(body))
        assert replay.replay
        assert replay.event == first.event
        time.sleep(1.2)
        fresh = store.reserve(body["userid"], "k", body, lambda: new_event(body))
        assert not fresh.replay
        assert fresh.event["id"] != first.event["id"]
    finally:
        store.close()
