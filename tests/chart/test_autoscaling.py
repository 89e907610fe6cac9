"""Autoscaling: the KEDA objects wait for their CRDs, autoscaled Deployments render no replicas, KEDA never
scales past the partition count, and the HPAs read the adapter's in-flight metric. Rendered from the
dependency-free copy (conftest.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chart.support import (
    ALL_CRD_APIS,
    KEDA_APIS,
    SCENARIOS,
    Chart,
    RenderError,
    by_name,
    kinds,
    render_notes,
    scenario_id,
)

pytestmark = pytest.mark.chart

CASES = [None, *SCENARIOS]
WORKER = "buylist-customer-management-worker"


def test_keda_objects_wait_for_the_crds(chart: Chart) -> None:
    first_install = chart.render()
    assert not kinds(first_install, "ScaledObject"), "a ScaledObject before KEDA's CRDs exist fails the install"
    assert not kinds(first_install, "TriggerAuthentication")
    assert "replicas" not in by_name(first_install, "Deployment", WORKER)["spec"], "KEDA owns the count"

    upgrade = chart.render(api_versions=KEDA_APIS)
    scaled = by_name(upgrade, "ScaledObject", WORKER)
    auth = by_name(upgrade, "TriggerAuthentication", WORKER)
    assert scaled["spec"]["scaleTargetRef"]["name"] == WORKER
    assert scaled["spec"]["triggers"][0]["authenticationRef"]["name"] == auth["metadata"]["name"]
    for obj in (scaled, auth):
        sync_options = obj["metadata"]["annotations"]["argocd.argoproj.io/sync-options"]
        assert sync_options == "SkipDryRunOnMissingResource=true"


def test_service_monitors_wait_for_their_crd(chart: Chart) -> None:
    wanted = ["metrics.serviceMonitor.enabled=true"]
    assert not kinds(chart.render(sets=wanted), "ServiceMonitor")
    monitors = kinds(chart.render(sets=wanted, api_versions=ALL_CRD_APIS), "ServiceMonitor")
    assert len(monitors) == 3
    assert not kinds(chart.render(api_versions=ALL_CRD_APIS), "ServiceMonitor"), "off unless switched on"


def test_kafka_trigger_reads_the_group_lag_with_an_explicit_protocol_version(chart: Chart) -> None:
    trigger = by_name(chart.render(api_versions=KEDA_APIS), "ScaledObject", WORKER)["spec"]["triggers"][0]
    assert trigger["type"] == "kafka"
    meta = trigger["metadata"]
    assert meta["consumerGroup"] == "purchase-group"
    assert meta["topic"] == "purchases"
    assert meta["bootstrapServers"] == "buylist-kafka.buylist.svc.cluster.local:9092"
    assert meta["version"] == "3.9.0", "kedacore/keda#6718: the default 1.0.0 fails against Kafka 4"
    assert meta["allowIdleConsumers"] == "false"


def test_trigger_authentication_uses_the_services_credentials(chart: Chart) -> None:
    objects = chart.render(api_versions=KEDA_APIS)
    refs = {r["parameter"]: r for r in by_name(objects, "TriggerAuthentication", WORKER)["spec"]["secretTargetRef"]}
    assert set(refs) == {"sasl", "username", "password"}
    assert (refs["password"]["name"], refs["password"]["key"]) == ("buylist-kafka-user-passwords", "client-passwords")
    client = by_name(objects, "Secret", "buylist-kafka-client")["stringData"]
    assert client == {"username": "buylist", "sasl": "plaintext"}
    assert refs["sasl"]["name"] == refs["username"]["name"] == "buylist-kafka-client"


@pytest.mark.parametrize("scenario", CASES, ids=scenario_id)
@pytest.mark.parametrize("crds", [False, True], ids=["first-install", "crds-present"])
def test_autoscaled_deployments_render_no_replicas(chart: Chart, scenario: Path | None, crds: bool) -> None:
    files = (scenario,) if scenario else ()
    objects = chart.render(*files, api_versions=ALL_CRD_APIS if crds else ())
    targets = {h["spec"]["scaleTargetRef"]["name"] for h in kinds(objects, "HorizontalPodAutoscaler")}
    # KEDA owns the worker whenever its ScaledObject renders once the CRDs exist, even while it waits for them.
    steady = chart.render(*files, api_versions=ALL_CRD_APIS)
    targets |= {s["spec"]["scaleTargetRef"]["name"] for s in kinds(steady, "ScaledObject")}
    for deployment in kinds(objects, "Deployment"):
        name = deployment["metadata"]["name"]
        if name in targets:
            assert "replicas" not in deployment["spec"], f"{name} is autoscaled but renders replicas"
        else:
            assert deployment["spec"]["replicas"] >= 1, f"{name} has no autoscaler and must render replicas"


def test_without_autoscaling_every_deployment_has_a_fixed_count(chart: Chart) -> None:
    objects = chart.render(chart.path / "ci" / "fixed-replicas-values.yaml", api_versions=ALL_CRD_APIS)
    assert not kinds(objects, "HorizontalPodAutoscaler")
    assert not kinds(objects, "ScaledObject")
    assert by_name(objects, "Deployment", WORKER)["spec"]["replicas"] == 3


@pytest.mark.parametrize("partitions", [1, 6, 12, 24])
def test_keda_may_not_scale_past_the_partitions(chart: Chart, partitions: int) -> None:
    at_limit = [
        f"topics.purchases.partitions={partitions}",
        f"customerManagementWorker.autoscaling.maxReplicaCount={partitions}",
    ]
    assert (
        by_name(chart.render(sets=at_limit, api_versions=KEDA_APIS), "ScaledObject", WORKER)["spec"]["maxReplicaCount"]
        == partitions
    )
    over = [at_limit[0], f"customerManagementWorker.autoscaling.maxReplicaCount={partitions + 1}"]
    message = (
        rf"customerManagementWorker.autoscaling.maxReplicaCount \({partitions + 1}\) is greater than "
        rf"topics.purchases.partitions \({partitions}\)"
    )
    # Refused whether or not the CRDs exist: the first install must not plant a bad value for the upgrade.
    for apis in ((), KEDA_APIS):
        with pytest.raises(RenderError, match=message):
            chart.render(sets=over, api_versions=apis)


def test_fixed_worker_count_may_not_exceed_the_partitions(chart: Chart) -> None:
    sets = ["customerManagementWorker.autoscaling.enabled=false", "customerManagementWorker.replicaCount=13"]
    with pytest.raises(RenderError, match=r"customerManagementWorker.replicaCount \(13\) is greater than"):
        chart.render(sets=sets)


def test_hpas_scale_on_the_adapters_in_flight_metric_and_cpu(chart: Chart) -> None:
    objects = chart.render()
    for component in ("customer-facing", "customer-management-api"):
        hpa = by_name(objects, "HorizontalPodAutoscaler", f"buylist-{component}")
        metrics = {m["type"]: m for m in hpa["spec"]["metrics"]}
        assert metrics["Pods"]["pods"]["metric"]["name"] == "http_requests_in_flight"
        assert metrics["Pods"]["pods"]["target"]["type"] == "AverageValue"
        assert metrics["Resource"]["resource"]["name"] == "cpu"
        behavior = hpa["spec"]["behavior"]
        assert behavior["scaleDown"]["stabilizationWindowSeconds"] >= 60
        assert "stabilizationWindowSeconds" in behavior["scaleUp"]
    frontend = by_name(objects, "HorizontalPodAutoscaler", "buylist-user-buy-frontend")
    assert [m["resource"]["name"] for m in frontend["spec"]["metrics"]] == ["cpu"]


def test_adapter_serves_the_in_flight_rule_and_stays_off_the_external_api(chart: Chart) -> None:
    rules = chart.values()["prometheus-adapter"]["rules"]
    assert rules["external"] == [], "KEDA registers external.metrics.k8s.io; two owners break both"
    assert rules["default"] is False
    (rule,) = rules["custom"]
    assert rule["seriesQuery"] == 'http_requests_in_flight{namespace!="",pod!=""}'
    assert rule["resources"]["overrides"] == {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}
    assert rule["name"]["as"] == "http_requests_in_flight"
    assert rule["metricsQuery"] == "sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)"
    url = chart.values()["prometheus-adapter"]["prometheus"]["url"]
    assert url == "http://{{ .Release.Name }}-prometheus-server.{{ .Release.Namespace }}.svc"


def test_pods_are_annotated_for_the_prometheus_charts_pod_job(chart: Chart) -> None:
    objects = chart.render()
    ports = {"customer-facing": "8080", "customer-management-api": "8080", "customer-management-worker": "3002"}
    for component, port in ports.items():
        annotations = by_name(objects, "Deployment", f"buylist-{component}")["spec"]["template"]["metadata"][
            "annotations"
        ]
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/port"] == port
        assert annotations["prometheus.io/path"] == "/metrics"


def test_notes_tell_what_to_do_about_the_missing_crds(chart: Chart, tmp_path: Path) -> None:
    first = render_notes(chart, tmp_path / "first")
    assert "ACTION NEEDED" in first
    assert "helm upgrade buylist" in first
    assert "--api-versions keda.sh/v1alpha1/ScaledObject" in first
    later = render_notes(chart, tmp_path / "later", KEDA_APIS)
    assert "ACTION NEEDED" not in later
    assert "get scaledobject buylist-customer-management-worker" in later
