"""The local store answers the platform's queries from indexes, whatever the number of purchases stored.

FerretDB 1.24's SQLite backend reads and decodes the whole table for any filter other than exactly {_id: ...};
scripts/ferretdb/sqlite-equality-pushdown.patch narrows by an equality through the index instead. Without it a
listing took 8 s with 256,000 purchases stored (what a few `make bench` runs leave) and the platform answered 503s.
These tests ask FerretDB how it runs the exact queries the services send.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from pymongo import MongoClient
from pymongo.collection import Collection

from buylist.customer_facing.idempotency import KEY_HEADER, record_id
from buylist.customer_management.store import LISTING_SORT, encode_cursor, listing_query
from tests.integration.helpers import buy, new_userid, wait_listed
from tests.support.stack import Stack

pytestmark = pytest.mark.integration


def plan(collection: Collection[dict[str, Any]], query: dict[str, Any], **find: Any) -> tuple[bool, str]:
    """Return whether FerretDB pushed the filter down to SQLite, and SQLite's query plan."""
    explained = collection.find(query, **find).explain()
    return bool(explained["filterPushdown"]), " | ".join(explained["queryPlanner"]["Plan"])


@pytest.fixture
def database(stack: Stack):
    client: MongoClient[dict[str, Any]] = MongoClient(stack.mongo.uri, serverSelectionTimeoutMS=5000)
    yield client[stack.services.database]
    client.close()


def test_a_listing_page_is_read_through_the_userid_index(stack: Stack, database):
    s, userid = stack.services, new_userid("indexed")
    for _ in range(3):
        assert buy(s.facing_url, userid).status_code == 201
    newest = wait_listed(s.facing_url, userid, 3)[0]
    cursor = encode_cursor(datetime.fromisoformat(newest["timestamp"]).astimezone(UTC), newest["id"])

    for query in (listing_query(userid, None), listing_query(userid, cursor)):
        pushed, sqlite_plan = plan(database["purchases"], query, sort=LISTING_SORT, limit=21)
        assert pushed, sqlite_plan
        assert "USING INDEX" in sqlite_plan, sqlite_plan
        assert "userid_timestamp" in sqlite_plan, sqlite_plan
        # FerretDB still applies the whole filter: the narrowed read returns exactly the user's purchases.
        assert {d["userid"] for d in database["purchases"].find(query)} == {userid}


def test_idempotency_records_are_read_and_claimed_through_the_id_index(stack: Stack, database):
    userid, key = new_userid("indexed"), uuid.uuid4().hex
    response = requests.post(
        f"{stack.services.facing_url}/buy",
        json={"username": "Tester", "userid": userid, "price": 1.0},
        headers={KEY_HEADER: key},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    rid = record_id(userid, key)
    assert database["idempotency_keys"].find_one({"_id": rid}) is not None
    for query in ({"_id": rid}, {"_id": rid, "updated_at": datetime.now(UTC)}):
        pushed, sqlite_plan = plan(database["idempotency_keys"], query)
        assert pushed, sqlite_plan
        assert "USING INDEX" in sqlite_plan, sqlite_plan
        assert "__id_" in sqlite_plan, sqlite_plan


def test_filters_it_cannot_narrow_still_find_every_match(stack: Stack, database):
    s, userid = stack.services, new_userid("scan")
    assert buy(s.facing_url, userid, price=7.0).status_code == 201
    wait_listed(s.facing_url, userid, 1)
    # Operators and numbers are not narrowed (a number equals other numeric types); FerretDB scans and filters.
    for query in ({"userid": {"$eq": userid}}, {"price": 7, "userid": {"$in": [userid]}}):
        pushed, _ = plan(database["purchases"], query)
        assert not pushed
        assert [d["userid"] for d in database["purchases"].find(query)] == [userid]


def test_a_field_name_never_becomes_sql(stack: Stack, database):
    s, userid = stack.services, new_userid("quoted")
    assert buy(s.facing_url, userid).status_code == 201
    wait_listed(s.facing_url, userid, 1)
    # Only plain names are narrowed: the patch writes the name into the SQL text, quoted as CREATE INDEX quotes it.
    hostile = 'userid" IS NOT NULL OR "1'
    pushed, _ = plan(database["purchases"], {hostile: userid})
    assert not pushed
    assert list(database["purchases"].find({hostile: userid})) == []
    # A plain field after it is still narrowed, and the whole filter still applies.
    pushed, sqlite_plan = plan(database["purchases"], {hostile: {"$exists": False}, "userid": userid})
    assert pushed, sqlite_plan
    assert [d["userid"] for d in database["purchases"].find({hostile: {"$exists": False}, "userid": userid})] == [
        userid
    ]
