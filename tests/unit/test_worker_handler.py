"""The worker's business step sorts records into stored events and dead letters."""

from dataclasses import dataclass, field

import pytest

from buylist.common.schema import encode_event, new_event
from buylist.customer_management.store import StoreUnavailable
from buylist.customer_management.worker.handler import MAX_EVENT_BYTES, Accepted, Rejected, classify, handle

pytestmark = pytest.mark.unit

V1 = [("schema-version", b"1")]


@dataclass
class Rec:
    value: bytes | None
    headers: list[tuple[str, bytes | None]] = field(default_factory=lambda: list(V1))
    topic: str = "purchases"
    partition: int = 0
    offset: int = 0


class FakeStore:
    def __init__(self, fail: bool = False) -> None:
        self.saved: dict[str, dict] = {}
        self.fail = fail

    def save(self, events):
        if self.fail:
            raise StoreUnavailable("down")
        new = [e for e in events if e["id"] not in self.saved]
        self.saved.update({e["id"]: e for e in new})
        return len(new), len(events) - len(new)


def good(**kw):
    return Rec(encode_event(new_event({"username": "a", "userid": "u", "price": 1})), **kw)


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        (Rec(b"not json"), "not_json"),
        (Rec(b'{"price": NaN}'), "not_json"),
        (Rec(None), "not_json"),
        (Rec(b'{"id": "x"}'), "schema_invalid"),
        (Rec(b"[]"), "schema_invalid"),
        (Rec(b"{}", headers=[("schema-version", b"2")]), "unknown_schema_version"),
        (Rec(b"{}", headers=[]), "unknown_schema_version"),
        (Rec(b" " * (MAX_EVENT_BYTES + 1)), "oversized"),
    ],
)
def test_poison_records_are_rejected_with_a_reason(record, reason):
    outcome = classify(record)
    assert isinstance(outcome, Rejected)
    assert outcome.reason == reason
    assert outcome.error


def test_valid_record_is_accepted_as_its_event():
    record = good()
    outcome = classify(record)
    assert isinstance(outcome, Accepted)
    assert outcome.event["userid"] == "u"


def test_handle_stores_good_events_once_and_dead_letters_the_rest():
    store, dead = FakeStore(), []
    batch = [good(offset=0), Rec(b"junk", offset=1), good(offset=2)]
    result = handle(batch, store, dead.extend)
    assert (result.stored, result.duplicates) == (2, 0)
    assert [r.record.offset for r in dead] == [1]
    again = handle(batch, store, dead.extend)
    assert (again.stored, again.duplicates) == (0, 2)
    assert len(store.saved) == 2


def test_handle_raises_when_the_store_is_down_and_dead_letters_nothing():
    dead = []
    with pytest.raises(StoreUnavailable):
        handle([good(), Rec(b"junk")], FakeStore(fail=True), dead.extend)
    assert dead == []
