"""The one way the services open a MongoDB client: bounded timeouts, aware datetimes."""

from __future__ import annotations

from typing import Any

from pymongo import MongoClient


def mongo_client(uri: str, timeout_ms: int, appname: str) -> MongoClient[dict[str, Any]]:
    """Return a pooled client that fails within `timeout_ms` when MongoDB is unreachable."""
    return MongoClient(
        uri,
        appname=appname,
        tz_aware=True,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        socketTimeoutMS=timeout_ms * 2,
    )
