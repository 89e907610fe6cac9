"""`make load PROFILE=smoke` against the real pipeline: exit code, reports, numbers that agree, every 201 stored."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from loadtests.run import default_helm
from loadtests.scale_preview import autoscaling_from_manifests, render_chart
from tests.support.processes import ROOT, VENV_BIN
from tests.support.stack import Prometheus, Stack

pytestmark = pytest.mark.integration

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclass
class Run:
    """One finished `python -m loadtests.run` and where it wrote."""

    done: subprocess.CompletedProcess[str]
    out: Path
    seconds: float

    @property
    def summary(self) -> dict[str, Any]:
        return json.loads((self.out / "summary.json").read_text())

    def explain(self) -> str:
        return f"exit {self.done.returncode}\n{self.done.stdout[-4000:]}\n{self.done.stderr[-4000:]}"


@pytest.fixture(scope="module")
def smoke(stack: Stack, prometheus: Prometheus, tmp_path_factory: pytest.TempPathFactory) -> Run:
    """Run the smoke profile once against the shared stack, its Prometheus and its Kafka."""
    reports = tmp_path_factory.mktemp("load-reports")
    started = time.monotonic()
    done = subprocess.run(
        [
            str(VENV_BIN / "python"),
            "-m",
            "loadtests.run",
            "--profile",
            "smoke",
            "--host",
            stack.services.facing_url,
            "--prometheus",
            prometheus.url,
            "--kafka-bootstrap",
            stack.kafka.bootstrap,
            "--reports-dir",
            str(reports),
            # Several decisions in a 15 s run; the settle phase is for the longer profiles.
            "--sync-period",
            "5",
            "--settle",
            "0",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    outs = sorted(reports.glob("load-smoke-*"))
    assert len(outs) == 1, f"expected one report directory in {reports}: {outs}\n{done.stdout}\n{done.stderr}"
    return Run(done, outs[0], time.monotonic() - started)


def png_size(path: Path) -> tuple[int, int]:
    """Return a PNG's width and height, failing when the file is not a PNG."""
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC, f"{path.name} is not a PNG"
    assert data[12:16] == b"IHDR", f"{path.name} has no IHDR chunk"
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def test_smoke_profile_passes_and_writes_every_report(smoke: Run) -> None:
    assert smoke.done.returncode == 0, smoke.explain()
    assert smoke.seconds < 40, f"the smoke run took {smoke.seconds:.0f} s"
    html = (smoke.out / "locust.html").read_text()
    assert "<html" in html.lower()
    assert "/getAllUserBuys/[userid]" in html
    for name in ("locust_stats.csv", "locust_stats_history.csv", "summary.md"):
        assert (smoke.out / name).stat().st_size > 0, name
    png = smoke.out / "load.png"
    width, height = png_size(png)
    assert (width, height) >= (800, 600)
    assert png.stat().st_size > 20_000, "a chart of three panels with lines is bigger than that"
    assert "| Aggregated |" in smoke.done.stdout, "the summary table is printed"


def test_summary_numbers_agree_with_locust_and_the_store(smoke: Run, stack: Stack) -> None:
    summary = smoke.summary
    rows = {r["name"]: r for r in summary["requests"]}
    total = summary["total"]
    assert summary["exit_code"] == smoke.done.returncode == 0
    assert total["requests"] > 0
    assert total["failures"] == 0
    assert total["requests"] == sum(r["requests"] for name, r in rows.items() if name != "Aggregated")
    assert total["p50_ms"] <= total["p95_ms"] <= total["p99_ms"]
    # Every persona ran: buyers, readers, and the burst buyer's replay.
    for name in ("POST /buy", "POST /buy (replay)", "GET /getAllUserBuys/[userid]"):
        assert rows[name]["requests"] > 0, name
    # Every 201 is stored exactly once (replays return the first purchase and store nothing).
    stored = stack.mongo.purchases(stack.services.database, userid={"$regex": "^load-"})
    assert len(stored) == rows["POST /buy"]["requests"]
    lag = summary["lag"]
    assert lag["at_end_kafka_group"] == 0, "the run waits for the worker to catch up"
    assert isinstance(lag["at_end_prometheus_proxy"], float)


def test_scale_preview_uses_the_rendered_chart(smoke: Run) -> None:
    helm = default_helm()
    if not os.access(helm, os.X_OK):
        pytest.skip(f"helm not installed at {helm} (scripts/install.sh helm)")
    chart = autoscaling_from_manifests(render_chart(ROOT / "charts" / "buylist", helm))
    preview = smoke.summary["scale_preview"]
    assert preview["source"].startswith("from "), preview["source"]
    components = {c["component"]: c for c in preview["components"]}
    assert set(components) == {"customer-facing", "customer-management-api", "customer-management-worker"}
    for name, hpa in chart.hpas.items():
        assert (components[name]["min"], components[name]["max"]) == (hpa.min_replicas, hpa.max_replicas)
    assert chart.scaled_object is not None
    worker = components["customer-management-worker"]
    assert (worker["min"], worker["max"]) == (
        chart.scaled_object.min_replica_count,
        chart.scaled_object.max_replica_count,
    )
    for name, c in components.items():
        assert len(c["decisions"]) >= 2, name
        assert all(c["min"] <= d["desired"] <= c["max"] for d in c["decisions"]), name
    facing = components["customer-facing"]
    readings = facing["decisions"][-1]["readings"]
    assert readings.get("http_requests_in_flight") is not None, ("in-flight from Prometheus", facing["notes"])
    assert readings.get("cpu") is not None, ("CPU from the service's processes", facing["notes"])
    width, _ = png_size(smoke.out / "scale-preview.png")
    assert width >= 800
    rows = (smoke.out / "scale-preview.csv").read_text().splitlines()
    assert len(rows) == 1 + sum(len(c["decisions"]) for c in components.values())
