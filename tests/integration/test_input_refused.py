"""Bad input gets a clear 4xx JSON error and changes nothing; path tricks never reach other data."""

from __future__ import annotations

import json
import uuid

import pytest
import requests

from tests.integration.helpers import buy, listed, metric, new_userid, wait_listed
from tests.support.stack import Stack

pytestmark = pytest.mark.integration

# Every bad body carries this marker user id where it has one, so "nothing stored" is checkable.
MARK = f"bad-{uuid.uuid4().hex[:10]}"


def body(**fields: object) -> bytes:
    return json.dumps({"username": "Mallory", "userid": MARK, "price": 5, **fields}).encode()


def raw(text: str) -> bytes:
    return text.replace("MARK", MARK).encode()


JSON = "application/json"
CASES = [
    ("missing username", raw('{"userid": "MARK", "price": 1}'), JSON, 422),
    ("missing userid", raw('{"username": "a", "price": 1}'), JSON, 422),
    ("missing price", raw('{"username": "a", "userid": "MARK"}'), JSON, 422),
    ("empty object", b"{}", JSON, 422),
    ("blank username", body(username="   "), JSON, 422),
    ("empty username", body(username=""), JSON, 422),
    ("tab-only username", body(username="\t"), JSON, 422),
    ("control char username", body(username="a\u0000b"), JSON, 422),
    ("blank userid", body(userid=" "), JSON, 422),
    ("slash in userid", body(userid=f"{MARK}/../x"), JSON, 422),
    ("numeric username", body(username=123), JSON, 422),
    ("null username", body(username=None), JSON, 422),
    ("price as string", body(price="5"), JSON, 422),
    ("price as bool", body(price=True), JSON, 422),
    ("price null", body(price=None), JSON, 422),
    ("price array", body(price=[5]), JSON, 422),
    ("price object", body(price={"amount": 5}), JSON, 422),
    ("price zero", body(price=0), JSON, 422),
    ("price negative", body(price=-5), JSON, 422),
    ("price too large", body(price=10**7), JSON, 422),
    ("price NaN", raw('{"username": "a", "userid": "MARK", "price": NaN}'), JSON, 400),
    ("price Infinity", raw('{"username": "a", "userid": "MARK", "price": Infinity}'), JSON, 400),
    ("price -Infinity", raw('{"username": "a", "userid": "MARK", "price": -Infinity}'), JSON, 400),
    ("price 1e309", raw('{"username": "a", "userid": "MARK", "price": 1e309}'), JSON, 422),
    ("price 5000 digits", raw('{"username": "a", "userid": "MARK", "price": ' + "9" * 5000 + "}"), JSON, 400),
    ("nested username", body(username={"$gt": ""}), JSON, 422),
    ("unknown field", body(admin=True), JSON, 422),
    ("client-chosen id", body(id=str(uuid.uuid4())), JSON, 422),
    ("huge username", body(username="x" * 5000), JSON, 422),
    ("huge body", body(username="x" * 40000), JSON, 413),
    ("array body", b"[]", JSON, 422),
    ("string body", b'"hello"', JSON, 422),
    ("truncated JSON", raw('{"username": "a", "userid": "MARK"'), JSON, 400),
    ("duplicate keys", raw('{"username": "a", "userid": "MARK", "price": 1, "price": 2}'), JSON, 400),
    ("not UTF-8", b'{"username": "\xff", "userid": "x", "price": 1}', JSON, 400),
    ("empty body", b"", JSON, 400),
    ("text/plain", body(), "text/plain", 415),
    ("form encoded", raw("username=a&userid=MARK&price=1"), "application/x-www-form-urlencoded", 415),
    ("no content type", body(), "", 415),
    ("xml", raw("<buy><userid>MARK</userid></buy>"), "application/xml", 415),
]


@pytest.fixture(scope="module")
def produced_before(stack: Stack) -> float:
    return metric(stack.services.facing_url, "kafka_producer_messages_total", topic="purchases")


@pytest.mark.parametrize(("data", "content_type", "status"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_buy_is_a_clear_4xx_json_error(stack: Stack, produced_before: float, data, content_type, status):
    headers = {"Content-Type": content_type} if content_type else {}
    response = requests.post(f"{stack.services.facing_url}/buy", data=data, headers=headers, timeout=10)
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()
    assert set(error) >= {"error", "message"}
    assert error["message"]
    assert "Traceback" not in response.text


def test_nothing_from_the_bad_inputs_was_produced_or_stored(stack: Stack, produced_before: float):
    s = stack.services
    assert metric(s.facing_url, "kafka_producer_messages_total", topic="purchases") == produced_before
    # A good purchase for the same user still flows, and it is the only one stored.
    assert buy(s.facing_url, MARK).status_code == 201
    assert len(wait_listed(s.facing_url, MARK, 1)) == 1
    assert len(stack.mongo.purchases(s.database, userid=MARK)) == 1


def test_wrong_methods_and_unknown_paths_are_json(stack: Stack):
    base = stack.services.facing_url
    for method, path, status in [("GET", "/buy", 405), ("DELETE", "/buy", 405), ("GET", "/nowhere", 404)]:
        response = requests.request(method, f"{base}{path}", timeout=10)
        assert response.status_code == status
        assert response.json()["error"]


@pytest.mark.parametrize(
    "path",
    [
        "..%2Fpurchases%2FVICTIM",
        "%2E%2E%2Fpurchases%2FVICTIM",
        "%2E",
        "%2E%2E",
        "..",
        "VICTIM%2F..",
        "VICTIM%00",
        "VICTIM%20",
        "VICTIM%3Flimit%3D1",
        "VICTIM%23",
        "%2FVICTIM",
        "VICTIM%2Fx",
        "VICTIM;x",
        "VICTIM%5C",
        "*",
    ],
)
def test_path_injection_never_reaches_another_endpoint_or_user(stack: Stack, path: str, victim: str):
    url = f"{stack.services.facing_url}/getAllUserBuys/{path.replace('VICTIM', victim)}"
    # Sent as-is: requests would otherwise normalise the dots before they reach the server.
    session = requests.Session()
    prepared = requests.Request("GET", url).prepare()
    prepared.url = url
    response = session.send(prepared, timeout=10, allow_redirects=False)
    assert response.status_code in (200, 400, 404), response.text
    assert response.headers["Content-Type"].startswith("application/json")
    if response.status_code == 200:
        assert all(p["userid"] != victim for p in response.json())
    assert victim not in response.text or response.status_code != 200


@pytest.fixture(scope="module")
def victim(stack: Stack) -> str:
    userid = new_userid("victim")
    assert buy(stack.services.facing_url, userid, price=99).status_code == 201
    wait_listed(stack.services.facing_url, userid, 1)
    assert listed(stack.services.facing_url, userid)
    return userid
