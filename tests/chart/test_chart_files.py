"""The chart's own files: Chart.lock matches Chart.yaml by helm's digest, dependencies and Bitnami images are
pinned, every value is documented and typed, every helper says what it is for.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.chart.lockfile import helm_lock_digest
from tests.chart.support import CHART, Chart, RenderError

pytestmark = pytest.mark.chart

PINNED = {
    "kafka": ("32.4.3", "oci://registry-1.docker.io/bitnamicharts"),
    "mongodb": ("16.5.45", "oci://registry-1.docker.io/bitnamicharts"),
    "prometheus": ("29.27.0", "https://prometheus-community.github.io/helm-charts"),
    "prometheus-adapter": ("5.3.0", "https://prometheus-community.github.io/helm-charts"),
    "keda": ("2.20.2", "https://kedacore.github.io/charts"),
}
# Every image the two Bitnami charts can run, by values path (see README: frozen at docker.io/bitnamilegacy).
BITNAMI_IMAGES = {
    "kafka.image": "bitnamilegacy/kafka",
    "kafka.defaultInitContainers.volumePermissions.image": "bitnamilegacy/os-shell",
    "kafka.defaultInitContainers.autoDiscovery.image": "bitnamilegacy/kubectl",
    "kafka.metrics.jmx.image": "bitnamilegacy/jmx-exporter",
    "mongodb.image": "bitnamilegacy/mongodb",
    "mongodb.tls.image": "bitnamilegacy/nginx",
    "mongodb.volumePermissions.image": "bitnamilegacy/os-shell",
    "mongodb.externalAccess.autoDiscovery.image": "bitnamilegacy/kubectl",
    "mongodb.externalAccess.dnsCheck.image": "bitnamilegacy/os-shell",
    "mongodb.metrics.image": "bitnamilegacy/mongodb-exporter",
}


def _chart_yaml() -> dict[str, Any]:
    return yaml.safe_load((CHART / "Chart.yaml").read_text())


def _lock() -> dict[str, Any]:
    return yaml.safe_load((CHART / "Chart.lock").read_text())


def test_chart_version_and_app_version() -> None:
    meta = _chart_yaml()
    assert (meta["version"], meta["appVersion"]) == ("0.2.0", "0.1.0")


def test_dependencies_are_pinned_exactly_and_conditional() -> None:
    deps = {d["name"]: d for d in _chart_yaml()["dependencies"]}
    assert set(deps) == set(PINNED)
    for name, (version, repository) in PINNED.items():
        assert isinstance(deps[name]["version"], str), name
        assert re.fullmatch(r"\d+\.\d+\.\d+", deps[name]["version"]), f"{name}: a range is not a pin"
        assert (deps[name]["version"], deps[name]["repository"]) == (version, repository)
        assert deps[name]["condition"] == f"{name}.enabled"


def test_lock_digest_is_the_one_helm_computes() -> None:
    requested = _chart_yaml()["dependencies"]
    lock = _lock()
    assert [(d["name"], d["repository"], d["version"]) for d in lock["dependencies"]] == [
        (d["name"], d["repository"], d["version"]) for d in requested
    ]
    assert lock["digest"] == helm_lock_digest(requested, lock["dependencies"])


def test_lock_digest_function_matches_helms_go_code() -> None:
    # Expected value printed by a throwaway Go program that json.Marshal-ed these dependencies as
    # [2][]*chart.Dependency with helm.sh/helm/v3 v3.22.0's types and hashed them as HashReq does. The fixture
    # exercises what a naive port gets wrong: field order, omitempty, tags, alias, import-values maps, <>& escapes.
    requested = [
        {
            "name": "alpha",
            "version": ">=1.2.0 <2.0.0",
            "repository": "https://charts.example.com/a?x=1&y=<2>",
            "condition": "alpha.enabled",
            "tags": ["front", "back"],
            "alias": "first",
            "import-values": [{"child": "data.z", "parent": "zed"}, "simple"],
        },
        {"name": "beta", "repository": "oci://registry.example.com/charts", "version": "3.0.0"},
    ]
    locked = [
        {"name": "alpha", "repository": "https://charts.example.com/a?x=1&y=<2>", "version": "1.4.2"},
        {"name": "beta", "repository": "oci://registry.example.com/charts", "version": "3.0.0"},
    ]
    assert helm_lock_digest(requested, locked) == (
        "sha256:3c13ad3c5ae8f5dc1fc472452d4a707bf527d74f124824ca3f846eefc7ec9324"
    )


def test_helm_itself_accepts_the_lock(chart: Chart, tmp_path: Path) -> None:
    # `helm dependency build` checks the digest before it needs any repository; with no repositories
    # configured it then stops at "no repository definition", which proves the digest check passed.
    copy = tmp_path / "buylist"
    shutil.copytree(CHART, copy, ignore=shutil.ignore_patterns("charts"))
    env = {**os.environ}
    for var in ("HELM_CONFIG_HOME", "HELM_CACHE_HOME", "HELM_DATA_HOME"):
        env[var] = str(tmp_path / var.lower())
    env["HELM_REPOSITORY_CONFIG"] = str(tmp_path / "repositories.yaml")
    env["HELM_REGISTRY_CONFIG"] = str(tmp_path / "registry.json")

    def build() -> str:
        done = subprocess.run(
            [str(chart.helm), "dependency", "build", str(copy)], capture_output=True, text=True, env=env, timeout=60
        )
        return done.stdout + done.stderr

    assert "no repository definition" in build()
    lock = copy / "Chart.lock"
    lock.write_text(lock.read_text().replace("version: 2.20.2", "version: 2.20.1"))
    assert "out of sync" in build(), "helm must refuse a lock whose digest does not match"


def _lookup(values: dict[str, Any], dotted: str) -> Any:
    node: Any = values
    for part in dotted.split("."):
        node = node[part]
    return node


def test_bitnami_images_come_from_bitnamilegacy() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    for path, repository in BITNAMI_IMAGES.items():
        image = _lookup(values, path)
        assert image["registry"] == "docker.io", path
        assert image["repository"] == repository, path
        assert re.fullmatch(r"[0-9][\w.]*-debian-12-r\d+", str(image["tag"])), f"{path}: an immutable tag"
    # No Bitnami image is left pointing at the withdrawn docker.io/bitnami repository.
    text = (CHART / "values.yaml").read_text()
    assert not re.search(r"repository:\s*bitnami/", text)


def _documented_keys(text: str) -> list[tuple[int, str, bool]]:
    """Return (line, key, documented) for every mapping key outside list items and block scalars.

    A key is documented by a `# --` line in the comment block right above it. The children of a documented
    map in which no key has a `# --` of its own (a pass-through block such as resources) are documented by it,
    as helm-docs shows such a map as one value.
    """
    keys: list[dict[str, Any]] = []
    lines = text.splitlines()
    skip_deeper_than: int | None = None  # inside a block scalar or a list item
    parents: list[dict[str, Any]] = []
    for number, line in enumerate(lines, 1):
        stripped = line.lstrip()
        indent = len(line) - len(stripped)
        if not stripped or stripped.startswith("#"):
            continue
        if skip_deeper_than is not None:
            if indent > skip_deeper_than:
                continue
            skip_deeper_than = None
        while parents and parents[-1]["indent"] >= indent:
            parents.pop()
        if stripped.startswith("- "):
            skip_deeper_than = indent
            continue
        match = re.match(r"([\w.\-/]+|'[^']+'|\"[^\"]+\"):(\s|$)", stripped)
        if not match:
            continue
        if re.search(r":\s*[|>][-+]?\s*$", stripped):
            skip_deeper_than = indent
        comments = []
        above = number - 2
        while above >= 0 and lines[above].strip().startswith("#"):
            comments.append(lines[above].strip())
            above -= 1
        key = {
            "line": number,
            "name": match.group(1),
            "indent": indent,
            "own": any(c.startswith("# --") for c in comments),
        }
        key["ancestors"] = list(parents)
        key["described_below"] = False
        if key["own"]:
            for parent in parents:
                parent["described_below"] = True
        keys.append(key)
        parents.append(key)
    out = []
    for key in keys:
        inherited = any(a["own"] and not a["described_below"] for a in key["ancestors"])
        out.append((key["line"], key["name"], key["own"] or inherited))
    return out


def _undocumented(text: str) -> list[str]:
    return [f"values.yaml:{n}: {key}" for n, key, ok in _documented_keys(text) if not ok]


def test_every_value_has_a_description() -> None:
    text = (CHART / "values.yaml").read_text()
    assert len(_documented_keys(text)) > 150
    missing = _undocumented(text)
    assert not missing, "keys without a `# --` description right above them:\n" + "\n".join(missing)


def test_the_description_check_catches_a_bare_key() -> None:
    text = "# -- documented\na: 1\n# -- a map\nmap:\n  # -- documented\n  b: |\n    c: 3\n  d:\n    - e: 4\n"
    assert _undocumented(text) == ["values.yaml:8: d"]


@pytest.mark.parametrize(
    ("setting", "complaint"),
    [
        ("topics.purchases.partitions=twelve", "/topics/purchases/partitions"),
        ("topics.purchases.partitions=0", "/topics/purchases/partitions"),
        ("image.backend.digest=latest", "/image/backend/digest"),
        ("logLevel=LOUD", "/logLevel"),
        ("customerManagementWorker.autoscaling.offsetResetPolicy=newest", "offsetResetPolicy"),
        ("prometheus-adapter.rules.external[0].seriesQuery=x", "/prometheus-adapter/rules/external"),
        ("customerFacing.replicas=3", "customerFacing"),
        ("typo=1", "typo"),
    ],
)
def test_values_schema_refuses_bad_values(chart: Chart, setting: str, complaint: str) -> None:
    with pytest.raises(RenderError, match="values don't meet the specifications of the schema") as refused:
        chart.render(sets=[setting])
    assert complaint in str(refused.value)


def test_every_helper_has_a_one_line_comment() -> None:
    text = (CHART / "templates" / "_helpers.tpl").read_text()
    defines = re.findall(r"^\{\{- define \"([^\"]+)\"", text, flags=re.M)
    assert len(defines) > 20
    for name in defines:
        assert name.startswith("buylist."), name
        comment_then_define = r"^\{\{/\* " + re.escape(name) + r": [^\n]+\*/\}\}\n\{\{- define \"" + re.escape(name)
        assert re.search(comment_then_define, text, re.M), f"{name} needs a one-line comment right above its define"
