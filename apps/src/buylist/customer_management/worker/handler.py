"""The worker's business step: sort a batch into storable events and rejects, store, dead-letter."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from buylist.common.schema import SCHEMA_VERSION, InvalidJson, event_problems, parse_json

MAX_EVENT_BYTES = 64 * 1024


class Record(Protocol):
    """The parts of a Kafka record the worker reads (kafka-python's ConsumerRecord has them)."""

    topic: str
    partition: int
    offset: int
    value: bytes | None
    headers: Sequence[tuple[str, bytes | None]] | None


class Store(Protocol):
    """Where events are kept; `save` is idempotent by event id."""

    def save(self, events: list[dict[str, Any]]) -> tuple[int, int]: ...


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record the worker will never be able to store, and why."""

    record: Record
    reason: str
    error: str


@dataclass(frozen=True, slots=True)
class Accepted:
    """A valid event with the record it came from."""

    record: Record
    event: dict[str, Any]


@dataclass(slots=True)
class BatchResult:
    """What happened to one batch."""

    accepted: list[Accepted] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    stored: int = 0
    duplicates: int = 0


def header(record: Record, name: str) -> str | None:
    """Return a record header decoded as UTF-8, or None."""
    for key, value in record.headers or ():
        if key == name and value is not None:
            return value.decode("utf-8", "replace")
    return None


def classify(record: Record) -> Accepted | Rejected:
    """Decide whether a record holds a valid version-1 purchase event."""
    version = header(record, "schema-version")
    if version != SCHEMA_VERSION:
        return Rejected(record, "unknown_schema_version", f"schema-version header is {version!r}, expected '1'")
    value = record.value or b""
    if len(value) > MAX_EVENT_BYTES:
        return Rejected(record, "oversized", f"{len(value)} bytes is more than {MAX_EVENT_BYTES}")
    try:
        event = parse_json(value)
    except InvalidJson as exc:
        return Rejected(record, "not_json", str(exc))
    problems = event_problems(event)
    if problems:
        return Rejected(record, "schema_invalid", "; ".join(f"{p['field']}: {p['message']}" for p in problems))
    return Accepted(record, event)


def handle(batch: Sequence[Record], store: Store, dead_letter: Callable[[list[Rejected]], None]) -> BatchResult:
    """Store a batch's valid events and dead-letter the rest; raise if either cannot be done now."""
    result = BatchResult()
    for record in batch:
        outcome = classify(record)
        if isinstance(outcome, Accepted):
            result.accepted.append(outcome)
        else:
            result.rejected.append(outcome)
    result.stored, result.duplicates = store.save([a.event for a in result.accepted])
    if result.rejected:
        dead_letter(result.rejected)
    return result
