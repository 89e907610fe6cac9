"""The purchase event schema: one JSON Schema file used by the producer, the consumer and the tests."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any, Final

import fastjsonschema
from jsonschema import Draft202012Validator

SCHEMA_VERSION: Final = "1"
REQUEST_FIELDS: Final = ("username", "userid", "price")


class InvalidJson(ValueError):
    """The bytes are not one strict JSON document."""


@cache
def event_schema() -> dict[str, Any]:
    """Return the purchase event schema as loaded from the package."""
    text = resources.files("buylist.common").joinpath("purchase.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def request_schema() -> dict[str, Any]:
    """Return the POST /buy body schema: the client-supplied fields of the event, nothing else."""
    event = event_schema()
    return {
        "$schema": event["$schema"],
        "title": "PurchaseRequest",
        "type": "object",
        "required": list(REQUEST_FIELDS),
        "additionalProperties": False,
        "properties": {name: event["properties"][name] for name in REQUEST_FIELDS},
    }


@cache
def _validator(kind: str) -> Draft202012Validator:
    schema = event_schema() if kind == "event" else request_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


@cache
def _accepts(kind: str) -> Callable[[Any], bool]:
    """Return a check that accepts only documents the schema accepts, compiled to Python by fastjsonschema.

    POST /buy and the worker validate every purchase, nearly always a valid one: this takes about a tenth of
    jsonschema's time (`python -m tests.bench.micro`). Only its "valid" is trusted; anything it refuses is validated
    again by jsonschema, whose errors name every problem (tests/unit/test_schema.py checks that both agree).
    """
    check = fastjsonschema.compile(event_schema() if kind == "event" else request_schema(), use_default=False)

    def accepts(document: Any) -> bool:
        try:
            check(document)
        except fastjsonschema.JsonSchemaException:
            return False
        return True

    return accepts


def _problems(kind: str, document: Any) -> list[dict[str, str]]:
    if _accepts(kind)(document):
        return []
    problems = []
    for error in sorted(_validator(kind).iter_errors(document), key=lambda e: list(e.absolute_path)):
        where = ".".join(str(p) for p in error.absolute_path)
        if error.validator == "required" or error.validator == "additionalProperties":
            where = ""
        problems.append({"field": where or "(body)", "message": _humane(where, str(error.validator), error.message)})
    return problems


_MESSAGES: Final = {
    ("username", "pattern"): "must contain a visible character and no control characters",
    ("userid", "pattern"): "may only contain letters, digits and . _ @ : - (and not only dots)",
    ("id", "pattern"): "must be a lowercase UUID",
    ("timestamp", "pattern"): "must be RFC 3339 UTC with milliseconds, e.g. 2026-01-31T12:00:00.000Z",
    ("price", "exclusiveMinimum"): "must be greater than 0",
    ("price", "maximum"): "must be a finite number no greater than 1000000",
}


def _humane(field: str, validator: str, message: str) -> str:
    """Replace jsonschema's regex-quoting messages with ones a client can act on."""
    if validator == "minLength":
        return "must not be empty"
    return _MESSAGES.get((field, validator), message)


def request_problems(body: Any) -> list[dict[str, str]]:
    """Return what is wrong with a POST /buy body (empty when it is valid)."""
    return _problems("request", body)


def event_problems(event: Any) -> list[dict[str, str]]:
    """Return what is wrong with a purchase event (empty when it is valid)."""
    return _problems("event", event)


def _refuse_constant(name: str) -> Any:
    raise InvalidJson(f"{name} is not valid JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise InvalidJson(f"duplicate key {key!r}")
        result[key] = value
    return result


def parse_json(raw: bytes) -> Any:
    """Parse strict JSON: UTF-8, no NaN/Infinity, no duplicate keys, no overflowing numbers."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidJson("body is not UTF-8") from exc
    try:
        value = json.loads(text, parse_constant=_refuse_constant, object_pairs_hook=_unique_keys)
    except InvalidJson:
        raise
    except json.JSONDecodeError as exc:
        raise InvalidJson(f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from exc
    except ValueError as exc:  # e.g. an integer longer than Python's digit limit
        raise InvalidJson(f"malformed JSON: {exc}") from exc
    except RecursionError as exc:
        raise InvalidJson("JSON nested too deeply") from exc
    return value


def format_timestamp(moment: datetime) -> str:
    """Render a moment as the event's RFC 3339 UTC timestamp with milliseconds."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_timestamp(text: str) -> datetime:
    """Parse an event timestamp into an aware UTC datetime."""
    return datetime.fromisoformat(text).astimezone(UTC)


def new_event(body: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """Build a purchase event from a validated request body."""
    moment = now or datetime.now(UTC)
    return {
        "id": str(uuid.uuid4()),
        "username": body["username"],
        "userid": body["userid"],
        "price": body["price"],
        "timestamp": format_timestamp(moment),
    }


def encode_event(event: dict[str, Any]) -> bytes:
    """Serialize an event as compact UTF-8 JSON."""
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


@cache
def _property_validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(event_schema()["properties"][name])


def property_problem(name: str, value: Any) -> str | None:
    """Return why `value` is not a valid event field `name`, or None when it is."""
    error = next(iter(_property_validator(name).iter_errors(value)), None)
    return None if error is None else _humane(name, str(error.validator), error.message)
