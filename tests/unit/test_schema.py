"""One JSON Schema decides what a purchase is, for the API, the worker and the tests."""

import json
import math
import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from buylist.common.schema import (
    InvalidJson,
    _accepts,
    _validator,
    encode_event,
    event_problems,
    event_schema,
    new_event,
    parse_json,
    parse_timestamp,
    property_problem,
    request_problems,
)

pytestmark = pytest.mark.unit

GOOD = {"username": "Ann", "userid": "ann-1", "price": 12.5}


def fields(problems):
    return {p["field"] for p in problems}


def test_valid_request_has_no_problems():
    assert request_problems(GOOD) == []
    assert request_problems({**GOOD, "price": 1}) == []
    assert request_problems({**GOOD, "username": "<script>alert(1)</script>"}) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**GOOD, "username": ""}, "username"),
        ({**GOOD, "username": "   "}, "username"),
        ({**GOOD, "username": "a\nb"}, "username"),
        ({**GOOD, "username": "Ann\n"}, "username"),
        ({**GOOD, "username": "x" * 101}, "username"),
        ({**GOOD, "userid": ""}, "userid"),
        ({**GOOD, "userid": "../purchases"}, "userid"),
        ({**GOOD, "userid": "a/b"}, "userid"),
        ({**GOOD, "userid": "ann\n"}, "userid"),
        ({**GOOD, "userid": "."}, "userid"),
        ({**GOOD, "userid": "..."}, "userid"),
        ({**GOOD, "userid": "x" * 65}, "userid"),
        ({**GOOD, "price": 0}, "price"),
        ({**GOOD, "price": -1}, "price"),
        ({**GOOD, "price": "12"}, "price"),
        ({**GOOD, "price": True}, "price"),
        ({**GOOD, "price": None}, "price"),
        ({**GOOD, "price": [1]}, "price"),
        ({**GOOD, "price": {"v": 1}}, "price"),
        ({**GOOD, "price": math.inf}, "price"),
        ({**GOOD, "price": 1_000_000.01}, "price"),
        ({**GOOD, "username": 5}, "username"),
        ({**GOOD, "userid": ["a"]}, "userid"),
    ],
)
def test_each_bad_field_is_reported_by_name(body, field):
    assert field in fields(request_problems(body))


@pytest.mark.parametrize("body", [[], "x", 1, None, {}, {**GOOD, "id": "chosen-by-client"}])
def test_bodies_that_are_not_a_purchase_request_are_refused(body):
    assert request_problems(body)


def test_new_event_is_a_valid_event_with_uuid_and_utc_millis():
    event = new_event(GOOD, now=datetime(2026, 1, 31, 12, 0, 0, 123456, tzinfo=UTC))
    assert event_problems(event) == []
    assert event["timestamp"] == "2026-01-31T12:00:00.123Z"
    assert parse_timestamp(event["timestamp"]) == datetime(2026, 1, 31, 12, 0, 0, 123000, tzinfo=UTC)
    assert json.loads(encode_event(event)) == event


@pytest.mark.parametrize(
    "change",
    [
        {"id": "not-a-uuid"},
        {"id": "A0000000-0000-4000-8000-000000000000"},
        {"timestamp": "2026-01-31 12:00:00"},
        {"timestamp": "2026-01-31T12:00:00.000Z\n"},
        {"extra": 1},
    ],
)
def test_event_problems_catch_what_a_producer_could_get_wrong(change):
    event = {**new_event(GOOD), **change}
    assert event_problems(event)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"{",
        b'{"price": NaN}',
        b'{"price": Infinity}',
        b'{"price": -Infinity}',
        b'{"a": 1, "a": 2}',
        b"\xff\xfe",
        b"[" * 50_000,
        b"1" * 5000,
    ],
)
def test_parse_json_refuses_what_is_not_strict_json(raw):
    with pytest.raises(InvalidJson):
        parse_json(raw)


def test_parse_json_turns_overflowing_floats_into_infinity_which_the_schema_refuses():
    body = parse_json(b'{"username": "a", "userid": "b", "price": 1e309}')
    assert math.isinf(body["price"])
    assert "price" in fields(request_problems(body))


def test_property_problem_checks_one_field_with_a_readable_message():
    assert property_problem("userid", "ann-1") is None
    assert property_problem("userid", "a.b") is None
    assert property_problem("userid", "..%2F") == "may only contain letters, digits and . _ @ : - (and not only dots)"


def test_schema_is_draft_2020_12_and_closed():
    schema = event_schema()
    assert schema["$schema"].endswith("2020-12/schema")
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"id", "username", "userid", "price", "timestamp"}


# The fast check (fastjsonschema) may only ever say "valid" where jsonschema does; anything it refuses is
# validated again by jsonschema for the error messages. For the request schema the two must agree exactly.
_USERNAMES = st.text(
    alphabet=st.sampled_from("Ab \t\n\r\x00\x1f\x7f\x85\xa0\u2028\ufeff\u3000é😀"), max_size=6
) | st.text(max_size=120)
_USERIDS = st.text(alphabet=st.sampled_from("aZ09._@:-/ \n"), max_size=8) | st.text(min_size=60, max_size=70)
_PRICES = (
    st.floats(allow_nan=False, allow_infinity=True)
    | st.integers(min_value=-2, max_value=2_000_000)
    | st.sampled_from([0, 0.0, -0.0, 5e-324, 1_000_000, 1_000_000.0, 1_000_000.0000001, True, False, None, "1", [1]])
)
_TIMESTAMPS = st.sampled_from(["2026-01-31T12:00:00.123Z", "2026-01-31T12:00:00.123Z\n", "2026-01-31T12:00:00Z", ""])


def _jsonschema_valid(kind, document):
    return not list(_validator(kind).iter_errors(document))


@st.composite
def _documents(draw, kind):
    candidates = {"username": _USERNAMES, "userid": _USERIDS, "price": _PRICES}
    if kind == "event":
        candidates |= {"id": st.sampled_from([str(uuid.uuid4()), "A" * 36, ""]), "timestamp": _TIMESTAMPS}
    document = {name: draw(strategy) for name, strategy in candidates.items() if draw(st.integers(0, 9)) > 0}
    if draw(st.integers(0, 9)) == 0:
        document[draw(st.sampled_from(["extra", "id", "Price"]))] = 1
    return document


@settings(max_examples=600, deadline=None)
@given(_documents("request"))
def test_the_fast_request_check_agrees_with_jsonschema(document):
    assert _accepts("request")(document) == _jsonschema_valid("request", document)


@settings(max_examples=400, deadline=None)
@given(_documents("event"))
def test_the_fast_event_check_never_accepts_what_jsonschema_refuses(document):
    if _accepts("event")(document):
        assert _jsonschema_valid("event", document)


@pytest.mark.parametrize("body", [[], "x", 1, None, {}, GOOD, {**GOOD, "price": math.inf}, {**GOOD, "userid": "..."}])
def test_the_fast_request_check_agrees_on_the_listed_cases(body):
    assert _accepts("request")(body) == _jsonschema_valid("request", body)


def test_valid_purchases_take_the_fast_path():
    """Without it every purchase pays jsonschema's full walk again."""
    assert _accepts("request")(GOOD)
    assert _accepts("event")(new_event(GOOD))
