"""Security by default: checkov finds nothing, every pod is restricted, NetworkPolicies deny by default,
authentication is on and no secret lands in a ConfigMap. Rendered from the dependency-free copy (conftest.py).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.chart.support import (
    ALL_CRD_APIS,
    ROOT,
    SCENARIOS,
    Chart,
    RenderError,
    by_name,
    kinds,
    pod_labels,
    pod_specs,
    scenario_id,
)

pytestmark = pytest.mark.chart

CASES = [None, *SCENARIOS]
APP_COMPONENTS = ("customer-facing", "customer-management-api", "customer-management-worker", "user-buy-frontend")

# Chart-wide checkov decisions; per-object ones are `checkov.io/skipN` annotations in the templates.
CHECKOV_SKIPS = {
    "CKV_K8S_15": "imagePullPolicy Always is not needed: CI pins images by digest (immutable), and minikube "
    "images built in-node need Never",
    "CKV_K8S_35": "the services read their settings once from environment variables (the README's contract); "
    "the secret ones come from secretKeyRef, never from a ConfigMap or a literal",
}


def _checkov() -> Path:
    venv = subprocess.run(
        [
            shutil.which("bash") or "/bin/bash",
            "-c",
            'source "$1/scripts/lib.sh"; echo "$CHECKOV_VENV"',
            "lib",
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    path = Path(venv) / "bin" / "checkov"
    if not os.access(path, os.X_OK):
        pytest.fail(f"checkov not found at {path}: run `scripts/install.sh checkov`", pytrace=False)
    return path


def test_checkov_finds_nothing(chart: Chart, tmp_path: Path) -> None:
    # One file with every scenario, each in its own namespace so checkov keeps their objects apart.
    manifests = []
    for scenario in CASES:
        files = (scenario,) if scenario else ()
        namespace = scenario_id(scenario).removesuffix(".yaml").replace(".", "-")
        for crds in ((), ALL_CRD_APIS):
            manifests.append(chart.render_text(*files, namespace=namespace, api_versions=crds))
    rendered = tmp_path / "rendered.yaml"
    rendered.write_text("\n---\n".join(manifests))
    cmd = [str(_checkov()), "-f", str(rendered), "--framework", "kubernetes", "--compact", "-o", "json"]
    cmd += ["--skip-download", "--skip-check", ",".join(CHECKOV_SKIPS)]
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE"}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    report = json.loads(done.stdout)
    report = report[0] if isinstance(report, list) else report
    results, summary = report["results"], report["summary"]
    failed = [f"{c['check_id']} {c['resource']}: {c['check_name']}" for c in results["failed_checks"]]
    assert not failed, "\n".join(failed)
    assert summary["parsing_errors"] == 0
    assert summary["passed"] > 100, summary
    for skipped in results["skipped_checks"]:
        reason = (skipped.get("check_result") or {}).get("suppress_comment") or ""
        assert len(reason) > 20, f"{skipped['check_id']} on {skipped['resource']} is skipped without a reason"
        assert skipped["check_id"] in {"CKV_K8S_43", "CKV_K8S_40", "CKV_K8S_8", "CKV_K8S_9"}, skipped["check_id"]


def _restricted_violations(name: str, spec: dict[str, Any]) -> list[str]:
    pod = spec.get("securityContext") or {}
    found = []
    if spec.get("automountServiceAccountToken") is not False:
        found.append(f"{name}: automountServiceAccountToken is not false")
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(key):
            found.append(f"{name}: {key}")
    # The restricted Pod Security Standard judges the pod level too, even where containers override it.
    if pod.get("runAsNonRoot") is False or pod.get("runAsUser") == 0:
        found.append(f"{name}: the pod may run as root")
    if pod.get("seccompProfile", {}).get("type", "RuntimeDefault") not in ("RuntimeDefault", "Localhost"):
        found.append(f"{name}: pod seccompProfile {pod['seccompProfile']['type']}")
    for container in spec.get("initContainers", []) + spec["containers"]:
        where = f"{name}/{container['name']}"
        sc = container.get("securityContext") or {}
        if not (sc.get("runAsNonRoot") or pod.get("runAsNonRoot")):
            found.append(f"{where}: runAsNonRoot")
        if sc.get("runAsUser", pod.get("runAsUser")) == 0:
            found.append(f"{where}: runs as uid 0")
        if sc.get("allowPrivilegeEscalation") is not False:
            found.append(f"{where}: allowPrivilegeEscalation")
        if sc.get("privileged"):
            found.append(f"{where}: privileged")
        if sc.get("readOnlyRootFilesystem") is not True:
            found.append(f"{where}: readOnlyRootFilesystem")
        if "ALL" not in (sc.get("capabilities") or {}).get("drop", []):
            found.append(f"{where}: capabilities.drop ALL")
        if (sc.get("capabilities") or {}).get("add"):
            found.append(f"{where}: adds capabilities")
        seccomp = (sc.get("seccompProfile") or pod.get("seccompProfile") or {}).get("type")
        if seccomp != "RuntimeDefault":
            found.append(f"{where}: seccompProfile {seccomp}")
        if not container.get("resources", {}).get("limits"):
            found.append(f"{where}: no resource limits")
    return found


@pytest.mark.parametrize("scenario", CASES, ids=scenario_id)
def test_every_pod_is_restricted(chart: Chart, scenario: Path | None) -> None:
    objects = chart.render(*((scenario,) if scenario else ()), api_versions=ALL_CRD_APIS)
    specs = pod_specs(objects)
    kinds_seen = {name.split("/")[0] for name, _ in specs}
    assert {"Deployment", "Job", "Pod"} <= kinds_seen, "the Jobs and the test pod must be checked too"
    violations = [v for name, spec in specs for v in _restricted_violations(name, spec)]
    assert not violations, "\n".join(violations)


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    assert not selector.get("matchExpressions"), "the chart's policies select by labels only"
    return all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items())


@pytest.mark.parametrize("scenario", CASES, ids=scenario_id)
def test_network_policies_deny_by_default_and_cover_every_pod(chart: Chart, scenario: Path | None) -> None:
    objects = chart.render(*((scenario,) if scenario else ()), api_versions=ALL_CRD_APIS)
    policies = kinds(objects, "NetworkPolicy")
    deny = [p for p in policies if not p["spec"].get("ingress") and not p["spec"].get("egress")]
    assert len(deny) == 1, "one default-deny policy"
    assert set(deny[0]["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    assert deny[0]["spec"]["podSelector"]["matchLabels"] == {
        "app.kubernetes.io/name": "buylist",
        "app.kubernetes.io/instance": "buylist",
    }, "the deny-all must select exactly the chart's own pods (never a subchart's)"
    for name, labels in pod_labels(objects):
        assert _selects(deny[0]["spec"]["podSelector"], labels), f"{name} escapes the default deny"
        own = [p for p in policies if p is not deny[0] and _selects(p["spec"]["podSelector"], labels)]
        assert len(own) == 1, f"{name} must be selected by exactly one allow policy, got {len(own)}"
        assert set(own[0]["spec"]["policyTypes"]) == {"Ingress", "Egress"}
        for rule in own[0]["spec"].get("egress", []):
            assert rule.get("ports"), f"{name}: an egress rule without ports allows everything"


def _ingress_sources(policy: dict[str, Any]) -> list[str]:
    sources = []
    for rule in policy["spec"].get("ingress", []):
        for peer in rule.get("from", [{"<anywhere>": True}]):
            sources.append(json.dumps(peer, sort_keys=True))
    return sources


def test_network_policies_allow_only_the_needed_flows(chart: Chart) -> None:
    objects = chart.render()
    policy = {c: by_name(objects, "NetworkPolicy", f"buylist-{c}") for c in APP_COMPONENTS}

    def egress_targets(component: str) -> set[str]:
        targets = set()
        for rule in policy[component]["spec"]["egress"]:
            ports = {p["port"] for p in rule["ports"]}
            for peer in rule.get("to", []):
                labels = (peer.get("podSelector") or {}).get("matchLabels", {})
                name = labels.get("app.kubernetes.io/component") or labels.get("app.kubernetes.io/name")
                if "namespaceSelector" in peer:
                    name = "dns"
                targets |= {f"{name}:{p}" for p in ports}
        return targets

    assert egress_targets("user-buy-frontend") == {"customer-facing:8080", "dns:53"}
    # customer-facing reaches MongoDB only for its Idempotency-Key records.
    assert egress_targets("customer-facing") == {
        "kafka:9092",
        "mongodb:27017",
        "customer-management-api:8080",
        "dns:53",
    }
    assert egress_targets("customer-management-api") == {"mongodb:27017", "dns:53"}
    assert egress_targets("customer-management-worker") == {"kafka:9092", "mongodb:27017", "dns:53"}
    assert _ingress_sources(policy["user-buy-frontend"]) == ['{"<anywhere>": true}']
    for component in ("customer-facing", "customer-management-api", "customer-management-worker"):
        assert '{"<anywhere>": true}' not in _ingress_sources(policy[component]), component


@pytest.mark.parametrize("scenario", CASES, ids=scenario_id)
def test_no_secret_reaches_a_configmap_or_a_literal(chart: Chart, scenario: Path | None) -> None:
    objects = chart.render(*((scenario,) if scenario else ()), api_versions=ALL_CRD_APIS)
    secret_values = set()
    for secret in kinds(objects, "Secret"):
        for value in (secret.get("data") or {}).values():
            secret_values.add(base64.b64decode(value).decode())
        secret_values.update((secret.get("stringData") or {}).values())
    secret_values = {v for v in secret_values if len(v) >= 8}
    sensitive = re.compile(r"PASSWORD|SECRET|TOKEN|_URI$|CREDENTIAL", re.IGNORECASE)
    for cm in kinds(objects, "ConfigMap"):
        for key, value in (cm.get("data") or {}).items():
            assert not sensitive.search(key), f"ConfigMap {cm['metadata']['name']} holds {key}"
            assert "mongodb://" not in value or "@" not in value, f"credentials in ConfigMap {key}"
            for secret in secret_values:
                assert secret not in value, f"a Secret's value appears in ConfigMap {cm['metadata']['name']}/{key}"
    for name, spec in pod_specs(objects):
        for container in spec["containers"]:
            for env in container.get("env", []):
                if sensitive.search(env["name"]):
                    assert "secretKeyRef" in env.get("valueFrom", {}), f"{name}: {env['name']} is not from a Secret"


def test_authentication_is_on_by_default(chart: Chart) -> None:
    values = chart.values()
    assert values["kafka"]["listeners"]["client"]["protocol"].startswith("SASL_")
    assert values["mongodb"]["auth"]["enabled"] is True
    objects = chart.render()
    for component in ("customer-facing", "customer-management-worker"):
        deployment = by_name(objects, "Deployment", f"buylist-{component}")
        env = {e["name"]: e for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["BUYLIST_KAFKA_SECURITY_PROTOCOL"]["value"] == "SASL_PLAINTEXT"
        assert env["BUYLIST_KAFKA_SASL_MECHANISM"]["value"] == "PLAIN"
        assert env["BUYLIST_KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
            "name": "buylist-kafka-user-passwords",
            "key": "client-passwords",
        }
    credentials = by_name(objects, "Secret", "buylist-mongodb-credentials")["data"]
    uri = base64.b64decode(credentials["mongodb-uri"]).decode()
    password = base64.b64decode(credentials["mongodb-passwords"]).decode()
    assert re.fullmatch(r"[A-Za-z0-9]{24}", password), "a generated password"
    assert uri.startswith(f"mongodb://buylist:{password}@buylist-mongodb.buylist.svc.cluster.local:27017/buylist?")
    assert "authSource=buylist" in uri


def test_turning_mongodb_auth_off_is_refused(chart: Chart) -> None:
    with pytest.raises(RenderError, match=r"mongodb.auth.enabled=false is refused"):
        chart.render(sets=["mongodb.auth.enabled=false"])
