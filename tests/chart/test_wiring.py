"""How the services are wired: commands, BUYLIST_* variables, probes, writable mounts, the frontend's proxy
target, external Kafka and MongoDB, labels, and config changes rolling pods. Rendered from the
dependency-free copy (conftest.py).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from tests.chart.support import (
    ALL_CRD_APIS,
    CHART,
    KEDA_APIS,
    SCENARIOS,
    Chart,
    RenderError,
    by_name,
    kinds,
    scenario_id,
)

pytestmark = pytest.mark.chart

BACKEND = ("customer-facing", "customer-management-api", "customer-management-worker")
# BUYLIST_* variables each component must get (README's configuration table, "required by" and the chart's choices).
REQUIRED_ENV = {
    "customer-facing": {
        "BUYLIST_PORT",
        "BUYLIST_LOG_FORMAT",
        "BUYLIST_LOG_FLUSH_INTERVAL_MS",
        "BUYLIST_LOG_LEVEL",
        "BUYLIST_KAFKA_BOOTSTRAP",
        "BUYLIST_KAFKA_TOPIC",
        "BUYLIST_KAFKA_SECURITY_PROTOCOL",
        "BUYLIST_KAFKA_SASL_MECHANISM",
        "BUYLIST_KAFKA_SASL_USERNAME",
        "BUYLIST_KAFKA_SASL_PASSWORD",
        "BUYLIST_MANAGEMENT_URL",
        "BUYLIST_WEB_WORKERS",
        "BUYLIST_WEB_WORKER_CLASS",
        "BUYLIST_WEB_THREADS",
        "BUYLIST_WEB_WORKER_CONNECTIONS",
        "PROMETHEUS_MULTIPROC_DIR",
        "BUYLIST_GUNICORN_TMP_DIR",
    },
    "customer-management-api": {
        "BUYLIST_PORT",
        "BUYLIST_LOG_FORMAT",
        "BUYLIST_LOG_FLUSH_INTERVAL_MS",
        "BUYLIST_MONGODB_URI",
        "BUYLIST_MONGODB_DATABASE",
        "PROMETHEUS_MULTIPROC_DIR",
        "BUYLIST_GUNICORN_TMP_DIR",
    },
    "customer-management-worker": {
        "BUYLIST_PORT",
        "BUYLIST_LOG_FORMAT",
        "BUYLIST_LOG_FLUSH_INTERVAL_MS",
        "BUYLIST_KAFKA_BOOTSTRAP",
        "BUYLIST_KAFKA_TOPIC",
        "BUYLIST_KAFKA_DLQ_TOPIC",
        "BUYLIST_KAFKA_GROUP",
        "BUYLIST_KAFKA_SASL_PASSWORD",
        "BUYLIST_MONGODB_URI",
    },
}


def _container(objects: list[dict[str, Any]], component: str) -> dict[str, Any]:
    return by_name(objects, "Deployment", f"buylist-{component}")["spec"]["template"]["spec"]["containers"][0]


def _env(objects: list[dict[str, Any]], component: str) -> dict[str, Any]:
    """Return the container's variables: ConfigMap entries as strings, env entries as given."""
    container = _container(objects, component)
    env: dict[str, Any] = {}
    for source in container.get("envFrom", []):
        env.update(by_name(objects, "ConfigMap", source["configMapRef"]["name"])["data"])
    for entry in container.get("env", []):
        env[entry["name"]] = entry.get("value", entry.get("valueFrom"))
    return env


def _mounts(objects: list[dict[str, Any]], component: str) -> dict[str, dict[str, Any]]:
    spec = by_name(objects, "Deployment", f"buylist-{component}")["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    return {m["mountPath"]: volumes[m["name"]] for m in spec["containers"][0]["volumeMounts"]}


def test_backend_components_run_their_command_from_one_image(chart: Chart) -> None:
    objects = chart.render(sets=["image.backend.repository=buylist/backend", "image.backend.tag=dev"])
    for component in BACKEND:
        container = _container(objects, component)
        assert container["command"] == ["buylist", component]
        assert container["image"] == "buylist/backend:dev"


def test_deploy_script_keys_select_the_local_images(chart: Chart) -> None:
    sets = [
        "image.backend.repository=buylist/backend",
        "image.backend.tag=dev",
        "image.frontend.repository=buylist/frontend",
        "image.frontend.tag=dev",
        "image.pullPolicy=Never",
    ]
    objects = chart.render(sets=sets)
    for name, spec in [(o["metadata"]["name"], o["spec"]["template"]["spec"]) for o in kinds(objects, "Deployment")]:
        container = spec["containers"][0]
        assert container["imagePullPolicy"] == "Never", name
        assert container["image"] in {"buylist/backend:dev", "buylist/frontend:dev"}, name


def test_a_pinned_digest_wins_over_the_tag(chart: Chart) -> None:
    digest = "sha256:" + "ab" * 32
    objects = chart.render(
        sets=["image.registry=ghcr.io/example", f"image.backend.digest={digest}", "image.backend.tag=x"]
    )
    assert _container(objects, "customer-facing")["image"] == f"ghcr.io/example/buylist/backend@{digest}"
    assert _container(objects, "user-buy-frontend")["image"] == "ghcr.io/example/buylist/frontend:0.1.0"


@pytest.mark.parametrize("component", BACKEND)
def test_each_component_gets_its_variables(chart: Chart, component: str) -> None:
    env = _env(chart.render(), component)
    missing = REQUIRED_ENV[component] - set(env)
    assert not missing, f"{component} lacks {sorted(missing)}"
    assert env["BUYLIST_LOG_FORMAT"] == "json"
    port = _container(chart.render(), component)["ports"][0]
    assert env["BUYLIST_PORT"] == str(port["containerPort"])
    assert port["name"] == "http"


def test_management_url_is_the_api_service(chart: Chart) -> None:
    objects = chart.render()
    service = by_name(objects, "Service", "buylist-customer-management-api")
    assert _env(objects, "customer-facing")["BUYLIST_MANAGEMENT_URL"] == (
        f"http://{service['metadata']['name']}:{service['spec']['ports'][0]['port']}"
    )


@pytest.mark.parametrize("component", BACKEND)
def test_probes_use_health_and_ready_on_the_component_port(chart: Chart, component: str) -> None:
    container = _container(chart.render(), component)
    assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    expected = 3002 if component == "customer-management-worker" else 8080
    assert container["ports"][0]["containerPort"] == expected


@pytest.mark.parametrize("component", ["customer-facing", "customer-management-api"])
def test_web_components_write_only_to_empty_dirs(chart: Chart, component: str) -> None:
    objects = chart.render()
    env, mounts = _env(objects, component), _mounts(objects, component)
    for variable in ("PROMETHEUS_MULTIPROC_DIR", "BUYLIST_GUNICORN_TMP_DIR"):
        assert "emptyDir" in mounts[env[variable]], f"{variable} must point at an emptyDir"
    assert "emptyDir" in mounts["/tmp"]  # noqa: S108 - a path inside the pod, not a temp file of the test


def test_frontend_proxies_to_the_customer_facing_service(chart: Chart) -> None:
    objects = chart.render()
    service = by_name(objects, "Service", "buylist-customer-facing")
    env = _env(objects, "user-buy-frontend")
    assert env["BUYLIST_CUSTOMER_FACING_URL"] == f"http://buylist-customer-facing:{service['spec']['ports'][0]['port']}"
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    assert env["BUYLIST_FRONTEND_PORT"] == "8080"
    # nginx-unprivileged with a read-only root: envsubst output, pid/temp files and the compiled-in cache path.
    mounts = _mounts(objects, "user-buy-frontend")
    for path in ("/etc/nginx/conf.d", "/tmp", "/var/cache/nginx"):  # noqa: S108 - paths inside the pod
        assert "emptyDir" in mounts[path], path
    assert "/etc/nginx/templates" not in mounts, "the image's template must stay visible"


def test_config_changes_roll_the_pods(chart: Chart) -> None:
    def checksums(*sets: str) -> dict[str, str]:
        objects = chart.render(sets=list(sets))
        return {
            d["metadata"]["name"]: d["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
            for d in kinds(objects, "Deployment")
        }

    before = checksums()
    after = checksums("logLevel=DEBUG")
    for name in ("buylist-customer-facing", "buylist-customer-management-api", "buylist-customer-management-worker"):
        assert before[name] != after[name], f"{name} would not restart on a config change"
    assert before["buylist-user-buy-frontend"] == after["buylist-user-buy-frontend"], "untouched config, same pods"
    assert checksums("customerFacing.port=9090")["buylist-user-buy-frontend"] == before["buylist-user-buy-frontend"]
    moved = checksums("customerFacing.service.port=8081")
    assert moved["buylist-user-buy-frontend"] != before["buylist-user-buy-frontend"], "the proxy target changed"


@pytest.mark.parametrize("scenario", [None, *SCENARIOS], ids=scenario_id)
def test_labels_and_selectors(chart: Chart, scenario: Path | None) -> None:
    objects = chart.render(*((scenario,) if scenario else ()), api_versions=ALL_CRD_APIS)
    standard = {
        "app.kubernetes.io/name",
        "app.kubernetes.io/instance",
        "app.kubernetes.io/version",
        "app.kubernetes.io/managed-by",
        "app.kubernetes.io/component",
        "helm.sh/chart",
    }
    for obj in objects:
        labels = obj["metadata"].get("labels", {})
        assert standard <= set(labels), f"{obj['kind']}/{obj['metadata']['name']} lacks {standard - set(labels)}"
    for deployment in kinds(objects, "Deployment"):
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert set(selector) == {"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component"}
        assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    for service in kinds(objects, "Service"):
        assert set(service["spec"]["selector"]) == {
            "app.kubernetes.io/name",
            "app.kubernetes.io/instance",
            "app.kubernetes.io/component",
        }


def test_service_accounts_never_mount_a_token(chart: Chart) -> None:
    objects = chart.render()
    accounts = kinds(objects, "ServiceAccount")
    assert len(accounts) == 4
    assert all(a["automountServiceAccountToken"] is False for a in accounts)


def test_external_kafka_and_mongodb(chart: Chart) -> None:
    objects = chart.render(CHART / "ci" / "external-values.yaml", api_versions=KEDA_APIS)
    facing, worker = _env(objects, "customer-facing"), _env(objects, "customer-management-worker")
    bootstrap = "kafka-0.kafka.example.internal:9093,kafka-1.kafka.example.internal:9093"
    assert facing["BUYLIST_KAFKA_BOOTSTRAP"] == worker["BUYLIST_KAFKA_BOOTSTRAP"] == bootstrap
    assert facing["BUYLIST_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert facing["BUYLIST_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    password_ref = {"secretKeyRef": {"name": "buylist-kafka-credentials", "key": "password"}}
    assert facing["BUYLIST_KAFKA_SASL_PASSWORD"] == password_ref
    assert worker["BUYLIST_MONGODB_URI"] == {"secretKeyRef": {"name": "buylist-mongodb-uri", "key": "uri"}}
    assert not [s for s in kinds(objects, "Secret") if "mongodb" in s["metadata"]["name"]], "no credentials invented"
    job_env = {e["name"]: e for e in kinds(objects, "Job")[0]["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert job_env["BUYLIST_KAFKA_BOOTSTRAP"]["value"] == bootstrap
    auth = {r["parameter"]: r for r in kinds(objects, "TriggerAuthentication")[0]["spec"]["secretTargetRef"]}
    assert (auth["password"]["name"], auth["password"]["key"]) == ("buylist-kafka-credentials", "password")
    assert by_name(objects, "Secret", "buylist-kafka-client")["stringData"] == {
        "username": "buylist",
        "sasl": "scram_sha512",
        "tls": "enable",
    }
    worker_policy = by_name(objects, "NetworkPolicy", "buylist-customer-management-worker")
    ports = sorted(p["port"] for rule in worker_policy["spec"]["egress"] for p in rule["ports"])
    assert ports == [53, 53, 9093, 27017]


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (["kafka.enabled=false"], "externalKafka.bootstrap is required"),
        (["mongodb.enabled=false"], "externalMongodb.existingSecret is required"),
        (["kafka.enabled=false", "externalKafka.bootstrap=k:9092"], "externalKafka.username is required"),
    ],
)
def test_external_mode_names_what_is_missing(chart: Chart, sets: list[str], message: str) -> None:
    with pytest.raises(RenderError, match=message):
        chart.render(sets=sets)


def test_mongodb_replica_set_uri_lists_every_member(chart: Chart) -> None:
    objects = chart.render(CHART / "ci" / "production-values.yaml")
    uri = base64.b64decode(by_name(objects, "Secret", "buylist-mongodb-credentials")["data"]["mongodb-uri"]).decode()
    hosts = uri.split("@", 1)[1].split("/", 1)[0].split(",")
    assert hosts == [f"buylist-mongodb-{i}.buylist-mongodb-headless.buylist.svc.cluster.local:27017" for i in range(3)]
    assert "replicaSet=rs0" in uri


def test_given_passwords_are_used_and_unsafe_ones_refused(chart: Chart) -> None:
    objects = chart.render(sets=["mongodbCredentials.password=s3cret-Pass.word"])
    uri = base64.b64decode(by_name(objects, "Secret", "buylist-mongodb-credentials")["data"]["mongodb-uri"]).decode()
    assert uri.startswith("mongodb://buylist:s3cret-Pass.word@")
    with pytest.raises(RenderError, match=r"mongodbCredentials\.password may only hold"):
        chart.render(sets=["mongodbCredentials.password=p@ss:word"])


def test_topic_job_creates_both_topics_with_the_values_partitions(chart: Chart) -> None:
    objects = chart.render(CHART / "ci" / "production-values.yaml")
    (job,) = kinds(objects, "Job")
    env = {e["name"]: e for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    topics = {t["name"]: t for t in json.loads(env["BUYLIST_TOPICS"]["value"])}
    assert topics["purchases"]["partitions"] == 24
    assert topics["purchases"]["replicationFactor"] == 3
    assert topics["purchases"]["config"] == {"min.insync.replicas": "2"}
    assert topics["purchases.dlq"]["config"]["retention.ms"] == "2592000000"
    assert "helm.sh/hook" not in job["metadata"].get("annotations", {}), "a post-install hook deadlocks --wait"


def test_extra_objects_are_rendered(chart: Chart) -> None:
    extra = "extraObjects[0].apiVersion=v1,extraObjects[0].kind=ConfigMap,extraObjects[0].metadata.name=extra"
    objects = chart.render(sets=[extra])
    assert by_name(objects, "ConfigMap", "extra")
