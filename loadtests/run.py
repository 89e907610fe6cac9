"""`make load PROFILE=...`: run a Locust profile headless and write its report, charts and scale preview.

    .venv/bin/python -m loadtests.run --profile smoke

Writes reports/load-<profile>-<timestamp>/: locust's HTML report and CSVs (with the full history), load.png
(request rate, latency p50/p95/p99, consumer lag), scale-preview.png and scale-preview.csv (the replicas the
chart's HPAs and KEDA ScaledObject would ask for), summary.json and summary.md. Exits with locust's exit code,
which the profile's thresholds set (0 within them, 1 otherwise), or 130 when interrupted.

While locust runs, a sampler thread reads the consumer group's offsets from Kafka every second and, every HPA
sync period, feeds the preview the in-flight requests from Prometheus, the services' CPU from /proc and the lag.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from loadtests.profiles import PROFILES, Profile
from loadtests.scale_preview import (
    LAG_METRIC,
    SYNC_PERIOD_S,
    Autoscaling,
    Decision,
    HpaSimulator,
    HpaSpec,
    KedaSimulator,
    PartitionOffsets,
    autoscaling_from_manifests,
    kafka_lag,
    render_chart,
)
from loadtests.signals import GroupOffsets, Prometheus, cpu_seconds, pids_listening

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).parent
# CPU in the charts is averaged over a few seconds; one-second deltas of /proc ticks are too jumpy to read.
DISPLAY_WINDOW_S = 5.0
MIN_CPU_WINDOW_S = 0.5


def default_helm() -> Path:
    """Return where the project installs helm (HELM_BIN, else scripts/lib.sh's path)."""
    if os.environ.get("HELM_BIN"):
        return Path(os.environ["HELM_BIN"])
    done = subprocess.run(
        [shutil.which("bash") or "/bin/bash", "-c", 'source "$1/scripts/lib.sh"; echo "$HELM_BIN"', "lib", str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
    )
    return Path(done.stdout.strip())


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(prog="python -m loadtests.run", description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=sorted(PROFILES), default="smoke")
    parser.add_argument("--host", default=os.environ.get("BUYLIST_LOAD_HOST", "http://127.0.0.1:3000"))
    parser.add_argument("--prometheus", default=os.environ.get("BUYLIST_LOAD_PROMETHEUS", "http://127.0.0.1:9090"))
    parser.add_argument("--kafka-bootstrap", default=os.environ.get("BUYLIST_KAFKA_BOOTSTRAP", "127.0.0.1:9092"))
    parser.add_argument("--topic", default="purchases")
    parser.add_argument("--group", default="purchase-group")
    parser.add_argument("--reports-dir", type=Path, default=ROOT / "reports")
    parser.add_argument("--chart", type=Path, default=ROOT / "charts" / "buylist")
    parser.add_argument("--helm", type=Path, default=None, help="helm binary (default: HELM_BIN or scripts/lib.sh)")
    parser.add_argument("--kube-version", default="1.33.0", help="Kubernetes version helm renders for")
    parser.add_argument("--sync-period", type=float, default=SYNC_PERIOD_S, help="HPA sync period of the preview")
    parser.add_argument(
        "--settle",
        default="auto",
        help="seconds to keep the preview running after the load stops, until every component is back at its "
        "minimum; 'auto' = 0 for smoke, 600 otherwise",
    )
    parser.add_argument("--drain-timeout", type=float, default=15.0, help="seconds to wait for the lag to reach 0")
    parser.add_argument("--no-preview", action="store_true", help="skip the scale preview")
    return parser.parse_args(argv)


@dataclass
class Component:
    """One autoscaled component of the preview: its simulator, simulated replicas and decisions."""

    name: str
    kind: str
    minimum: int
    maximum: int
    targets: str
    hpa: HpaSimulator | None = None
    keda: KedaSimulator | None = None
    replicas: int = 0
    decisions: list[Decision] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    port: int | None = None
    pids: set[int] = field(default_factory=set)
    cpu: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=900))
    observations: list[tuple[float, dict[str, float | None]]] = field(default_factory=list)

    def cpu_cores(self, now: float, window_s: float) -> float | None:
        """Return the cores the component's processes used over the last `window_s` seconds."""
        if not self.cpu:
            return None
        then, used = ([(t, u) for t, u in self.cpu if t <= now - window_s] or [self.cpu[0]])[-1]
        last, used_last = self.cpu[-1]
        # Clock ticks are 10 ms: over less than half a second the quotient is mostly rounding.
        if last - then < MIN_CPU_WINDOW_S:
            return None
        return (used_last - used) / (last - then)


def describe_targets(spec: HpaSpec) -> str:
    """Return an HPA's targets for people: "http_requests_in_flight 4/pod, cpu 70%"."""
    parts = []
    for m in spec.metrics:
        target = f"{m.target:g}%" if m.target_type == "Utilization" else f"{m.target:g}/pod"
        parts.append(f"{m.name} {target}")
    return ", ".join(parts)


class Preview:
    """Feeds the simulated autoscalers real signals: observed every second, reconciled every sync period."""

    def __init__(self, autoscaling: Autoscaling, prometheus: Prometheus) -> None:
        self.prometheus = prometheus
        self.components: list[Component] = []
        self.offsets: dict[int, PartitionOffsets] | None = None
        ports = self._ports()
        for name, spec in autoscaling.hpas.items():
            component = Component(name, "HPA", spec.min_replicas, spec.max_replicas, describe_targets(spec))
            component.port = ports.get(name)
            component.pids = pids_listening(component.port) if component.port else set()
            metrics = []
            for metric in spec.metrics:
                if metric.source == "Resource" and metric.name == "cpu":
                    if not component.pids:
                        component.notes.append("cpu left out: no local process found for its Prometheus target")
                        continue
                    if not autoscaling.cpu_requests.get(name):
                        component.notes.append("cpu left out: the Deployment requests no CPU")
                        continue
                elif metric.source != "Pods":
                    component.notes.append(f"{metric.source} metric {metric.name} left out: no local source")
                    continue
                metrics.append(metric)
            component.hpa = HpaSimulator(
                replace(spec, metrics=tuple(metrics)), cpu_request=autoscaling.cpu_requests.get(name)
            )
            component.replicas = spec.min_replicas
            self.components.append(component)
        so = autoscaling.scaled_object
        if so is not None:
            targets = f"lag {so.trigger.lag_threshold}/pod, activation > {so.trigger.activation_lag_threshold}"
            component = Component(so.component, "KEDA", so.min_replica_count, so.max_replica_count, targets)
            component.keda = KedaSimulator(so)
            component.replicas = so.min_replica_count
            self.components.append(component)

    def _ports(self) -> dict[str, int]:
        try:
            return self.prometheus.target_ports()
        except Exception as exc:  # noqa: BLE001 - without targets the preview only loses CPU
            print(f"    scale preview: Prometheus targets unreadable ({exc}); CPU left out", flush=True)
            return {}

    def start(self, now: float, sync_period_s: float) -> None:
        """Start every simulator in steady state at its minimum at t=0, and take the first CPU reading at `now`."""
        for c in self.components:
            if c.hpa:
                c.hpa.assume_steady(0.0, c.replicas, sync_period_s)
                c.cpu.append((now, cpu_seconds(c.pids)))
            if c.keda:
                c.keda.assume_steady(0.0, c.replicas, sync_period_s)

    def observe(self, now: float, t: float, offsets: dict[int, PartitionOffsets] | None) -> None:
        """Record every component's signals as they are now (`t`: seconds since the start)."""
        self.offsets = offsets
        totals: dict[str, dict[str, float]] = {}
        for c in self.components:
            readings: dict[str, float | None] = {}
            if c.hpa:
                c.cpu.append((now, cpu_seconds(c.pids)))
                for metric in c.hpa.spec.metrics:
                    if metric.source == "Pods":
                        if metric.name not in totals:
                            totals[metric.name] = self._by_job(f"sum by (job) ({metric.name})")
                        readings[metric.name] = totals[metric.name].get(c.name)
                    else:
                        readings[metric.name] = c.cpu_cores(now, DISPLAY_WINDOW_S)
            elif c.keda and offsets is not None:
                capped, total = kafka_lag(c.keda.spec.trigger, offsets)
                readings = {LAG_METRIC: float(capped), "lag": float(total)}
            c.observations.append((t, readings))

    def reconcile(self, now: float, t: float, sync_period_s: float) -> None:
        """Run one sync of every autoscaler with the latest signals; CPU is averaged over the sync period."""
        for c in self.components:
            readings = dict(c.observations[-1][1]) if c.observations else {}
            if c.hpa:
                if "cpu" in readings:
                    readings["cpu"] = c.cpu_cores(now, sync_period_s)
                decision = c.hpa.reconcile(t, c.replicas, readings)
            elif c.keda and self.offsets is not None:
                decision = c.keda.reconcile(t, c.replicas, self.offsets)
            else:
                decision = Decision(t, c.replicas, {}, {}, c.replicas, c.replicas, c.replicas, "lag unreadable")
            c.decisions.append(decision)
            c.replicas = decision.desired

    def _by_job(self, expr: str) -> dict[str, float]:
        try:
            return self.prometheus.by_job(expr)
        except Exception as exc:  # noqa: BLE001 - a missed scrape is a missing metric, as for the HPA
            print(f"    scale preview: {expr}: {exc}", flush=True)
            return {}

    def settled(self) -> bool:
        """Return whether every component is back at its minimum."""
        return all(c.replicas <= c.minimum for c in self.components)


@dataclass
class Samples:
    """What the sampler thread collected: the group's lag every second, and read errors."""

    lag: list[tuple[float, int]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class Sampler(threading.Thread):
    """Reads the signals every second and runs the preview every sync period until told to stop."""

    def __init__(self, t0: float, offsets: GroupOffsets | None, preview: Preview | None, sync_period_s: float) -> None:
        super().__init__(name="load-sampler", daemon=True)
        self.t0 = t0
        self.offsets = offsets
        self.preview = preview
        self.sync_period_s = sync_period_s
        self.samples = Samples()
        self.stop_event = threading.Event()

    def run(self) -> None:
        # The first sync, at t=0, sees the system before the load, as a cluster's HPA syncing then would.
        next_sync = self.t0
        last_print = 0.0
        while not self.stop_event.is_set():
            now = time.time()
            offsets = self._offsets(now)
            lag = sum(o.end - (o.committed or 0) for o in offsets.values()) if offsets is not None else None
            if lag is not None:
                self.samples.lag.append((now, lag))
            if self.preview:
                self.preview.observe(now, now - self.t0, offsets)
                if now >= next_sync:
                    self.preview.reconcile(now, now - self.t0, self.sync_period_s)
                    next_sync += self.sync_period_s
            if now - last_print >= 10:
                last_print = now
                replicas = " ".join(f"{c.name}={c.replicas}" for c in self.preview.components) if self.preview else ""
                print(f"    t={now - self.t0:4.0f}s  lag={lag if lag is not None else '?'}  {replicas}", flush=True)
            self.stop_event.wait(max(0.0, 1.0 - (time.time() - now)))

    def _offsets(self, now: float) -> dict[int, PartitionOffsets] | None:
        if self.offsets is None:
            return None
        try:
            return self.offsets.read()
        except Exception as exc:  # noqa: BLE001 - one failed read must not end the run; it is reported
            self.samples.errors.append(f"t={now - self.t0:.0f}s kafka: {exc}")
            return None


def settle_seconds(args: argparse.Namespace, profile: Profile) -> float:
    """Return how long the preview may keep running after the load stopped."""
    if args.settle == "auto":
        return 0.0 if profile.name == "smoke" else 600.0
    return float(args.settle)


def load_preview(args: argparse.Namespace, prometheus: Prometheus) -> tuple[Preview | None, str]:
    """Render the chart and build the preview; return (None, why) when it cannot run."""
    if args.no_preview:
        return None, "skipped (--no-preview)"
    helm = args.helm or default_helm()
    if not os.access(helm, os.X_OK):
        return None, f"skipped: helm not found at {helm} (scripts/install.sh helm)"
    try:
        autoscaling = autoscaling_from_manifests(render_chart(args.chart, helm, args.kube_version))
    except (RuntimeError, ValueError, KeyError) as exc:
        return None, f"skipped: {args.chart} did not render into HPAs/ScaledObject: {exc}"
    if not autoscaling.hpas and autoscaling.scaled_object is None:
        return None, f"skipped: {args.chart} renders no HPA or ScaledObject"
    return Preview(autoscaling, prometheus), f"from {args.chart} rendered by {helm}"


def locust_command(args: argparse.Namespace, out: Path) -> list[str]:
    """Return the headless locust command line writing its reports into `out`."""
    return [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(HERE / "locustfile.py"),
        "--headless",
        "--load-profile",
        args.profile,
        "--host",
        args.host,
        "--html",
        str(out / "locust.html"),
        "--csv",
        str(out / "locust"),
        "--csv-full-history",
        "--only-summary",
        "--loglevel",
        "INFO",
    ]


def why_locust_failed(log: Path) -> list[str]:
    """Return the broken thresholds from locust's log, else its last lines."""
    lines = log.read_text(errors="replace").splitlines() if log.exists() else ["(no locust.log)"]
    return [line for line in lines if "threshold broken" in line] or lines[-8:]


def main(argv: list[str] | None = None) -> int:
    """Run the profile and write every report; return locust's exit code."""
    args = parse_args(argv)
    profile = PROFILES[args.profile]
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    out = args.reports_dir / f"load-{profile.name}-{stamp}"
    out.mkdir(parents=True, exist_ok=True)
    print(f"==> load profile {profile.name}: {profile.purpose}", flush=True)
    print(f"    host {args.host}, Prometheus {args.prometheus}, Kafka {args.kafka_bootstrap}; reports in {out}")

    prometheus = Prometheus(args.prometheus)
    try:
        offsets: GroupOffsets | None = GroupOffsets(args.kafka_bootstrap, args.topic, args.group)
    except Exception as exc:  # noqa: BLE001 - the load still runs; the report says lag is missing
        print(f"    Kafka unreadable ({exc}): no group lag, no KEDA preview", flush=True)
        offsets = None
    preview, preview_source = load_preview(args, prometheus)
    print(f"    scale preview: {preview_source}", flush=True)

    if preview:
        preview.start(time.time(), args.sync_period)
        time.sleep(1.0)  # a first CPU interval, so the sync at t=0 reads every metric
    t0 = time.time()
    sampler = Sampler(t0, offsets, preview, args.sync_period)
    sampler.start()
    print(
        f"==> locust: {profile.duration_s:.0f} s of {profile.name} (stage table in loadtests/profiles.py)", flush=True
    )
    interrupted = False
    with (out / "locust.log").open("w") as log:
        locust = subprocess.Popen(locust_command(args, out), stdout=log, stderr=subprocess.STDOUT)
        try:
            code = locust.wait()
        except KeyboardInterrupt:
            # Ctrl-C reached locust too (same process group); it stops and still writes its reports.
            print("==> interrupted: waiting for locust to write its reports", flush=True)
            interrupted = True
            locust.wait()
            # Thresholds judged on part of a profile say nothing; the shell's code for Ctrl-C says so.
            code = 130
    load_end = time.time()
    if code not in (0, 130):
        print(f"==> locust exited with {code}:", flush=True)
        print("\n".join(f"    {line}" for line in why_locust_failed(out / "locust.log")), flush=True)

    try:
        drain_deadline = load_end + args.drain_timeout
        while offsets and time.time() < drain_deadline and (not sampler.samples.lag or sampler.samples.lag[-1][1]):
            time.sleep(0.5)
        settle = 0.0 if interrupted else settle_seconds(args, profile)
        if preview and settle > 0 and not preview.settled():
            print(f"==> load stopped; the preview samples until every component is at its minimum (<= {settle:.0f} s)")
            deadline = load_end + settle
            while time.time() < deadline and not preview.settled():
                time.sleep(1)
    except KeyboardInterrupt:
        print("==> interrupted: writing the reports with what was sampled", flush=True)
    sampler.stop_event.set()
    sampler.join(timeout=30)
    stop = time.time()

    from loadtests.report import write_reports  # matplotlib loads only once the run is over

    summary = write_reports(
        out=out,
        profile=profile,
        args=args,
        exit_code=code,
        times=(t0, load_end, stop),
        samples=sampler.samples,
        preview=preview,
        preview_source=preview_source,
        prometheus=prometheus,
        offsets=offsets,
    )
    if offsets:
        offsets.close()
    print(summary)
    return code


if __name__ == "__main__":
    sys.exit(main())
