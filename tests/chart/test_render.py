"""Lint the chart, render every ci/ scenario and validate every object strictly against Kubernetes schemas.

Rendered from the dependency-free copy described in conftest.py. Custom resources are checked against the
JSON schemas in crd_schemas/, written from the KEDA and prometheus-operator CRDs.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest

from tests.chart.support import ALL_CRD_APIS, KUBE_VERSIONS, SCENARIOS, Chart, scenario_id

pytestmark = pytest.mark.chart

CRD_SCHEMAS = {
    ("keda.sh/v1alpha1", "ScaledObject"): "scaledobject.json",
    ("keda.sh/v1alpha1", "TriggerAuthentication"): "triggerauthentication.json",
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "servicemonitor.json",
}
SCHEMA_DIR = Path(__file__).parent / "crd_schemas"
CASES = [None, *SCENARIOS]


def test_every_scenario_opens_with_a_purpose_line() -> None:
    assert SCENARIOS, "charts/buylist/ci/ holds no scenario"
    for path in SCENARIOS:
        first = path.read_text().splitlines()[0]
        assert first.startswith("# "), f"{path.name} must open with a one-line purpose comment"
        assert len(first) > 20, f"{path.name}: say what the scenario is for"


@pytest.mark.parametrize("scenario", CASES, ids=scenario_id)
def test_helm_lint_strict(chart: Chart, scenario: Path | None) -> None:
    cmd = [str(chart.helm), "lint", "--strict", str(chart.path), "--kube-version", KUBE_VERSIONS[-1]]
    if scenario:
        cmd += ["--values", str(scenario)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[WARNING]" not in done.stdout, done.stdout
    assert "[ERROR]" not in done.stdout, done.stdout


def _validate_custom(obj: dict[str, Any]) -> None:
    schema = json.loads((SCHEMA_DIR / CRD_SCHEMAS[(obj["apiVersion"], obj["kind"])]).read_text())
    jsonschema.validate(obj, schema)


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
@pytest.mark.parametrize("scenario", CASES, ids=scenario_id)
@pytest.mark.parametrize("crds", [False, True], ids=["first-install", "crds-present"])
def test_every_object_is_valid(chart: Chart, scenario: Path | None, kube_version: str, crds: bool) -> None:
    files = (scenario,) if scenario else ()
    objects = chart.render(*files, kube_version=kube_version, api_versions=ALL_CRD_APIS if crds else ())
    assert objects, "nothing rendered"
    for obj in objects:
        where = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')} ({scenario_id(scenario)}, {kube_version})"
        if (obj.get("apiVersion"), obj.get("kind")) in CRD_SCHEMAS:
            try:
                _validate_custom(obj)
            except jsonschema.ValidationError as exc:
                pytest.fail(f"{where}: {exc.message} at {list(exc.absolute_path)}")
            continue
        try:
            kubernetes_validate.validate(obj, kube_version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{where}: {exc.message} at {list(exc.path)}")


@pytest.mark.parametrize(
    ("kind", "mutate"),
    [
        ("ScaledObject", lambda o: o["spec"].update(cooldownInterval=30)),
        ("ScaledObject", lambda o: o["spec"]["triggers"][0]["metadata"].update(lagThreshold=100)),
        ("TriggerAuthentication", lambda o: o["spec"]["secretTargetRef"][0].pop("key")),
        ("ServiceMonitor", lambda o: o["spec"]["endpoints"][0].update(scrapeInterval="30s")),
    ],
    ids=["unknown-field", "non-string-metadata", "missing-key", "unknown-endpoint-field"],
)
def test_crd_schemas_refuse_what_the_crd_refuses(chart: Chart, kind: str, mutate: Any) -> None:
    objects = chart.render(api_versions=ALL_CRD_APIS, sets=["metrics.serviceMonitor.enabled=true"])
    obj = next(o for o in objects if o["kind"] == kind)
    _validate_custom(obj)
    mutate(obj)
    with pytest.raises(jsonschema.ValidationError):
        _validate_custom(obj)
