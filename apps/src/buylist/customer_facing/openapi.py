"""The OpenAPI 3.1 document of customer-facing, built from the same event schema the code validates with."""

from __future__ import annotations

from functools import cache
from typing import Any

from buylist.common.schema import event_schema, request_schema


def _strip(schema: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in schema.items() if k not in ("$schema", "$id", "$comment")}


def _error(description: str, retry: bool = False) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if retry:
        response["headers"] = {"Retry-After": {"schema": {"type": "string"}, "description": "Seconds to wait"}}
    return response


def _probe(summary: str, failing: str | None) -> dict[str, Any]:
    responses: dict[str, Any] = {
        "200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}
    }
    if failing:
        responses["503"] = _error(failing)
    return {"get": {"summary": summary, "responses": responses}}


@cache
def openapi_document() -> dict[str, Any]:
    """Return the OpenAPI document."""
    userid = event_schema()["properties"]["userid"]
    page_headers = {
        "X-Next-Cursor": {
            "description": "Opaque cursor of the next page; absent on the last page.",
            "schema": {"type": "string"},
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "buylist customer-facing API",
            "version": "1",
            "description": "Record purchases (through Kafka) and list a user's purchases.",
        },
        "paths": {
            "/buy": {
                "post": {
                    "summary": "Record a purchase",
                    "description": "Answers 201 only after Kafka acknowledged the event (acks=all). With an "
                    "Idempotency-Key, a retry returns the first purchase (header Idempotent-Replayed: true) and "
                    "it is stored once; keys expire after 24 hours.",
                    "parameters": [
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "required": False,
                            "description": "Client-chosen key per purchase; retry with the same key after an error",
                            "schema": {"type": "string", "pattern": "^[!-~]{1,200}$"},
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PurchaseRequest"}}},
                    },
                    "responses": {
                        "201": {
                            "description": "Recorded; the purchase is listed once the worker stored it.",
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/PurchaseRecorded"}}
                            },
                        },
                        "400": _error("Body is not valid JSON, or the Idempotency-Key is malformed"),
                        "409": _error("A request with this Idempotency-Key is in progress", retry=True),
                        "413": _error("Body too large"),
                        "415": _error("Body is not declared as application/json"),
                        "422": _error("Body does not satisfy the schema, or the key was used for another purchase"),
                        "503": _error("Kafka did not acknowledge in time; nothing was stored", retry=True),
                    },
                }
            },
            "/getAllUserBuys/{userid}": {
                "get": {
                    "summary": "List a user's purchases, newest first",
                    "parameters": [
                        {"name": "userid", "in": "path", "required": True, "schema": userid},
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 50},
                        },
                        {
                            "name": "cursor",
                            "in": "query",
                            "description": "X-Next-Cursor of the previous page",
                            "schema": {"type": "string", "minLength": 1, "maxLength": 200},
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "One page of purchases; [] for an unknown user",
                            "headers": page_headers,
                            "content": {
                                "application/json": {
                                    "schema": {"type": "array", "items": {"$ref": "#/components/schemas/Purchase"}}
                                }
                            },
                        },
                        "400": _error("Bad user id, limit or cursor, or an unknown query parameter"),
                        "414": _error("Request line longer than 8190 bytes"),
                        "503": _error("Purchase history unavailable", retry=True),
                    },
                }
            },
            "/health": _probe("Liveness", None),
            "/ready": _probe("Readiness: Kafka answers", "Kafka is unreachable"),
        },
        "components": {
            "schemas": {
                "PurchaseRequest": _strip(request_schema()),
                "Purchase": _strip(event_schema()),
                "PurchaseRecorded": {
                    "type": "object",
                    "required": ["message", "purchase"],
                    "properties": {
                        "message": {"type": "string"},
                        "purchase": {"$ref": "#/components/schemas/Purchase"},
                    },
                },
                "Error": {
                    "type": "object",
                    "required": ["error", "message"],
                    "properties": {
                        "error": {"type": "string", "description": "Machine-readable code"},
                        "message": {"type": "string", "description": "What went wrong, for a person"},
                        "details": {"type": "array", "items": {"type": "object"}},
                    },
                },
            }
        },
    }
