"""Small client helpers shared by the integration tests."""

from __future__ import annotations

import re
import uuid
from typing import Any

import requests

from tests.support.processes import wait_until


def new_userid(prefix: str = "it") -> str:
    """Return a user id no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def buy(base: str, userid: str, price: float = 1.0, username: str = "Tester", timeout: float = 10) -> requests.Response:
    """POST one purchase."""
    return requests.post(f"{base}/buy", json={"username": username, "userid": userid, "price": price}, timeout=timeout)


def listed(base: str, userid: str, **params: Any) -> list[dict[str, Any]]:
    """GET one page of a user's purchases, asserting 200."""
    response = requests.get(f"{base}/getAllUserBuys/{userid}", params=params, timeout=10)
    assert response.status_code == 200, response.text
    body: list[dict[str, Any]] = response.json()
    return body


def list_all(base: str, userid: str) -> list[dict[str, Any]]:
    """Follow X-Next-Cursor through every page of a user's purchases."""
    purchases: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 100}
    while True:
        response = requests.get(f"{base}/getAllUserBuys/{userid}", params=params, timeout=10)
        assert response.status_code == 200, response.text
        purchases.extend(response.json())
        cursor = response.headers.get("X-Next-Cursor")
        if not cursor:
            return purchases
        params["cursor"] = cursor


def wait_listed(base: str, userid: str, count: int, timeout: float = 30) -> list[dict[str, Any]]:
    """Wait until a user has `count` purchases listed (over all pages) and return them."""
    result: list[dict[str, Any]] = []

    def check() -> bool:
        nonlocal result
        result = list_all(base, userid)
        return len(result) >= count

    wait_until(check, timeout, what=f"{count} purchases listed for {userid}")
    return result


def metric(base: str, name: str, **labels: str) -> float:
    """Return the sum of a metric's samples matching `labels` from a /metrics page."""
    text = requests.get(f"{base}/metrics", timeout=5).text
    total = 0.0
    for line in text.splitlines():
        match = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$", line)
        if not match or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(3) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(match.group(4))
    return total
