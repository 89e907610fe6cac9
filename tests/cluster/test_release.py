"""The chart on a real cluster: install it as `make deploy` does, then prove every promise a render cannot.

Needs KUBECONFIG (or --kubeconfig), kubectl on PATH, helm from scripts/install.sh, network access for
`helm dependency build`, and the images in the cluster (`make deploy` builds them inside minikube).
Settings (environment): BUYLIST_NAMESPACE (buylist), BUYLIST_RELEASE (buylist), BUYLIST_IMAGE_TAG (dev),
BUYLIST_CLUSTER_VALUES (ci/minikube-values.yaml, relative to the chart), BUYLIST_PULL_POLICY (Never).
The release is installed or upgraded in place (idempotent, like `make deploy`) and left running: KEDA and
prometheus-adapter register cluster-wide APIs, so a second throwaway copy would fight the first.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from pytest_helm_charts.clusters import Cluster
from pytest_helm_charts.k8s.deployment import wait_for_deployments_to_run

from tests.chart.support import CHART, helm_path
from tests.support.processes import free_port

pytestmark = pytest.mark.cluster

NAMESPACE = os.environ.get("BUYLIST_NAMESPACE", "buylist")
RELEASE = os.environ.get("BUYLIST_RELEASE", "buylist")
TAG = os.environ.get("BUYLIST_IMAGE_TAG", "dev")
VALUES = CHART / os.environ.get("BUYLIST_CLUSTER_VALUES", "ci/minikube-values.yaml")
PULL_POLICY = os.environ.get("BUYLIST_PULL_POLICY", "Never")
COMPONENTS = ("customer-facing", "customer-management-api", "customer-management-worker", "user-buy-frontend")


def _name(component: str) -> str:
    # The chart's fullname: the release name when it contains "buylist", else <release>-buylist.
    prefix = RELEASE if "buylist" in RELEASE else f"{RELEASE}-buylist"
    return f"{prefix}-{component}"


def _run(cmd: list[str], kubeconfig: str, timeout: float = 1200) -> str:
    done = subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout, env={**os.environ, "KUBECONFIG": kubeconfig}
    )
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _helm_upgrade(kubeconfig: str) -> None:
    helm = str(helm_path())
    _run(
        [
            helm, "upgrade", "--install", RELEASE, str(CHART), "-n", NAMESPACE, "--create-namespace",
            "--wait", "--timeout", "15m", "-f", str(VALUES),
            "--set", "image.backend.repository=buylist/backend", "--set", f"image.backend.tag={TAG}",
            "--set", "image.frontend.repository=buylist/frontend", "--set", f"image.frontend.tag={TAG}",
            "--set", f"image.pullPolicy={PULL_POLICY}",
        ],
        kubeconfig,
    )  # fmt: skip


@pytest.fixture(scope="module")
def release(kube_cluster: Cluster) -> Cluster:
    """Install or upgrade the release in two passes: the second renders the ScaledObject once KEDA's CRDs exist."""
    kubeconfig = str(kube_cluster.kube_config_path)
    if not (CHART / "charts").is_dir():
        _run([str(helm_path()), "dependency", "build", str(CHART)], kubeconfig)
    _helm_upgrade(kubeconfig)
    kube_cluster.kubectl("wait --for condition=established --timeout=5m crd/scaledobjects.keda.sh", output_format="")
    _helm_upgrade(kubeconfig)
    return kube_cluster


def test_every_component_rolls_out(release: Cluster) -> None:
    assert release.kube_client is not None
    wait_for_deployments_to_run(release.kube_client, [_name(c) for c in COMPONENTS], NAMESPACE, timeout_sec=600)


@pytest.fixture
def frontend_url(release: Cluster) -> Iterator[str]:
    """Port-forward the frontend Service, so the purchase takes the browser's path through nginx."""
    port = free_port()
    cmd = ["kubectl", "-n", NAMESPACE, "port-forward", f"svc/{_name('user-buy-frontend')}", f"{port}:80"]
    forward = subprocess.Popen(
        cmd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "KUBECONFIG": str(release.kube_config_path)},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(url + "/healthz", timeout=2)
                break
            except requests.RequestException:
                if time.monotonic() > deadline or forward.poll() is not None:
                    raise
                time.sleep(0.5)
        yield url
    finally:
        forward.terminate()
        forward.wait(timeout=10)


def test_a_purchase_made_through_the_ui_path_is_listed_back(frontend_url: str) -> None:
    userid = f"cluster-{uuid.uuid4().hex[:12]}"
    bought = requests.post(
        frontend_url + "/api/buy", json={"username": "cluster tier", "userid": userid, "price": 12.5}, timeout=10
    )
    assert bought.status_code == 201, bought.text
    purchase = bought.json()["purchase"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        listed = requests.get(frontend_url + f"/api/getAllUserBuys/{userid}", timeout=10)
        assert listed.status_code == 200, listed.text
        if [p["id"] for p in listed.json()] == [purchase["id"]]:
            return
        time.sleep(1)
    pytest.fail(f"purchase {purchase['id']} was never listed back")


def _poll(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(5)
    pytest.fail(f"{what} (last seen: {last})")


def test_hpa_reads_the_in_flight_metric(release: Cluster) -> None:
    path = f"/apis/custom.metrics.k8s.io/v1beta1/namespaces/{NAMESPACE}/pods/*/http_requests_in_flight"

    def served() -> list[dict[str, Any]]:
        try:
            raw = release.kubectl(f"get --raw {path}", output_format="")
        except subprocess.CalledProcessError:
            return []
        return [i for i in json.loads(raw).get("items", []) if _name("customer-facing") in i["describedObject"]["name"]]

    _poll(served, 300, "prometheus-adapter never served http_requests_in_flight for customer-facing")

    def hpa_reads_it() -> list[dict[str, Any]]:
        hpa = release.kubectl(f"get hpa {_name('customer-facing')} -n {NAMESPACE}")
        current = hpa.get("status", {}).get("currentMetrics") or []
        return [m for m in current if m.get("type") == "Pods" and "current" in m["pods"]]

    _poll(hpa_reads_it, 300, "the customer-facing HPA never reported a current in-flight value")


def test_scaled_object_is_ready(release: Cluster) -> None:
    def ready() -> bool:
        scaled = release.kubectl(f"get scaledobject {_name('customer-management-worker')} -n {NAMESPACE}")
        conditions = {c["type"]: c["status"] for c in scaled.get("status", {}).get("conditions", [])}
        return conditions.get("Ready") == "True"

    _poll(ready, 300, "the worker's ScaledObject never became Ready (KEDA cannot read the group's lag)")


def test_helm_test_passes(release: Cluster) -> None:
    out = _run([str(helm_path()), "test", RELEASE, "-n", NAMESPACE, "--logs", "--timeout", "5m"],
               str(release.kube_config_path), timeout=600)  # fmt: skip
    assert "read back" in out
