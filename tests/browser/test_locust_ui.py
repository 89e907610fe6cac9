"""The chart's Locust web UI behind a sub-path, for real: the master runs the chart's files with `--web-base-path`,
a worker joins it, and nginx forwards `/locust` unchanged as the chart's Ingress does. Chromium then loads the UI
through the proxy, starts a run and stops it; no request may miss.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from playwright.sync_api import Page, Response, expect

from tests.support.locust import LocustMaster, SubPathProxy, copy_chart_loadtests
from tests.support.processes import Process

pytestmark = pytest.mark.browser

BASE_PATH = "/locust"  # the chart's locust.ingress.path default


@dataclass
class LocustUI:
    master: LocustMaster
    worker: Process
    proxy: SubPathProxy

    @property
    def ui(self) -> str:
        """Return the URL NOTES.txt tells you to open through the Ingress."""
        return f"{self.proxy.url}{BASE_PATH}/"


@pytest.fixture(scope="module")
def locust_ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocustUI]:
    """Start master, worker and proxy on free ports; stop all three however the tests end."""
    root = tmp_path_factory.mktemp("locust")
    loadtests = copy_chart_loadtests(root / "loadtests")
    # The users' target: the proxy itself, which answers 404 outside the sub-path. The run only has to make requests.
    master = LocustMaster(root, loadtests, BASE_PATH, target_host="")
    proxy = SubPathProxy(root, master)
    master.target_host = f"{proxy.url}/target"
    try:
        master.start()
        worker = master.start_worker()
        proxy.start()
        yield LocustUI(master, worker, proxy)
    finally:
        proxy.stop()
        master.stop()


def test_page_and_its_assets_load_under_the_sub_path(locust_ui: LocustUI) -> None:
    page = requests.get(locust_ui.ui, timeout=5)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    references = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert any(r.endswith(".js") for r in references), references
    for reference in references:
        url = urljoin(locust_ui.ui, reference)
        assert urlsplit(url).path.startswith(f"{BASE_PATH}/"), f"{reference} leaves the sub-path"
        asset = requests.get(url, timeout=5)
        assert asset.status_code == 200, f"{url}: {asset.status_code}"
        if url.endswith(".js"):
            assert "javascript" in asset.headers["Content-Type"]


def test_stats_answer_json_under_the_sub_path(locust_ui: LocustUI) -> None:
    stats = requests.get(f"{locust_ui.ui}stats/requests", timeout=5)
    assert stats.status_code == 200
    assert stats.headers["Content-Type"] == "application/json"
    body = stats.json()
    assert {"stats", "state", "total_rps", "fail_ratio"} <= set(body)
    assert requests.get(f"{locust_ui.ui}worker-count", timeout=5).json() == {"worker_count": 1}


def test_the_path_without_slash_is_redirected_behind_the_proxy(locust_ui: LocustUI) -> None:
    # Locust builds the Location from the Host header, which ingress controllers pass on.
    answer = requests.get(f"{locust_ui.proxy.url}{BASE_PATH}", allow_redirects=False, timeout=5)
    assert answer.status_code in (301, 308)
    assert answer.headers["Location"] == locust_ui.ui


def test_through_a_port_forward_the_ui_is_under_the_base_path_too(locust_ui: LocustUI) -> None:
    # Straight at the master, as `kubectl port-forward` reaches it: the base path applies there as well.
    assert requests.get(f"{locust_ui.master.url}/", timeout=5).status_code == 404
    direct = requests.get(f"{locust_ui.master.url}{BASE_PATH}/", timeout=5)
    assert direct.status_code == 200
    assert "<title>Locust</title>" in direct.text
    assert requests.get(f"{locust_ui.proxy.url}/", timeout=5).status_code == 404, "only the sub-path is routed"


def test_ui_renders_runs_and_stops_through_the_proxy(locust_ui: LocustUI, page: Page) -> None:
    answers: list[Response] = []
    page.on("response", lambda answer: answers.append(answer))
    page.goto(locust_ui.ui)
    expect(page.get_by_text("Start new load test")).to_be_visible()
    # The locustfile's own option, set from LOCUST_LOAD_PROFILE as the chart's ConfigMap sets it.
    expect(page.locator("#loadProfile")).to_have_value("smoke")
    expect(page.locator("input[name=host]")).to_have_value(f"{locust_ui.proxy.url}/target")
    with page.expect_response(lambda r: urlsplit(r.url).path == f"{BASE_PATH}/swarm") as swarm:
        page.get_by_role("button", name="Start", exact=True).click()
    assert swarm.value.status == 200
    assert swarm.value.json()["success"] is True, swarm.value.json()
    # Statistics travel from the worker through the master to the page, all under the sub-path.
    expect(page.get_by_text(re.compile(r"^(spawning|running)$", re.IGNORECASE))).to_be_visible()
    page.wait_for_function(
        f"fetch('{BASE_PATH}/stats/requests').then(r => r.json()).then(b => b.stats.some(s => s.num_requests > 0))",
        polling=500,
    )
    with page.expect_response(lambda r: urlsplit(r.url).path == f"{BASE_PATH}/stop") as stop:
        page.get_by_role("button", name="Stop", exact=True).click()
    assert stop.value.status == 200
    expect(page.get_by_text(re.compile(r"^stopped$", re.IGNORECASE))).to_be_visible()
    ours = [a for a in answers if urlsplit(a.url).port == locust_ui.proxy.port]
    assert ours, "the page made no request through the proxy"
    missed = [f"{a.status} {a.url}" for a in ours if a.status >= 400]
    assert not missed, "requests that failed through the proxy:\n" + "\n".join(missed)
    outside = [a.url for a in ours if not urlsplit(a.url).path.startswith(f"{BASE_PATH}/")]
    assert not outside, f"requests outside the sub-path: {outside}"
