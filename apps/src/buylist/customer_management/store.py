"""The purchases collection: idempotent writes keyed by event id, newest-first pages by cursor."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Any

from pymongo import DESCENDING
from pymongo.collection import Collection
from pymongo.errors import BulkWriteError, ConnectionFailure, PyMongoError

from buylist.common.mongo import mongo_client
from buylist.common.schema import format_timestamp, parse_timestamp

DUPLICATE_KEY = 11000


class StoreUnavailable(Exception):
    """MongoDB cannot be reached or did not answer in time; retry later."""


class InvalidCursor(ValueError):
    """The cursor was not issued by this service."""


def _transient(exc: PyMongoError) -> bool:
    return isinstance(exc, ConnectionFailure) or exc.has_error_label("RetryableWriteError")


def encode_cursor(timestamp: datetime, purchase_id: str) -> str:
    """Return an opaque cursor pointing just after the given purchase."""
    millis = int(timestamp.timestamp() * 1000)
    raw = json.dumps([millis, purchase_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """Return the (timestamp, id) a cursor points after, or raise InvalidCursor."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        millis, purchase_id = json.loads(raw)
        if not isinstance(millis, int) or not isinstance(purchase_id, str) or len(purchase_id) > 64:
            raise InvalidCursor(cursor)
        return datetime.fromtimestamp(millis / 1000, UTC), purchase_id
    except (binascii.Error, ValueError, TypeError, OverflowError, OSError) as exc:
        raise InvalidCursor(cursor) from exc


def to_document(event: dict[str, Any]) -> dict[str, Any]:
    """Map a purchase event to its stored document."""
    return {
        "_id": event["id"],
        "username": event["username"],
        "userid": event["userid"],
        "price": event["price"],
        "timestamp": parse_timestamp(event["timestamp"]),
    }


def to_purchase(document: dict[str, Any]) -> dict[str, Any]:
    """Map a stored document back to the purchase shape the API returns."""
    return {
        "id": document["_id"],
        "username": document["username"],
        "userid": document["userid"],
        "price": document["price"],
        "timestamp": format_timestamp(document["timestamp"]),
    }


# The order of a listing; the `userid_timestamp` index serves its filter, ties on timestamp are broken by _id.
LISTING_SORT = [("timestamp", DESCENDING), ("_id", DESCENDING)]


def listing_query(userid: str, cursor: str | None) -> dict[str, Any]:
    """Return the filter for one page of a user's purchases: all of them, or those after `cursor`."""
    query: dict[str, Any] = {"userid": userid}
    if cursor is not None:
        after_ts, after_id = decode_cursor(cursor)
        query["$or"] = [
            {"timestamp": {"$lt": after_ts}},
            {"timestamp": after_ts, "_id": {"$lt": after_id}},
        ]
    return query


class PurchaseStore:
    """Access to the `purchases` collection through one pooled client per process."""

    def __init__(self, uri: str, database: str, timeout_ms: int, appname: str) -> None:
        self._client = mongo_client(uri, timeout_ms, appname)
        self._purchases: Collection[dict[str, Any]] = self._client[database]["purchases"]

    def ensure_indexes(self) -> None:
        """Create the index every listing uses."""
        try:
            self._purchases.create_index([("userid", 1), ("timestamp", DESCENDING)], name="userid_timestamp")
        except PyMongoError as exc:
            if _transient(exc):
                raise StoreUnavailable(str(exc)) from exc
            raise

    def save(self, events: list[dict[str, Any]]) -> tuple[int, int]:
        """Insert events by id; return (stored, already present). Redelivered events are harmless."""
        if not events:
            return 0, 0
        try:
            result = self._purchases.insert_many([to_document(e) for e in events], ordered=False)
            return len(result.inserted_ids), 0
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(err.get("code") != DUPLICATE_KEY for err in errors):
                raise
            return int(exc.details.get("nInserted", len(events) - len(errors))), len(errors)
        except PyMongoError as exc:
            if _transient(exc):
                raise StoreUnavailable(str(exc)) from exc
            raise

    def page(self, userid: str, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """Return up to `limit` purchases of a user, newest first, and the next page's cursor."""
        try:
            found = list(self._purchases.find(listing_query(userid, cursor)).sort(LISTING_SORT).limit(limit + 1))
        except PyMongoError as exc:
            if _transient(exc):
                raise StoreUnavailable(str(exc)) from exc
            raise
        page = [to_purchase(doc) for doc in found[:limit]]
        next_cursor = None
        if len(found) > limit:
            last = found[limit - 1]
            next_cursor = encode_cursor(last["timestamp"], last["_id"])
        return page, next_cursor

    def ping(self) -> bool:
        """Return whether MongoDB answers a ping now."""
        try:
            self._client.admin.command("ping")
        except PyMongoError:
            return False
        return True

    def close(self) -> None:
        """Close the client's connections."""
        self._client.close()
