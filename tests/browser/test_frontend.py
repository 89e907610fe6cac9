"""The user-buy-frontend in Chromium, against the real customer-facing service, Kafka and MongoDB."""

from __future__ import annotations

import time
import urllib.parse
import uuid
from typing import Any

import pytest
import requests
from playwright.sync_api import Locator, Page, Request, Route, expect

pytestmark = pytest.mark.browser

# The UI polls for about 5 s after a buy; allow for a slow first consumer-group join on top.
LISTED_WITHIN_S = 20
PAGE_SIZE = 20  # the UI's page size (app.js)


def unique_userid() -> str:
    """Return a user id no other test uses; the dot and @ also exercise the path encoding end to end."""
    return f"web.{uuid.uuid4().hex[:12]}@test"


def buy(page: Page, username: str, userid: str, price: str) -> dict[str, Any]:
    """Fill in and submit the buy form; return the purchase the service answered with."""
    page.fill("#username", username)
    page.fill("#userid", userid)
    page.fill("#price", price)
    with page.expect_response("**/api/buy") as answer:
        page.click("#buy-submit")
    assert answer.value.status == 201, answer.value.text()
    purchase: dict[str, Any] = answer.value.json()["purchase"]
    return purchase


def row_of(page: Page, purchase_id: str) -> Locator:
    return page.locator("#purchases tr").filter(has_text=purchase_id)


def wait_until_listed(page: Page, userid: str, purchase_id: str) -> None:
    """Wait for the purchase's row; list again, as a user would, if the UI gave up waiting first."""
    deadline = time.monotonic() + LISTED_WITHIN_S
    while row_of(page, purchase_id).count() == 0:
        assert time.monotonic() < deadline, f"purchase {purchase_id} never appeared in the list"
        status = page.locator("#list-status")
        if "List again" in (status.text_content() or ""):
            page.fill("#list-userid", userid)
            page.click("#list-submit")
        page.wait_for_timeout(250)


def api(frontend_url: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """Call the service through the frontend's /api proxy, as the browser does."""
    response = requests.request(method, f"{frontend_url}/api{path}", json=body, timeout=10)
    response.raise_for_status()
    return response.json()


def test_page_is_served_with_security_headers(page: Page, frontend_url: str) -> None:
    response = page.goto(frontend_url)
    assert response is not None
    assert response.ok
    headers = response.headers
    assert "default-src 'self'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert "no-cache" in headers["cache-control"]
    expect(page).to_have_title("User Buy List")


def test_bought_purchase_appears_in_the_list(page: Page, frontend_url: str) -> None:
    userid = unique_userid()
    page.goto(frontend_url)

    purchase = buy(page, "Alice Example", userid, "12.50")

    expect(page.locator("#buy-status")).to_contain_text("recorded — it will appear in the list in a moment")
    # The UI switches the list to the buyer and refreshes it by itself.
    expect(page.locator("#list-userid")).to_have_value(userid)
    wait_until_listed(page, userid, purchase["id"])
    row = row_of(page, purchase["id"])
    expect(row).to_contain_text("Alice Example")
    expect(row).to_contain_text("12.50")
    expect(page.locator("#purchases tr")).to_have_count(1)

    # A fresh visit lists it too, driven from the keyboard only.
    page.reload()
    page.focus("#list-userid")
    page.keyboard.type(userid)
    page.keyboard.press("Enter")
    expect(row_of(page, purchase["id"])).to_contain_text("Alice Example")
    expect(page.locator("#list-status")).to_contain_text(f"Showing 1 purchase for {userid}")
    expect(page.locator("#load-more")).to_be_hidden()


def test_markup_in_usernames_is_shown_as_text(page_without_csp: Page, frontend_url: str) -> None:
    # The CSP is bypassed here: escaping alone has to keep these inert.
    page = page_without_csp
    userid = unique_userid()
    names = ["<script>window.__xss=1</script>", '<img src=x onerror="window.__xss=1">']
    page.goto(frontend_url)

    ids = [buy(page, name, userid, "3")["id"] for name in names]
    for purchase_id in ids:
        wait_until_listed(page, userid, purchase_id)
    page.reload()
    page.fill("#list-userid", userid)
    page.click("#list-submit")

    cells = page.locator("#purchases td.username")
    expect(cells).to_have_count(2)
    assert sorted(cells.all_text_contents()) == sorted(names)
    expect(page.locator("#purchases img, #purchases script")).to_have_count(0)
    page.wait_for_timeout(300)  # give a would-be onerror handler its chance to run
    assert page.evaluate("typeof window.__xss") == "undefined"


def test_invalid_price_is_refused_before_sending(page: Page, frontend_url: str) -> None:
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.url) if "/api/" in request.url else None)
    page.goto(frontend_url)
    page.fill("#username", "Bob")
    page.fill("#userid", unique_userid())

    page.click("#buy-submit")
    expect(page.locator("#price-error")).to_have_text("Enter a price.")
    expect(page.locator("#buy-status")).to_have_text("Enter a price.")
    expect(page.locator("#price")).to_be_focused()
    expect(page.locator("#price")).to_have_attribute("aria-invalid", "true")

    page.fill("#price", "-5")
    page.click("#buy-submit")
    expect(page.locator("#price-error")).to_have_text("Price must be a positive number, like 12.50.")

    page.fill("#price", "1000000.01")
    page.click("#buy-submit")
    expect(page.locator("#price-error")).to_have_text("Price can be at most 1,000,000.")

    page.wait_for_timeout(300)
    assert sent == []


def test_unknown_user_shows_the_empty_state(page: Page, frontend_url: str) -> None:
    userid = unique_userid()
    page.goto(frontend_url)
    page.fill("#list-userid", userid)
    page.click("#list-submit")

    expect(page.locator("#list-status")).to_have_text(f"No purchases yet for {userid}.")
    expect(page.locator("#purchases tr")).to_have_count(0)
    expect(page.locator("#load-more")).to_be_hidden()


def test_busy_service_shows_a_friendly_message(page: Page, frontend_url: str) -> None:
    def busy(route: Route) -> None:
        route.fulfill(
            status=503,
            headers={"Retry-After": "3"},
            json={"error": "kafka_unavailable", "message": "Kafka did not acknowledge the event"},
        )

    page.route("**/api/buy", busy)
    page.goto(frontend_url)
    page.fill("#username", "Carol")
    page.fill("#userid", unique_userid())
    page.fill("#price", "9.99")
    page.click("#buy-submit")

    expect(page.locator("#buy-status")).to_have_text("The service is busy, try again in 3 seconds.")
    expect(page.locator("#buy-submit")).to_have_text("Buy")
    expect(page.locator("#price")).to_have_value("9.99")  # nothing lost: the user can simply retry


def test_server_message_and_network_errors_are_shown(page: Page, frontend_url: str) -> None:
    def rejected(route: Route) -> None:
        route.fulfill(status=422, json={"error": "invalid_price", "message": "price must have at most 2 decimals"})

    page.route("**/api/buy", rejected)
    page.goto(frontend_url)
    page.fill("#username", "Dan")
    page.fill("#userid", unique_userid())
    page.fill("#price", "1.5")
    page.click("#buy-submit")
    expect(page.locator("#buy-status")).to_have_text("price must have at most 2 decimals")

    page.unroute("**/api/buy")
    page.route("**/api/**", lambda route: route.abort("connectionrefused"))
    page.click("#buy-submit")
    expect(page.locator("#buy-status")).to_have_text("Could not reach the server. Check your connection and try again.")


def test_retry_after_a_lost_answer_reuses_the_idempotency_key(page: Page, frontend_url: str) -> None:
    keys: list[str | None] = []

    def lose_first_answer(route: Route, request: Request) -> None:
        keys.append(request.headers.get("idempotency-key"))
        if len(keys) == 1:
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/api/buy", lose_first_answer)
    userid = unique_userid()
    page.goto(frontend_url)
    page.fill("#username", "Erin")
    page.fill("#userid", userid)
    page.fill("#price", "4.20")
    page.click("#buy-submit")
    expect(page.locator("#buy-status")).to_contain_text("Could not reach the server")

    page.click("#buy-submit")
    expect(page.locator("#buy-status")).to_contain_text("recorded")
    assert len(keys) == 2
    assert keys[0]
    assert keys[0] == keys[1]


def test_load_more_pages_through_older_purchases(page: Page, frontend_url: str) -> None:
    userid = unique_userid()
    total = PAGE_SIZE + 3
    for n in range(total):
        api(frontend_url, "POST", "/buy", {"username": f"buyer {n}", "userid": userid, "price": n + 1})
    deadline = time.monotonic() + LISTED_WITHIN_S
    path = "/getAllUserBuys/" + urllib.parse.quote(userid, safe="").replace(".", "%2E") + "?limit=100"
    while len(api(frontend_url, "GET", path)) < total:
        assert time.monotonic() < deadline, "purchases never all reached the list"
        time.sleep(0.25)

    page.goto(frontend_url)
    page.fill("#list-userid", userid)
    page.click("#list-submit")
    rows = page.locator("#purchases tr")
    expect(rows).to_have_count(PAGE_SIZE)
    expect(page.locator("#list-status")).to_contain_text("Load more")

    page.click("#load-more")
    expect(rows).to_have_count(total)
    names = page.locator("#purchases td.username").all_text_contents()
    assert sorted(names) == sorted(f"buyer {n}" for n in range(total))
    expect(page.locator("#load-more")).to_be_hidden()
    expect(page.locator("#list-status")).to_have_text(f"Showing {total} purchases for {userid}.")
