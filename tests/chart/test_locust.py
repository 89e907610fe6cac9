"""Locust in the cluster: off by default; when on, a master with its web UI (under a sub-path behind the Ingress),
workers that find it through its Service, the repository's loadtests/ files mounted byte for byte, pods rolled when
those files change, and NetworkPolicies that let the workers reach the master and their target and nothing else.
Rendered from the dependency-free copy (conftest.py), whose files/loadtests/ holds what the symlinks point at.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from loadtests.profiles import PROFILES
from tests.chart.support import (
    ALL_CRD_APIS,
    CHART,
    ROOT,
    SCENARIOS,
    Chart,
    RenderError,
    by_name,
    kinds,
    render_notes,
    scenario_id,
)

pytestmark = pytest.mark.chart

LOADTESTS = ROOT / "loadtests"
CHART_FILES = CHART / "files" / "loadtests"
SCENARIO = CHART / "ci" / "locust-values.yaml"
ON = ["locust.enabled=true"]
WITH_INGRESS = [*ON, "locust.ingress.enabled=true"]
MASTER, WORKER = "buylist-locust-master", "buylist-locust-worker"
LOCUST_COMPONENTS = {"locust", "locust-master", "locust-worker"}


def _deployment(objects: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return by_name(objects, "Deployment", name)


def _container(objects: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return _deployment(objects, name)["spec"]["template"]["spec"]["containers"][0]


def _env(objects: list[dict[str, Any]], name: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for source in _container(objects, name).get("envFrom", []):
        env.update(by_name(objects, "ConfigMap", source["configMapRef"]["name"])["data"])
    return env


def _option(args: list[str], name: str) -> str | None:
    """Return the value of `--name=value` in args, or None when it is absent."""
    found = [a.split("=", 1)[1] for a in args if a.startswith(f"--{name}=")]
    assert len(found) <= 1, f"--{name} given twice: {args}"
    return found[0] if found else None


def _checksums(objects: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    return {
        name: {
            k: v
            for k, v in _deployment(objects, name)["spec"]["template"]["metadata"]["annotations"].items()
            if k.startswith("checksum/")
        }
        for name in (MASTER, WORKER)
    }


def _peer_name(peer: dict[str, Any]) -> str:
    """Name a NetworkPolicy peer: the component it selects, `dns`, or the raw peer."""
    if "namespaceSelector" in peer:
        return "dns" if "podSelector" not in peer and "kube-system" in json.dumps(peer) else json.dumps(peer)
    labels = (peer.get("podSelector") or {}).get("matchLabels", {})
    if labels.get("app.kubernetes.io/name") == "buylist":
        return str(labels["app.kubernetes.io/component"])
    return str(labels.get("app.kubernetes.io/name"))


def _egress(policy: dict[str, Any]) -> set[str]:
    return {
        f"{_peer_name(peer)}:{port['port']}"
        for rule in policy["spec"].get("egress", [])
        for peer in rule.get("to", [{"<anywhere>": True}])
        for port in rule["ports"]
    }


def _ingress(policy: dict[str, Any]) -> set[str]:
    return {
        f"{'<anywhere>' if peer is None else _peer_name(peer)}:{port['port']}"
        for rule in policy["spec"].get("ingress", [])
        for peer in rule.get("from", [None])
        for port in rule["ports"]
    }


# --- off by default -----------------------------------------------------------------------------------------------


def test_locust_is_off_by_default(chart: Chart) -> None:
    assert chart.values()["locust"]["enabled"] is False
    assert chart.values()["locust"]["ingress"]["enabled"] is False


@pytest.mark.parametrize("scenario", [None, *[s for s in SCENARIOS if s != SCENARIO]], ids=scenario_id)
def test_nothing_of_locust_renders_unless_enabled(chart: Chart, scenario: Path | None) -> None:
    objects = chart.render(*((scenario,) if scenario else ()), api_versions=ALL_CRD_APIS)
    components = {o["metadata"]["labels"]["app.kubernetes.io/component"] for o in objects}
    assert not components & LOCUST_COMPONENTS, f"locust objects rendered while off: {components & LOCUST_COMPONENTS}"
    assert "locust" not in json.dumps(kinds(objects, "NetworkPolicy")), "a policy admits locust while it is off"


def test_the_locust_scenario_is_one_of_the_ci_scenarios() -> None:
    # The render, schema validation, checkov, restricted-pod and NetworkPolicy loops all iterate SCENARIOS.
    assert SCENARIO in SCENARIOS


# --- master and workers -------------------------------------------------------------------------------------------


def test_workers_find_the_master_through_its_service(chart: Chart) -> None:
    objects = chart.render(sets=[*ON, "locust.workers.replicas=5"])
    master, worker = _deployment(objects, MASTER), _deployment(objects, WORKER)
    assert master["spec"]["replicas"] == 1
    assert master["spec"]["strategy"] == {"type": "Recreate"}, "two masters would split the workers"
    assert worker["spec"]["replicas"] == 5
    master_args, worker_args = _container(objects, MASTER)["args"], _container(objects, WORKER)["args"]
    assert "--master" in master_args
    assert "--worker" not in master_args
    assert "--worker" in worker_args
    assert "--master" not in worker_args
    service = by_name(objects, "Service", MASTER)
    assert service["spec"]["selector"] == master["spec"]["selector"]["matchLabels"]
    ports = {p["name"]: p for p in service["spec"]["ports"]}
    assert _option(worker_args, "master-host") == service["metadata"]["name"]
    assert _option(worker_args, "master-port") == str(ports["master"]["port"])
    container_ports = {p["name"]: p["containerPort"] for p in _container(objects, MASTER)["ports"]}
    assert ports["master"]["targetPort"] == "master"
    assert ports["http"]["targetPort"] == "http"
    assert _option(master_args, "master-bind-port") == str(container_ports["master"]) == "5557"
    assert _option(master_args, "web-port") == str(container_ports["http"]) == "8089"
    assert ports["http"]["port"] == 8089


def test_master_is_probed_on_its_ui_and_workers_carry_a_reason_instead(chart: Chart) -> None:
    objects = chart.render(sets=ON)
    master = _container(objects, MASTER)
    for probe in ("livenessProbe", "readinessProbe"):
        assert master[probe]["httpGet"] == {"path": "/", "port": "http"}, probe
    worker = _container(objects, WORKER)
    assert "livenessProbe" not in worker
    assert "readinessProbe" not in worker
    assert "ports" not in worker
    annotations = _deployment(objects, WORKER)["metadata"]["annotations"]
    skipped = {v.split("=", 1)[0] for k, v in annotations.items() if k.startswith("checkov.io/skip")}
    assert {"CKV_K8S_8", "CKV_K8S_9"} <= skipped


@pytest.mark.parametrize("name", [MASTER, WORKER])
def test_the_repositorys_loadtests_are_mounted_byte_for_byte(chart: Chart, name: str) -> None:
    objects = chart.render(sets=ON)
    container = _container(objects, name)
    spec = _deployment(objects, name)["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    (mount,) = [m for m in container["volumeMounts"] if "configMap" in volumes[m["name"]]]
    configmap = by_name(objects, "ConfigMap", volumes[mount["name"]]["configMap"]["name"])
    assert set(configmap["data"]) == {"locustfile.py", "profiles.py"}
    for file_name, text in configmap["data"].items():
        assert text.encode() == (LOADTESTS / file_name).read_bytes(), f"{file_name} differs from loadtests/"
    assert _option(container["args"], "locustfile") == f"{mount['mountPath']}/locustfile.py"
    # `from profiles import ...` is resolved next to the locustfile: the working directory is the mount.
    assert container["workingDir"] == mount["mountPath"]
    assert mount.get("readOnly") is True


def test_chart_files_are_symlinks_to_loadtests() -> None:
    files = sorted(CHART_FILES.iterdir())
    assert [f.name for f in files] == ["locustfile.py", "profiles.py"]
    for file in files:
        assert file.is_symlink(), f"{file} must be a symlink, or a copy would drift from loadtests/"
        assert file.resolve() == (LOADTESTS / file.name).resolve(), f"{file} points at {file.resolve()}"


def test_every_local_module_the_locustfile_imports_is_in_the_chart() -> None:
    tree = ast.parse((LOADTESTS / "locustfile.py").read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.add(node.module.split(".")[0])
    local = {name for name in imported if (LOADTESTS / f"{name}.py").exists()}
    assert local == {"profiles"}, "the locustfile's local imports changed: mount them too"
    assert {f"{name}.py" for name in local} <= {f.name for f in CHART_FILES.iterdir()}


def test_a_file_git_left_as_a_link_text_is_refused(chart: Chart, tmp_path: Path) -> None:
    copy = tmp_path / "buylist"
    shutil.copytree(chart.path, copy)
    (copy / "files" / "loadtests" / "locustfile.py").write_text("../../../../loadtests/locustfile.py")
    with pytest.raises(RenderError, match=r"must be a symlink to loadtests/locustfile\.py"):
        Chart(helm=chart.helm, path=copy).render(sets=ON)


def test_changing_a_loadtests_file_rolls_the_pods(chart: Chart, tmp_path: Path) -> None:
    before = _checksums(chart.render(sets=ON))
    copy = tmp_path / "buylist"
    shutil.copytree(chart.path, copy)
    profiles = copy / "files" / "loadtests" / "profiles.py"
    profiles.write_text(profiles.read_text().replace("max_p95_ms=500", "max_p95_ms=400"))
    changed = Chart(helm=chart.helm, path=copy).render(sets=ON)
    assert "max_p95_ms=400" in by_name(changed, "ConfigMap", "buylist-locust-loadtests")["data"]["profiles.py"]
    after = _checksums(changed)
    for name in (MASTER, WORKER):
        assert after[name]["checksum/loadtests"] != before[name]["checksum/loadtests"], f"{name} would not restart"
        assert after[name]["checksum/config"] == before[name]["checksum/config"]
    reprofiled = _checksums(chart.render(sets=[*ON, "locust.profile=spike"]))
    for name in (MASTER, WORKER):
        assert reprofiled[name]["checksum/config"] != before[name]["checksum/config"], f"{name} would not restart"
        assert reprofiled[name]["checksum/loadtests"] == before[name]["checksum/loadtests"]


# --- what the locustfile reads ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sets", "host"),
    [
        ([], "http://buylist-customer-facing:80"),
        (["customerFacing.service.port=8081"], "http://buylist-customer-facing:8081"),
        (["locust.target=user-buy-frontend"], "http://buylist-user-buy-frontend:80/api"),
        (["locust.host=http://buylist-customer-facing:80/"], "http://buylist-customer-facing:80/"),
    ],
    ids=["customer-facing", "moved-port", "frontend", "explicit"],
)
def test_users_call_the_target_service(chart: Chart, sets: list[str], host: str) -> None:
    objects = chart.render(sets=[*ON, *sets])
    for name in (MASTER, WORKER):
        assert _env(objects, name)["BUYLIST_LOAD_HOST"] == host
    target = "user-buy-frontend" if "locust.target=user-buy-frontend" in sets else "customer-facing"
    service = by_name(objects, "Service", f"buylist-{target}")
    if not any(s.startswith("locust.host=") for s in sets):
        assert host.startswith(f"http://{service['metadata']['name']}:{service['spec']['ports'][0]['port']}")


def test_profile_reaches_the_locustfiles_option(chart: Chart) -> None:
    objects = chart.render(sets=[*ON, "locust.profile=soak"])
    for name in (MASTER, WORKER):
        assert _env(objects, name)["LOCUST_LOAD_PROFILE"] == "soak"
    source = (LOADTESTS / "locustfile.py").read_text()
    assert 'env_var="LOCUST_LOAD_PROFILE"' in source
    assert 'os.environ.get("BUYLIST_LOAD_HOST"' in source


def test_schema_offers_exactly_the_profiles_of_profiles_py() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    assert set(schema["properties"]["locust"]["properties"]["profile"]["enum"]) == set(PROFILES)


@pytest.mark.parametrize(
    ("setting", "complaint"),
    [
        ("locust.ingress.path=locust", "/locust/ingress/path"),
        ("locust.ingress.path=/locust/", "/locust/ingress/path"),
        ("locust.ingress.path=/", "/locust/ingress/path"),
        ("locust.profile=heavy", "/locust/profile"),
        ("locust.target=customer-management-api", "/locust/target"),
        ("locust.workers.replicas=0", "/locust/workers/replicas"),
        ("locust.host=buylist-customer-facing", "/locust/host"),
    ],
)
def test_schema_refuses_bad_locust_values(chart: Chart, setting: str, complaint: str) -> None:
    with pytest.raises(RenderError, match="values don't meet the specifications of the schema") as refused:
        chart.render(sets=[*ON, setting])
    assert complaint in str(refused.value)


# --- the web UI: port-forward and Ingress -------------------------------------------------------------------------


def test_without_ingress_the_ui_is_at_the_root(chart: Chart) -> None:
    objects = chart.render(sets=ON)
    assert _option(_container(objects, MASTER)["args"], "web-base-path") is None
    assert not kinds(objects, "Ingress")


@pytest.mark.parametrize("path", ["/locust", "/tools/load-test"])
def test_ingress_forwards_its_path_unchanged_to_the_same_base_path(chart: Chart, path: str) -> None:
    objects = chart.render(sets=[*WITH_INGRESS, f"locust.ingress.path={path}"])
    master = _container(objects, MASTER)
    assert _option(master["args"], "web-base-path") == path
    for probe in ("livenessProbe", "readinessProbe"):
        assert master[probe]["httpGet"]["path"] == f"{path}/", "with a base path, / answers 404"
    (ingress,) = kinds(objects, "Ingress")
    (rule,) = ingress["spec"]["rules"]
    (entry,) = rule["http"]["paths"]
    assert (entry["path"], entry["pathType"]) == (path, "Prefix")
    assert entry["backend"]["service"] == {"name": MASTER, "port": {"name": "http"}}
    assert "http" in {p["name"] for p in by_name(objects, "Service", MASTER)["spec"]["ports"]}
    assert "host" not in rule
    assert "ingressClassName" not in ingress["spec"]
    rewrites = [a for a in ingress["metadata"].get("annotations", {}) if "rewrite" in a]
    assert not rewrites, "the master expects the path unchanged"


def test_ingress_class_host_tls_and_annotations(chart: Chart) -> None:
    sets = [
        *WITH_INGRESS,
        "locust.ingress.className=nginx",
        "locust.ingress.host=load.example.com",
        "locust.ingress.tls[0].secretName=load-tls",
        "locust.ingress.tls[0].hosts[0]=load.example.com",
        "locust.ingress.annotations.nginx\\.ingress\\.kubernetes\\.io/auth-type=basic",
    ]
    (ingress,) = kinds(chart.render(sets=sets), "Ingress")
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["rules"][0]["host"] == "load.example.com"
    assert ingress["spec"]["tls"] == [{"secretName": "load-tls", "hosts": ["load.example.com"]}]
    assert ingress["metadata"]["annotations"] == {"nginx.ingress.kubernetes.io/auth-type": "basic"}


def test_notes_name_the_url_to_open(chart: Chart, tmp_path: Path) -> None:
    assert "Locust" not in render_notes(chart, tmp_path / "off")
    plain = render_notes(chart, tmp_path / "plain", sets=ON)
    assert "port-forward svc/buylist-locust-master 8089:8089" in plain
    assert re.search(r"open http://127\.0\.0\.1:8089/\n", plain)
    assert "Ingress" not in plain
    routed = render_notes(chart, tmp_path / "routed", sets=[*WITH_INGRESS, "locust.ingress.host=load.example.com"])
    assert "open http://127.0.0.1:8089/locust/\n" in routed
    assert "through the Ingress: http://load.example.com/locust/" in routed
    tls = render_notes(chart, tmp_path / "tls", sets=[*WITH_INGRESS, "locust.ingress.tls[0].secretName=t"])
    assert "through the Ingress: https://" in tls


# --- image ----------------------------------------------------------------------------------------------------------


def test_image_is_the_official_one_at_the_pinned_locust_version(chart: Chart) -> None:
    pinned = re.search(r"^locust==(\S+)$", (ROOT / "requirements-dev.txt").read_text(), re.M)
    assert pinned, "requirements-dev.txt pins no locust version"
    assert chart.values()["locust"]["image"]["tag"] == pinned[1]
    objects = chart.render(sets=[*ON, "image.registry=ghcr.io/example", "image.pullPolicy=Never"])
    for name in (MASTER, WORKER):
        container = _container(objects, name)
        assert container["image"] == f"docker.io/locustio/locust:{pinned[1]}", "image.registry is the buylist images'"
        assert container["imagePullPolicy"] == "IfNotPresent", "image.pullPolicy=Never is for images built in-node"
        assert _deployment(objects, name)["metadata"]["annotations"]["checkov.io/skip1"].startswith("CKV_K8S_43=")


def test_a_pinned_locust_digest_wins_and_drops_the_skip(chart: Chart) -> None:
    digest = "sha256:" + "cd" * 32
    objects = chart.render(sets=[*ON, f"locust.image.digest={digest}"])
    for name in (MASTER, WORKER):
        assert _container(objects, name)["image"] == f"docker.io/locustio/locust@{digest}"
        skips = _deployment(objects, name)["metadata"]["annotations"].values()
        assert not [s for s in skips if s.startswith("CKV_K8S_43=")]


# --- NetworkPolicies ------------------------------------------------------------------------------------------------


def test_workers_reach_the_master_and_their_target_and_nothing_else(chart: Chart) -> None:
    objects = chart.render(sets=ON)
    policies = {p["metadata"]["name"]: p for p in kinds(objects, "NetworkPolicy")}
    worker, master = policies[WORKER], policies[MASTER]
    assert _egress(worker) == {"locust-master:5557", "customer-facing:8080", "dns:53"}
    assert _ingress(worker) == set(), "nothing connects to a worker"
    assert _ingress(master) == {"locust-worker:5557", "<anywhere>:8089"}
    assert _egress(master) == set(), "the master only answers"
    # The target admits the workers on its service port, and no other policy mentions them.
    assert "locust-worker:8080" in _ingress(policies["buylist-customer-facing"])
    for name, policy in policies.items():
        if name not in (MASTER, "buylist-customer-facing"):
            assert not [s for s in _ingress(policy) if s.startswith("locust-worker:")], name


def test_without_locust_customer_facing_admits_only_its_clients(chart: Chart) -> None:
    policy = by_name(chart.render(), "NetworkPolicy", "buylist-customer-facing")
    assert _ingress(policy) == {"user-buy-frontend:8080", "helm-test:8080", "prometheus:8080"}


def test_workers_loading_the_frontend_reach_only_the_frontend(chart: Chart, tmp_path: Path) -> None:
    narrowed = [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}]
    values = tmp_path / "narrowed.yaml"
    values.write_text(json.dumps({"networkPolicy": {"frontendFrom": narrowed}}))
    sets = [*ON, "locust.target=user-buy-frontend"]
    for frontend_from in ([], narrowed):
        objects = chart.render(*((values,) if frontend_from else ()), sets=sets)
        policies = {p["metadata"]["name"]: p for p in kinds(objects, "NetworkPolicy")}
        assert _egress(policies[WORKER]) == {"locust-master:5557", "user-buy-frontend:8080", "dns:53"}
        assert not [s for s in _ingress(policies["buylist-customer-facing"]) if s.startswith("locust")]
        frontend = _ingress(policies["buylist-user-buy-frontend"])
        if frontend_from:
            assert frontend == {f"{json.dumps(narrowed[0])}:8080", "locust-worker:8080"}
        else:
            assert frontend == {"<anywhere>:8080"}, "anyone, the workers included"


def test_ui_policy_narrows_to_locust_ui_from(chart: Chart) -> None:
    objects = chart.render(SCENARIO)
    master = by_name(objects, "NetworkPolicy", MASTER)
    (ui_rule,) = [r for r in master["spec"]["ingress"] if r["ports"][0]["port"] == 8089]
    assert ui_rule["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}]
