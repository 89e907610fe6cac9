"""Fixtures of the chart tier: helm from the project's own setup and a renderable copy of the chart.

`helm template` refuses to render while a dependency listed in Chart.yaml is missing from charts/, even when
its condition is false, and the remote subcharts (Bitnami OCI, prometheus-community, kedacore) cannot be
downloaded here. So the tier copies charts/buylist to a temporary directory, deletes `dependencies` from the
copy's Chart.yaml and the copy's Chart.lock, and renders the chart's own templates only. The subcharts' values
stay in values.yaml (the parent reads some of them, e.g. mongodb.auth.existingSecret) and are never rendered.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml

from tests.chart.support import CHART, Chart, helm_path


@pytest.fixture(scope="session")
def helm() -> Path:
    """Return the helm binary scripts/install.sh installs, or fail saying how to get it."""
    path = helm_path()
    if not os.access(path, os.X_OK):
        pytest.fail(f"helm not found at {path}: run `scripts/install.sh helm` (or set HELM_BIN)", pytrace=False)
    return path


@pytest.fixture(scope="session")
def chart(helm: Path, tmp_path_factory: pytest.TempPathFactory) -> Chart:
    """Return a copy of the chart without its remote dependencies, ready for `helm template`."""
    copy = tmp_path_factory.mktemp("chart") / "buylist"
    shutil.copytree(CHART, copy, ignore=shutil.ignore_patterns("charts", "*.tgz"))
    meta = yaml.safe_load((copy / "Chart.yaml").read_text())
    meta.pop("dependencies", None)
    (copy / "Chart.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))
    (copy / "Chart.lock").unlink(missing_ok=True)
    return Chart(helm=helm, path=copy)
