"""Rendering and inspection helpers of the chart tier (fixtures live in conftest.py)."""

from __future__ import annotations

import copy
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from kubernetes_validate import utils as kv_utils

from loadtests.run import default_helm

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "buylist"
SCENARIOS = sorted((CHART / "ci").glob("*.yaml"))

# The two newest Kubernetes versions kubernetes-validate ships schemas for.
KUBE_VERSIONS = sorted(set(kv_utils.all_versions()), key=lambda v: tuple(int(p) for p in v.split(".")))[-2:]
KEDA_APIS = ("keda.sh/v1alpha1/ScaledObject", "keda.sh/v1alpha1/TriggerAuthentication")
ALL_CRD_APIS = (*KEDA_APIS, "monitoring.coreos.com/v1/ServiceMonitor")


# One place knows where the project installs helm; the load tests' preview uses it too.
helm_path = default_helm


class RenderError(Exception):
    """`helm template` refused the values; the message is helm's stderr."""


@dataclass
class Chart:
    """The dependency-free copy of charts/buylist and the helm that renders it."""

    helm: Path
    path: Path
    _cache: dict[tuple[Any, ...], list[dict[str, Any]]] = field(default_factory=dict)

    def values(self) -> dict[str, Any]:
        """Return the chart's default values."""
        return yaml.safe_load((self.path / "values.yaml").read_text())

    def template_cmd(
        self,
        *values_files: Path,
        sets: Iterable[str] = (),
        api_versions: Iterable[str] = (),
        kube_version: str = KUBE_VERSIONS[-1],
        namespace: str = "buylist",
        release: str = "buylist",
    ) -> list[str]:
        """Return the `helm template` command line for these inputs."""
        cmd = [str(self.helm), "template", release, str(self.path), "--namespace", namespace]
        cmd += ["--kube-version", kube_version]
        for f in values_files:
            cmd += ["--values", str(f)]
        for s in sets:
            cmd += ["--set", s]
        for api in api_versions:
            cmd += ["--api-versions", api]
        return cmd

    def render_text(self, *values_files: Path, **kwargs: Any) -> str:
        """Render and return the manifest text, raising RenderError with helm's message on refusal."""
        done = subprocess.run(self.template_cmd(*values_files, **kwargs), capture_output=True, text=True)
        if done.returncode != 0:
            raise RenderError(done.stderr.strip())
        return done.stdout

    def render(self, *values_files: Path, **kwargs: Any) -> list[dict[str, Any]]:
        """Render and return the objects (cached per inputs; each call gets its own copy to mutate)."""
        key = (
            values_files,
            tuple(sorted((k, tuple(v) if isinstance(v, list | tuple) else v) for k, v in kwargs.items())),
        )
        if key not in self._cache:
            text = self.render_text(*values_files, **kwargs)
            self._cache[key] = [d for d in yaml.safe_load_all(text) if d]
        return copy.deepcopy(self._cache[key])


def scenario_id(path: Path | None) -> str:
    """Name a scenario in test ids: its file name, or `defaults`."""
    return path.name if path else "defaults"


def kinds(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """Return the objects of one kind."""
    return [o for o in objects if o.get("kind") == kind]


def by_name(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    """Return the one object of this kind and name."""
    found = [o for o in kinds(objects, kind) if o["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def pod_specs(objects: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """Return (kind/name, pod spec) of every workload: Deployments, StatefulSets, Jobs and bare Pods."""
    specs = []
    for o in objects:
        name = f"{o['kind']}/{o['metadata']['name']}"
        if o["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
            specs.append((name, o["spec"]["template"]["spec"]))
        elif o["kind"] == "Pod":
            specs.append((name, o["spec"]))
    return specs


def pod_labels(objects: list[dict[str, Any]]) -> list[tuple[str, dict[str, str]]]:
    """Return (kind/name, pod labels) of every workload."""
    out = []
    for o in objects:
        name = f"{o['kind']}/{o['metadata']['name']}"
        if o["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
            out.append((name, o["spec"]["template"]["metadata"]["labels"]))
        elif o["kind"] == "Pod":
            out.append((name, o["metadata"]["labels"]))
    return out


def render_notes(chart: Chart, workdir: Path, api_versions: Iterable[str] = (), sets: Iterable[str] = ()) -> str:
    """Return NOTES.txt as helm would print it: `helm template` never renders it, so render it as a template."""
    copy_dir = workdir / "buylist"
    shutil.copytree(chart.path, copy_dir)
    body = "".join(f"  {line}\n" for line in (copy_dir / "templates" / "NOTES.txt").read_text().splitlines())
    (copy_dir / "templates" / "notes-preview.yaml").write_text("notes: |\n" + body)
    rendered = Chart(helm=chart.helm, path=copy_dir).render(api_versions=tuple(api_versions), sets=list(sets))
    return str(next(o["notes"] for o in rendered if "notes" in o))
