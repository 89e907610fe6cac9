"""`make deploy` / `make cleanup` and the Argo CD Applications, checked without a cluster.

shellcheck lints both scripts. Their control flow is then run for real against stub `minikube`, `kubectl`, `helm` and
`docker` commands that record their arguments and answer like the real ones: stubs are the right tool for what a
script does in which order with which arguments, and a real run needs a machine with a container engine and a
cluster, which this one is not. The scripts run from a copy of scripts/ in a scratch checkout, on a PATH holding only
the stubs and the few system tools the scripts use, so nothing on this machine is called or changed.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.support.processes import ROOT, VENV_BIN

pytestmark = pytest.mark.chart

SCRIPTS = ("scripts/deploy.sh", "scripts/cleanup.sh")
SYSTEM_TOOLS = ("bash", "env", "cat", "cut", "dirname", "mktemp", "rm", "sed", "sha256sum", "sleep", "tail")
SEP = "\x1f"
FRONTEND_URL = "http://192.168.49.2:30080"
AUTOSCALED = (
    "buylist-customer-facing",
    "buylist-customer-management-api",
    "buylist-customer-management-worker",
    "buylist-user-buy-frontend",
)

# Each stub appends one line to $STUB_LOG: its name and arguments, separated by \x1f.
STUB_HEADER = """#!/usr/bin/env bash
( IFS=$'\\x1f'; printf '%s\\n' "${0##*/}$IFS$*" ) >>"$STUB_LOG"
"""
STUBS = {
    "minikube": """
case $1 in
  status) if [[ -n ${STUB_CLUSTER_RUNNING:-} ]]; then echo Running; else echo Stopped; exit 7; fi ;;
  service) echo "$STUB_URL" ;;
esac
""",
    "kubectl": """
case " $* " in
  *" get service -l "*) echo buylist-user-buy-frontend ;;
  *" get service "*) echo NodePort ;;
esac
""",
    "helm": """
if [[ $1 == upgrade && -n ${STUB_HELM_FAIL:-} ]]; then echo "Error: context deadline exceeded" >&2; exit 1; fi
""",
    "docker": "",
}


@dataclass
class Run:
    """One run of a script: its exit code, its output and the stub commands it called, in order."""

    returncode: int
    output: str
    calls: list[list[str]]

    def index(self, *prefix: str, start: int = 0) -> int:
        """Return the position of the first call from `start` on whose argv begins with `prefix`."""
        for position in range(start, len(self.calls)):
            if self.calls[position][: len(prefix)] == list(prefix):
                return position
        raise AssertionError(f"no call starting with {prefix!r} after #{start}:\n{self.listing()}")

    def named(self, tool: str) -> list[list[str]]:
        """Return the calls of one stub."""
        return [call for call in self.calls if call[0] == tool]

    def listing(self) -> str:
        """Return the calls one per line, for failure messages."""
        return "\n".join(f"#{i} " + " ".join(call) for i, call in enumerate(self.calls)) or "(no calls)"


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A scratch checkout: the real scripts/, and the one chart file deploy.sh checks for."""
    root = tmp_path / "repo"
    shutil.copytree(ROOT / "scripts", root / "scripts")
    values = root / "charts/buylist/ci/minikube-values.yaml"
    values.parent.mkdir(parents=True)
    values.write_text("# stand-in: the stubbed helm never reads it\n")
    return root


def run_script(
    checkout: Path,
    tmp_path: Path,
    script: str,
    *args: str,
    stubs: tuple[str, ...] = tuple(STUBS),
    env: dict[str, str] | None = None,
) -> Run:
    """Run scripts/<script> from the scratch checkout with only `stubs` and the system tools on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for tool in SYSTEM_TOOLS:
        found = shutil.which(tool, path="/usr/bin:/bin")
        assert found, f"{tool} is needed to run the scripts"
        if not (bin_dir / tool).exists():
            (bin_dir / tool).symlink_to(found)
    for name in stubs:
        stub = bin_dir / name
        stub.write_text(STUB_HEADER + STUBS[name])
        stub.chmod(0o755)
    log = tmp_path / "calls.log"
    log.write_text("")
    full_env = {
        "PATH": str(bin_dir),
        "HOME": str(tmp_path / "home"),
        # lib.sh's HELM_BIN lives here: empty, so no helm built on this machine is found.
        "BUYLIST_CACHE": str(tmp_path / "cache"),
        "STUB_LOG": str(log),
        "STUB_URL": FRONTEND_URL,
        **(env or {}),
    }
    result = subprocess.run(
        [str(checkout / "scripts" / script), *args],
        env=full_env,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    calls = [line.split(SEP) for line in log.read_text().splitlines()]
    return Run(result.returncode, result.stdout + result.stderr, calls)


@pytest.mark.parametrize("script", SCRIPTS)
def test_shellcheck_passes(script: str) -> None:
    result = subprocess.run(
        [str(VENV_BIN / "shellcheck"), "-x", script], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def helm_upgrade_args(call: list[str]) -> None:
    """Assert one `helm upgrade` call installs the release from the chart with minikube's values and images."""
    assert call[:5] == ["helm", "upgrade", "--install", "buylist", "charts/buylist"], call
    joined = " ".join(call)
    for expected in (
        "-n buylist",
        "--create-namespace",
        "--kube-context buylist",
        "--timeout 15m",
        "-f charts/buylist/ci/minikube-values.yaml",
        "--set image.backend.repository=buylist/backend",
        "--set image.backend.tag=dev",
        "--set image.frontend.repository=buylist/frontend",
        "--set image.frontend.tag=dev",
        "--set image.pullPolicy=Never",
    ):
        assert expected in joined, f"{expected!r} missing from {joined}"
    assert "--wait" in call


def test_deploy_runs_the_seven_steps_in_order(checkout: Path, tmp_path: Path) -> None:
    run = run_script(checkout, tmp_path, "deploy.sh")
    assert run.returncode == 0, run.output + run.listing()

    start = run.index("minikube", "start")
    assert run.calls[start][2:] == ["-p", "buylist", "--cpus", "4", "--memory", "8g", "--disk-size", "40g"]
    addon = run.index("minikube", "addons", "enable", "metrics-server", start=start)
    backend = run.index("minikube", "image", "build", "-p", "buylist", "-t", "buylist/backend:dev", "apps", start=addon)
    frontend = run.index(
        "minikube", "image", "build", "-p", "buylist", "-t", "buylist/frontend:dev", "apps/frontend", start=addon
    )
    dependencies = run.index("helm", "dependency", "build", "charts/buylist", start=max(backend, frontend))
    first = run.index("helm", "upgrade", start=dependencies)
    crd_wait = run.index("kubectl", "--context", "buylist", "wait", start=first)
    assert run.calls[crd_wait][4:] == ["--for", "condition=established", "--timeout=5m", "crd/scaledobjects.keda.sh"]
    second = run.index("helm", "upgrade", start=crd_wait)
    url = run.index("minikube", "service", start=second)
    assert run.calls[url][-2:] == ["buylist-user-buy-frontend", "--url"]

    helm_upgrade_args(run.calls[first])
    assert (ROOT / "charts/buylist/ci/minikube-values.yaml").is_file(), "the values file deploy.sh passes"
    assert run.calls[second] == run.calls[first], "the second pass must repeat the first one's arguments"
    assert len(run.named("helm")) == 3, run.listing()
    assert FRONTEND_URL in run.output
    assert [line for line in run.output.splitlines() if "/7 " in line][-1].startswith("\x1b[1;34m==>\x1b[0m 7/7")


def test_deploy_reuses_a_running_cluster_and_honours_its_settings(checkout: Path, tmp_path: Path) -> None:
    running = run_script(checkout, tmp_path, "deploy.sh", env={"STUB_CLUSTER_RUNNING": "1"})
    assert running.returncode == 0, running.output + running.listing()
    assert not [call for call in running.named("minikube") if call[1] == "start"], running.listing()
    assert "already running" in running.output

    settings = {
        "MINIKUBE_PROFILE": "shop",
        "MINIKUBE_CPUS": "6",
        "MINIKUBE_MEMORY": "12g",
        "MINIKUBE_DRIVER": "docker",
        "BUYLIST_NAMESPACE": "shop-ns",
        "BUYLIST_IMAGE_TAG": "try1",
    }
    custom = run_script(checkout, tmp_path, "deploy.sh", env=settings)
    assert custom.returncode == 0, custom.output + custom.listing()
    start = custom.calls[custom.index("minikube", "start")]
    assert start[2:] == ["-p", "shop", "--cpus", "6", "--memory", "12g", "--disk-size", "40g", "--driver", "docker"]
    upgrade = " ".join(custom.calls[custom.index("helm", "upgrade")])
    assert "-n shop-ns" in upgrade
    assert "--kube-context shop" in upgrade
    assert "--set image.backend.tag=try1" in upgrade
    assert custom.index("minikube", "image", "build", "-p", "shop", "-t", "buylist/backend:try1", "apps") >= 0


def test_deploy_stops_with_the_pods_when_the_release_is_not_ready(checkout: Path, tmp_path: Path) -> None:
    run = run_script(checkout, tmp_path, "deploy.sh", env={"STUB_HELM_FAIL": "1"})
    assert run.returncode != 0
    assert "context deadline exceeded" in run.output
    assert "did not become ready" in run.output
    upgrade = run.index("helm", "upgrade")
    pods = ["kubectl", "--context", "buylist", "-n", "buylist", "get", "pods", "-o", "wide"]
    assert run.calls[upgrade + 1] == pods, run.listing()
    assert upgrade + 2 == len(run.calls), f"nothing may follow a failed install:\n{run.listing()}"


@pytest.mark.parametrize(
    ("missing", "named"),
    [
        (("minikube",), ["minikube"]),
        (("minikube", "kubectl"), ["minikube", "kubectl"]),
        (("helm",), ["helm"]),
        (("docker",), ["docker or podman"]),
    ],
)
def test_deploy_names_what_is_missing_and_touches_nothing(
    checkout: Path, tmp_path: Path, missing: tuple[str, ...], named: list[str]
) -> None:
    run = run_script(checkout, tmp_path, "deploy.sh", stubs=tuple(s for s in STUBS if s not in missing))
    assert run.returncode != 0
    for name in named:
        assert f"  - {name}" in run.output, run.output
    changing = [call for call in run.calls if call[:2] != ["minikube", "status"]]
    assert changing == [], run.listing()


def test_cleanup_removes_the_release_and_namespace_and_only_then_the_cluster(checkout: Path, tmp_path: Path) -> None:
    kept = run_script(checkout, tmp_path, "cleanup.sh", env={"STUB_CLUSTER_RUNNING": "1"})
    assert kept.returncode == 0, kept.output + kept.listing()
    uninstall = kept.index("helm", "uninstall", "buylist", "--kube-context", "buylist", "-n", "buylist")
    kept.index("kubectl", "--context", "buylist", "delete", "namespace", "buylist", start=uninstall)
    assert not [call for call in kept.named("minikube") if call[1] == "delete"], kept.listing()

    deleted = run_script(checkout, tmp_path, "cleanup.sh", "--delete-cluster", env={"STUB_CLUSTER_RUNNING": "1"})
    assert deleted.returncode == 0, deleted.output + deleted.listing()
    namespace = deleted.index("kubectl", "--context", "buylist", "delete", "namespace")
    assert deleted.calls[deleted.index("minikube", "delete", start=namespace)] == [
        "minikube",
        "delete",
        "-p",
        "buylist",
    ]

    refused = run_script(checkout, tmp_path, "cleanup.sh", "--everything")
    assert refused.returncode != 0
    assert "--everything" in refused.output
    assert refused.calls == []


APPLICATIONS = {
    "staging": ("ci/minikube-values.yaml", True),
    "production": ("ci/production-values.yaml", False),
}


@pytest.mark.parametrize("environment", sorted(APPLICATIONS))
def test_argocd_application(environment: str) -> None:
    values_file, automated = APPLICATIONS[environment]
    path = ROOT / "deploy/argocd" / f"{environment}.yaml"
    text = path.read_text()
    app = yaml.safe_load(text)

    assert app["apiVersion"] == "argoproj.io/v1alpha1"
    assert app["kind"] == "Application"
    assert app["metadata"]["name"] == f"buylist-{environment}"
    spec = app["spec"]
    assert spec["project"] == "default"
    source = spec["source"]
    assert source["repoURL"] == "https://github.com/OWNER/buylist.git"
    assert "PLACEHOLDER" in next(line for line in text.splitlines() if "repoURL:" in line)
    assert source["path"] == "charts/buylist"
    assert source["helm"]["valueFiles"] == [values_file]
    assert (ROOT / "charts/buylist" / values_file).is_file(), f"Argo CD would fail: no charts/buylist/{values_file}"
    assert source["helm"]["releaseName"] == "buylist"

    ignored = {
        entry["name"]: entry
        for entry in spec["ignoreDifferences"]
        if entry["group"] == "apps" and entry["kind"] == "Deployment"
    }
    assert sorted(ignored) == sorted(AUTOSCALED)
    for entry in ignored.values():
        assert entry.get("jsonPointers") == ["/spec/replicas"] or entry.get("jqPathExpressions") == [".spec.replicas"]

    options = spec["syncPolicy"]["syncOptions"]
    for option in ("CreateNamespace=true", "ServerSideApply=true", "RespectIgnoreDifferences=true"):
        assert option in options
    assert ("automated" in spec["syncPolicy"]) is automated


def test_argocd_readme_explains_custom_resources() -> None:
    readme = (ROOT / "deploy/argocd/README.md").read_text()
    assert "SkipDryRunOnMissingResource=true" in readme
    assert "ScaledObject" in readme
