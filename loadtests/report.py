"""The files a load run leaves behind: charts, the preview's decisions, summary.json and the summary table."""

from __future__ import annotations

import argparse
import csv
import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

# The object API renders with the Agg canvas and never touches a display or pyplot's global state.
from matplotlib.figure import Figure

from loadtests.profiles import Profile
from loadtests.scale_preview import pods_worth
from loadtests.signals import LAG_PROXY_QUERY, LAG_PROXY_SERIES, GroupOffsets, Prometheus

if TYPE_CHECKING:
    from loadtests.run import Component, Preview, Samples

PERCENTILES = ("50%", "95%", "99%")


def read_csv(path: Path) -> list[dict[str, str]]:
    """Return a CSV file's rows, empty when it is missing."""
    if not path.exists():
        return []
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def number(value: str | None) -> float:
    """Return a locust CSV cell as a number (N/A and blanks are NaN)."""
    try:
        return float(value) if value not in (None, "", "N/A") else math.nan
    except ValueError:
        return math.nan


def finite(value: float) -> float | None:
    """Return the value, or None for NaN (JSON has no NaN)."""
    return None if math.isnan(value) else value


def request_rows(stats: list[dict[str, str]]) -> list[dict[str, Any]]:
    """Return locust's per-request statistics (and the Aggregated row, last) as numbers."""
    rows = []
    for row in stats:
        rows.append(
            {
                "name": f"{row['Type']} {row['Name']}".strip(),
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "p50_ms": finite(number(row["50%"])),
                "p95_ms": finite(number(row["95%"])),
                "p99_ms": finite(number(row["99%"])),
                "rps": finite(number(row["Requests/s"])),
            }
        )
    return rows


def lag_series(prometheus: Prometheus, start: float, end: float) -> tuple[list[tuple[float, float]], str | None]:
    """Return the Prometheus lag proxy over the run, with an error message instead when it cannot be read."""
    step = max(1.0, math.ceil((end - start) / 1000))
    try:
        return prometheus.series(LAG_PROXY_SERIES, start, end, step), None
    except Exception as exc:  # noqa: BLE001 - the report says why the line is missing
        return [], f"Prometheus lag proxy unreadable: {exc}"


def value_at(series: list[tuple[float, float]], when: float) -> float | None:
    """Return the last value of a time series at or before `when`."""
    before = [v for t, v in series if t <= when]
    return before[-1] if before else None


def plot_load(
    path: Path,
    t0: float,
    load_end: float,
    history: list[dict[str, str]],
    proxy: list[tuple[float, float]],
    kafka_lag: list[tuple[float, int]],
    profile: Profile,
) -> None:
    """Draw request rate, latency percentiles and consumer lag over time."""
    rows = [r for r in history if r["Name"] == "Aggregated"]
    t = [number(r["Timestamp"]) - t0 for r in rows]
    fig = Figure(figsize=(11, 9), layout="constrained")
    axes = fig.subplots(3, 1, sharex=True)
    rate, latency, lag = axes
    rate.plot(t, [number(r["Requests/s"]) for r in rows], label="requests/s")
    rate.plot(t, [number(r["Failures/s"]) for r in rows], label="failures/s", color="tab:red")
    users = rate.twinx()
    users.step(t, [number(r["User Count"]) for r in rows], where="post", color="grey", alpha=0.5, label="users")
    users.set_ylabel("users")
    rate.set_ylabel("per second")
    rate.legend(loc="upper left")
    rate.set_title(f"load profile {profile.name}: {profile.purpose}", fontsize=10)
    for p, color in zip(PERCENTILES, ("tab:green", "tab:orange", "tab:red"), strict=True):
        latency.plot(t, [number(r[p]) for r in rows], label=f"p{p.rstrip('%')}", color=color)
    latency.axhline(profile.thresholds.max_p95_ms, color="tab:orange", linestyle=":", label="p95 threshold")
    latency.set_ylabel("ms (locust's sliding window)")
    latency.legend(loc="upper left")
    if proxy:
        lag.plot([ts - t0 for ts, _ in proxy], [v for _, v in proxy], label="Prometheus: produced - processed")
    if kafka_lag:
        lag.plot(
            [ts - t0 for ts, _ in kafka_lag], [v for _, v in kafka_lag], ".", markersize=3, label="Kafka group lag"
        )
    lag.set_ylabel("events not yet stored")
    lag.set_xlabel("seconds since the start")
    lag.legend(loc="upper left")
    for ax in axes:
        ax.axvline(load_end - t0, color="black", linestyle="--", linewidth=0.8)
        ax.grid(alpha=0.3)
    fig.savefig(path, dpi=100)


def plot_preview(
    path: Path,
    t0: float,
    load_end: float,
    stop: float,
    history: list[dict[str, str]],
    preview: Preview,
    sync_period_s: float,
) -> None:
    """Draw each component's simulated replicas beside the load and the signals that drove them."""
    rows = [r for r in history if r["Name"] == "Aggregated"]
    n = len(preview.components)
    fig = Figure(figsize=(11, 2.6 * (n + 1)), layout="constrained")
    axes = fig.subplots(n + 1, 1, sharex=True)
    load = axes[0]
    load.step([number(r["Timestamp"]) - t0 for r in rows], [number(r["User Count"]) for r in rows], where="post")
    load.set_ylabel("users")
    load.set_title(
        f"replicas the chart's autoscalers would ask for (a decision every {sync_period_s:g} s; thin lines: "
        "each metric's total / target)",
        fontsize=10,
    )
    for ax, c in zip(axes[1:], preview.components, strict=True):
        sim = c.hpa or (c.keda.hpa if c.keda else None)
        if sim is not None:
            for metric in sim.spec.metrics:
                points = [(t, v) for t, r in c.observations if (v := r.get(metric.name)) is not None]
                ax.plot(
                    [t for t, _ in points],
                    [pods_worth(metric, v, sim.cpu_request) for _, v in points],
                    linewidth=0.8,
                    alpha=0.7,
                    label=f"{metric.name} / target",
                )
        start = c.decisions[0].current if c.decisions else c.replicas
        ax.step(
            [0.0] + [d.t for d in c.decisions],
            [start] + [d.desired for d in c.decisions],
            where="post",
            color="black",
            linewidth=2,
            label="replicas",
        )
        ax.axhline(c.minimum, color="grey", linestyle=":", linewidth=0.8)
        ax.axhline(c.maximum, color="grey", linestyle=":", linewidth=0.8)
        ax.set_ylim(bottom=0)
        ax.set_ylabel(f"{c.name}\n({c.kind})", fontsize=8)
        ax.legend(
            loc="upper right", fontsize=7, title=f"{c.targets}; min {c.minimum}, max {c.maximum}", title_fontsize=7
        )
        blocked = remaining_window(c)
        if blocked is not None and blocked > stop - t0:
            ax.axvspan(stop - t0, blocked, color="tab:orange", alpha=0.15)
            ax.annotate(
                f"not sampled: the scale-down window holds {c.replicas} until t={blocked:.0f}s",
                xy=(stop - t0, c.replicas),
                fontsize=7,
            )
    for ax in axes:
        ax.axvline(load_end - t0, color="black", linestyle="--", linewidth=0.8)
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel("seconds since the start (dashed: load stopped)")
    fig.savefig(path, dpi=100)


def remaining_window(c: Component) -> float | None:
    """Return when the component's scale-down window stops holding it above its minimum, if it still does."""
    sim = c.hpa or (c.keda.hpa if c.keda else None)
    if sim is None or c.replicas <= c.minimum:
        return None
    return sim.scale_down_blocked_until(c.minimum)


def transitions(c: Component) -> str:
    """Return a component's replica changes as "2 -> 3 at 45s, 3 -> 2 at 400s"."""
    changes = [f"{d.current} -> {d.desired} at {d.t:.0f}s" for d in c.decisions if d.desired != d.current]
    return ", ".join(changes) if changes else "no change"


def write_preview_csv(path: Path, preview: Preview) -> None:
    """Write every decision of every component, one row each."""
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(
            [
                "t_s",
                "component",
                "current",
                "readings",
                "proposals",
                "recommendation",
                "stabilized",
                "desired",
                "reason",
            ]
        )
        for c in preview.components:
            for d in c.decisions:
                writer.writerow(
                    [
                        f"{d.t:.1f}",
                        c.name,
                        d.current,
                        json.dumps(d.readings),
                        json.dumps(d.proposals),
                        d.recommendation,
                        d.stabilized,
                        d.desired,
                        d.reason,
                    ]
                )


def fmt(value: float | None, digits: int = 0) -> str:
    """Return a number for the table, "-" when unknown."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def write_reports(
    *,
    out: Path,
    profile: Profile,
    args: argparse.Namespace,
    exit_code: int,
    times: tuple[float, float, float],
    samples: Samples,
    preview: Preview | None,
    preview_source: str,
    prometheus: Prometheus,
    offsets: GroupOffsets | None,
) -> str:
    """Write charts, the preview's CSV, summary.json and summary.md; return the summary text."""
    t0, load_end, stop = times
    stats = request_rows(read_csv(out / "locust_stats.csv"))
    history = read_csv(out / "locust_stats_history.csv")
    proxy, proxy_error = lag_series(prometheus, t0 - 1, stop)
    notes = [n for n in (proxy_error, *samples.errors[:5]) if n]
    kafka_end = None
    if offsets:
        try:
            kafka_end = offsets.lag()
        except Exception as exc:  # noqa: BLE001 - reported as unknown
            notes.append(f"Kafka group lag at the end unreadable: {exc}")
    proxy_end = None
    try:
        result = prometheus.query(LAG_PROXY_QUERY)
        proxy_end = float(result[0]["value"][1]) if result else None
    except Exception as exc:  # noqa: BLE001 - reported as unknown
        notes.append(f"Prometheus lag proxy at the end unreadable: {exc}")

    plot_load(out / "load.png", t0, load_end, history, proxy, samples.lag, profile)
    components = []
    if preview:
        plot_preview(out / "scale-preview.png", t0, load_end, stop, history, preview, args.sync_period)
        write_preview_csv(out / "scale-preview.csv", preview)
        for c in preview.components:
            desired = [d.desired for d in c.decisions]
            components.append(
                {
                    "component": c.name,
                    "kind": c.kind,
                    "min": c.minimum,
                    "max": c.maximum,
                    "targets": c.targets,
                    "peak": max(desired, default=c.replicas),
                    "end": c.replicas,
                    "changes": transitions(c),
                    "window_holds_until_s": remaining_window(c),
                    "notes": c.notes,
                    "decisions": [asdict(d) for d in c.decisions],
                }
            )

    total = stats[-1] if stats else {"requests": 0, "failures": 0}
    summary = {
        "profile": profile.name,
        "host": args.host,
        "exit_code": exit_code,
        "thresholds": asdict(profile.thresholds),
        "seconds": {"load": round(load_end - t0, 1), "sampled": round(stop - t0, 1)},
        "requests": stats,
        "total": total,
        "lag": {
            "peak_prometheus_proxy": max((v for _, v in proxy), default=None),
            "peak_kafka_group": max((v for _, v in samples.lag), default=None),
            "at_load_end_prometheus_proxy": value_at(proxy, load_end),
            "at_load_end_kafka_group": value_at([(t, float(v)) for t, v in samples.lag], load_end),
            "at_end_prometheus_proxy": proxy_end,
            "at_end_kafka_group": kafka_end,
        },
        "scale_preview": {"source": preview_source, "sync_period_s": args.sync_period, "components": components},
        "files": sorted({p.name for p in out.iterdir()} | {"summary.json", "summary.md"}),
        "notes": notes,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    text = summary_text(summary, out)
    (out / "summary.md").write_text(text + "\n")
    return text


def summary_text(summary: dict[str, Any], out: Path) -> str:
    """Return the summary as markdown tables."""
    th = summary["thresholds"]
    lines = [
        "",
        f"load profile {summary['profile']} against {summary['host']}: {summary['seconds']['load']:.0f} s of load, "
        f"exit code {summary['exit_code']} (thresholds: failures <= {th['max_failure_ratio']:.1%}, "
        f"p95 <= {th['max_p95_ms']:.0f} ms)",
        "",
        "| request | requests | failures | p50 ms | p95 ms | p99 ms | req/s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in summary["requests"]:
        name = r["name"] or "Aggregated"
        lines.append(
            f"| {name} | {r['requests']} | {r['failures']} | {fmt(r['p50_ms'])} | {fmt(r['p95_ms'])} "
            f"| {fmt(r['p99_ms'])} | {fmt(r['rps'], 1)} |"
        )
    lag = summary["lag"]
    lines += [
        "",
        "| consumer lag (events) | Prometheus: produced - processed | Kafka: group purchase-group |",
        "|---|---:|---:|",
        f"| peak | {fmt(lag['peak_prometheus_proxy'])} | {fmt(lag['peak_kafka_group'])} |",
        f"| when the load stopped | {fmt(lag['at_load_end_prometheus_proxy'])} "
        f"| {fmt(lag['at_load_end_kafka_group'])} |",
        f"| end of sampling (Prometheus unclamped) | {fmt(lag['at_end_prometheus_proxy'])} "
        f"| {fmt(lag['at_end_kafka_group'])} |",
    ]
    preview = summary["scale_preview"]
    lines += ["", f"scale preview: {preview['source']}"]
    if preview["components"]:
        lines += [
            "",
            "| component | autoscaler | min-max | targets | peak | at end | changes |",
            "|---|---|---|---|---:|---:|---|",
        ]
        for c in preview["components"]:
            end = str(c["end"])
            if c["window_holds_until_s"] is not None:
                end += f" (window holds until t={c['window_holds_until_s']:.0f}s)"
            lines.append(
                f"| {c['component']} | {c['kind']} | {c['min']}-{c['max']} | {c['targets']} | {c['peak']} | {end} "
                f"| {c['changes']} |"
            )
            lines += [f"  - {c['component']}: {note}" for note in c["notes"]]
    lines += [f"note: {n}" for n in summary["notes"]]
    lines += ["", f"reports: {out}/ ({', '.join(summary['files'])})"]
    return "\n".join(lines)
