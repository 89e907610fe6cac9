"""Idempotency-Key for POST /buy: the same key (per user) gives the same purchase, stored once.

A record per (userid, key) lives in MongoDB with the event it reserved. A retry re-uses that event, so
even when the first attempt's fate is unknown (a timeout after the broker may have written it) the
worker's `_id` = event id stores it once. Records expire after `ttl`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError, OperationFailure, PyMongoError

from buylist.common.mongo import mongo_client
from buylist.common.web import ApiError, NotReady

log = logging.getLogger(__name__)

KEY_HEADER: Final = "Idempotency-Key"
TTL: Final = timedelta(hours=24)
# A reservation nobody finished within this time (its process died mid-request) may be taken over.
PENDING_STALE: Final = timedelta(seconds=15)
PURGE_INTERVAL_S: Final = 60.0
_KEY_OK = re.compile(r"[\x21-\x7e]{1,200}")
NOT_IMPLEMENTED = 238


class KeyReused(ApiError):
    """The key was used before with a different body."""

    status = 422
    code = "idempotency_key_reused"


class KeyInProgress(ApiError):
    """Another request with this key is being processed right now."""

    status = 409
    code = "request_in_progress"


@dataclass(frozen=True, slots=True)
class Reservation:
    """The event a request publishes, and whether it was already recorded (a replay)."""

    event: dict[str, Any]
    replay: bool


def check_key(key: str) -> None:
    """Refuse keys that are empty, too long or not printable ASCII."""
    if not _KEY_OK.fullmatch(key):
        raise ApiError(
            f"{KEY_HEADER} must be 1 to 200 printable ASCII characters without spaces.",
            code="invalid_idempotency_key",
        )


def fingerprint(body: dict[str, Any]) -> str:
    """Hash the purchase fields so a reused key with another body is recognised."""
    canonical = {"username": body["username"], "userid": body["userid"], "price": float(body["price"])}
    return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


def record_id(userid: str, key: str) -> str:
    """Key the record by user and key, so two users' identical keys never meet."""
    return hashlib.sha256(f"{userid}\0{key}".encode()).hexdigest()


class IdempotencyStore:
    """The `idempotency_keys` collection."""

    def __init__(self, uri: str, database: str, timeout_ms: int, appname: str, ttl: timedelta = TTL) -> None:
        self._client = mongo_client(uri, timeout_ms, appname)
        self._keys: Collection[dict[str, Any]] = self._client[database]["idempotency_keys"]
        self._ttl = ttl
        self._lock = threading.Lock()
        self._indexed = False
        self._last_purge = 0.0

    def _housekeeping(self, now: datetime) -> None:
        with self._lock:
            if not self._indexed:
                try:
                    self._keys.create_index("expires_at", expireAfterSeconds=0, name="expires_at_ttl")
                except OperationFailure as exc:
                    if exc.code != NOT_IMPLEMENTED:
                        raise
                    # FerretDB 1.x has no TTL indexes; the purge below does the same job.
                    self._keys.create_index("expires_at", name="expires_at")
                self._indexed = True
            if time.monotonic() - self._last_purge < PURGE_INTERVAL_S:
                return
            self._last_purge = time.monotonic()
        self._keys.delete_many({"expires_at": {"$lt": now}})

    def reserve(
        self, userid: str, key: str, body: dict[str, Any], make_event: Callable[[], dict[str, Any]]
    ) -> Reservation:
        """Claim the key for this request, or return what an earlier request with it recorded."""
        try:
            return self._reserve(record_id(userid, key), fingerprint(body), make_event)
        except PyMongoError as exc:
            log.warning("idempotency store unavailable", extra={"error": str(exc)[:300]})
            raise NotReady(
                "Requests with an Idempotency-Key cannot be checked right now; try again shortly.", retry_after=2
            ) from exc

    def _reserve(self, rid: str, fp: str, make_event: Callable[[], dict[str, Any]]) -> Reservation:
        now = datetime.now(UTC)
        self._housekeeping(now)
        for _ in range(5):
            doc = self._keys.find_one({"_id": rid})
            if doc is not None and doc["expires_at"] <= now:
                self._keys.delete_one({"_id": rid, "expires_at": doc["expires_at"]})
                doc = None
            if doc is None:
                event = make_event()
                try:
                    self._keys.insert_one(
                        {
                            "_id": rid,
                            "fingerprint": fp,
                            "state": "pending",
                            "event": event,
                            "updated_at": now,
                            "expires_at": now + self._ttl,
                        }
                    )
                except DuplicateKeyError:
                    continue  # another request claimed it first; read what it claimed
                return Reservation(event, replay=False)
            if doc["fingerprint"] != fp:
                raise KeyReused(f"This {KEY_HEADER} was already used for a different purchase.")
            if doc["state"] == "completed":
                return Reservation(doc["event"], replay=True)
            if doc["state"] == "pending" and now - doc["updated_at"] < PENDING_STALE:
                raise KeyInProgress(f"A request with this {KEY_HEADER} is in progress.", retry_after=1)
            taken = self._keys.update_one(
                {"_id": rid, "updated_at": doc["updated_at"]}, {"$set": {"state": "pending", "updated_at": now}}
            )
            if taken.modified_count == 1:
                return Reservation(doc["event"], replay=False)
        raise KeyInProgress(f"A request with this {KEY_HEADER} is in progress.", retry_after=1)

    def finish(self, userid: str, key: str, *, published: bool) -> None:
        """Mark the reservation completed, or failed so that a retry publishes the same event again."""
        try:
            self._keys.update_one(
                {"_id": record_id(userid, key)},
                {"$set": {"state": "completed" if published else "failed", "updated_at": datetime.now(UTC)}},
            )
        except PyMongoError as exc:
            # The purchase itself is safe in Kafka; a retry re-publishes the same event id, stored once.
            log.warning("could not record the idempotency outcome", extra={"error": str(exc)[:300]})

    def close(self) -> None:
        """Close the client's connections."""
        self._client.close()
