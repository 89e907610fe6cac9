"""The cluster tier runs only against a real cluster: KUBECONFIG (or --kubeconfig) must name one.

pytest-helm-charts' kube_cluster fixture raises when no kube config is given, so without one every test here is
skipped up front, with a reason that says there is no cluster.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def _kubeconfig(config: pytest.Config) -> str:
    return config.getoption("kubeconfig", default=None) or os.environ.get("KUBECONFIG", "")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the cluster tier cleanly when no cluster is configured."""
    here = Path(__file__).parent
    kubeconfig = _kubeconfig(config)
    if not kubeconfig:
        reason = "no cluster: set KUBECONFIG or pass --kubeconfig to run the cluster tier"
    elif not all(Path(p).is_file() for p in kubeconfig.split(os.pathsep) if p):
        reason = f"no cluster: KUBECONFIG names {kubeconfig}, which does not exist"
    else:
        return
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.skip(reason=reason))
