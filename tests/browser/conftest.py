"""Browser fixtures: Debian's Chromium driven by Playwright (never a browser Playwright downloads)."""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Dialog, Page, sync_playwright

CHROMIUM = os.environ.get("BUYLIST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Playwright's default is 30 s; the UI answers in well under a second, so fail fast and readably.
TIMEOUT_MS = 10_000
_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Remember whether the test body failed, so the page fixture can keep a screenshot."""
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Start one headless Chromium for the session."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"Chromium not found at {CHROMIUM}; run scripts/install.sh chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _open_page(browser: Browser, request: pytest.FixtureRequest, tmp_path: Path, *, bypass_csp: bool) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="en-US", bypass_csp=bypass_csp)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        # A failed fetch is logged by Chromium itself and some tests cause one on purpose;
        # anything else at error level (a CSP violation, a script error) is a defect.
        if message.type == "error" and "Failed to load resource" not in message.text:
            problems.append(f"console error: {message.text}")

    def on_dialog(dialog: Dialog) -> None:
        # alert() and friends only ever come from injected script: the UI opens no dialogs.
        problems.append(f"unexpected dialog: {dialog.message}")
        dialog.dismiss()

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"uncaught exception: {error}"))
    page.on("dialog", on_dialog)
    try:
        yield page
        if request.node.stash.get(_FAILED, False):
            shot = tmp_path / "failure.png"
            page.screenshot(path=str(shot), full_page=True)
            print(f"screenshot of the failing page: {shot}")
        if problems:
            pytest.fail("the page reported problems:\n" + "\n".join(problems))
    finally:
        context.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Page]:
    """Give each test a fresh browser context: no cookies, storage or routes leak between tests."""
    yield from _open_page(browser, request, tmp_path, bypass_csp=False)


@pytest.fixture
def page_without_csp(browser: Browser, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Page]:
    """Like `page`, but ignoring the Content-Security-Policy, so rendering must be safe on its own."""
    yield from _open_page(browser, request, tmp_path, bypass_csp=True)
