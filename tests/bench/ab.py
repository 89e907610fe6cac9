"""A/B one customer-facing configuration against the running platform (make up).

    python -m tests.bench.ab [--worker-class gevent|gthread] [--workers 2] [--threads 8] [--switch 0.0005]
                             [--pause-worker] [--runs 1] [--label text]

Starts a private customer-facing on :13500 (the environment passes through, e.g. BUYLIST_KAFKA_LINGER_MS), warms
it, drives POST /buy with wrk for 12 s at 16 connections and prints the rate, the latency and the CPU each process
spent per accepted purchase. CPU per purchase is the steadier figure on a shared machine: the rate moves with
whatever else runs, the work a request costs does not. Run the two sides of a comparison back to back.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time

import requests

from tests.bench.bench import HERE, ROOT, WRK, cpu_seconds, ctl, descendants, program_pids

PORT = 13500


def wrk(seconds: int, connections: int) -> dict[str, object]:
    """Run wrk's POST /buy script and return its JSON summary."""
    out = subprocess.run(
        [WRK, "-t2", f"-c{connections}", f"-d{seconds}s", "-s", str(HERE / "post.lua"), f"http://127.0.0.1:{PORT}/buy"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    summary: dict[str, object] = json.loads(out.split("BENCH ", 1)[1].splitlines()[0])
    return summary


def measure(args: argparse.Namespace) -> str:
    """Start the private service, measure once and return one result line."""
    env = {
        **os.environ,
        "BUYLIST_KAFKA_BOOTSTRAP": os.environ.get("BUYLIST_KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
        "BUYLIST_MONGODB_URI": os.environ.get("BUYLIST_MONGODB_URI", "mongodb://127.0.0.1:27017/"),
        "BUYLIST_MANAGEMENT_URL": os.environ.get("BUYLIST_MANAGEMENT_URL", "http://127.0.0.1:3001"),
        "BUYLIST_PORT": str(PORT),
        "BUYLIST_LOG_FORMAT": "json",
        "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(prefix="buylist-ab-metrics-"),
        "BUYLIST_GIL_SWITCH_INTERVAL_SECONDS": str(args.switch),
        "BUYLIST_WEB_WORKERS": str(args.workers),
        "BUYLIST_WEB_THREADS": str(args.threads),
        "BUYLIST_WEB_WORKER_CLASS": args.worker_class,
    }
    with tempfile.TemporaryFile() as log:
        command = [str(ROOT / ".venv/bin/buylist"), "customer-facing"]
        service = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        try:
            for _ in range(100):
                try:
                    if requests.get(f"http://127.0.0.1:{PORT}/ready", timeout=1).status_code == 200:
                        break
                except requests.RequestException:
                    pass
                time.sleep(0.2)
            wrk(3, 16)
            others = program_pids()
            tracked = {"customer-facing": descendants(service.pid)}
            for name in ("kafka", "customer-management-worker", "ferretdb"):
                if name in others:
                    tracked[name] = others[name]
            before = {name: cpu_seconds(pids) for name, pids in tracked.items()}
            summary = wrk(args.seconds, 16)
            after = {name: cpu_seconds(pids) for name, pids in tracked.items()}
        finally:
            service.terminate()
            service.wait(30)
    statuses = summary["statuses"]
    assert isinstance(statuses, dict)
    accepted = int(statuses.get("201", 0))
    seconds = float(summary["seconds"])  # type: ignore[arg-type]
    cpu = ", ".join(
        f"{name} {(after[name] - before[name]) / max(accepted, 1) * 1000:.2f}" for name in tracked if name in after
    )
    return (
        f"{accepted / seconds:6.0f} req/s  p50 {summary['p50_ms']} ms  p99 {summary['p99_ms']} ms  "
        f"non-201 {int(summary['requests']) - accepted}  |  CPU ms per purchase: {cpu}"  # type: ignore[call-overload]
    )


def main() -> int:
    """Measure the configuration given on the command line."""
    parser = argparse.ArgumentParser(prog="python -m tests.bench.ab")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--switch", type=float, default=0.0005, help="GIL switch interval in seconds")
    parser.add_argument("--seconds", type=int, default=12)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--worker-class", default="gevent", choices=("gevent", "gthread"))
    parser.add_argument("--pause-worker", action="store_true", help="stop the worker meanwhile (the baseline has none)")
    parser.add_argument("--label", default="")
    args = parser.parse_args()
    if args.pause_worker:
        ctl("stop", "customer-management-worker")
    try:
        for _ in range(args.runs):
            label = args.label or f"{args.worker_class} {args.workers}x{args.threads}"
            print(f"{label}: {measure(args)}", flush=True)
    finally:
        if args.pause_worker:
            ctl("start", "customer-management-worker")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
