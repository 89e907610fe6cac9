"""What the chart's HPAs and KEDA ScaledObject would do with the signals of a load run.

The calculator follows the Kubernetes HPA controller (pkg/controller/podautoscaler) and KEDA's kafka scaler:

- per metric, usageRatio = current / target and desired = ceil(usageRatio * currentReplicas), skipped while the
  ratio is within the tolerance (0.1); several metrics -> the largest proposal; a metric that cannot be read
  blocks a scale-down (the controller's "invalid metrics" rule);
- behavior: stabilization (the lowest recommendation of the scale-up window, the highest of the scale-down window),
  then the rate policies (Pods / Percent per periodSeconds, selectPolicy Max / Min / Disabled), then min/max;
- KEDA: the metric is the group's total lag, capped at partitions * lagThreshold unless allowIdleConsumers; the HPA
  KEDA creates has an External AverageValue target of lagThreshold, so desired = ceil(lag / lagThreshold);
  activationLagThreshold decides 0 <-> 1 only, and only when minReplicaCount is 0.

Formulas and links: loadtests/README.md. Thresholds come from the chart rendered by `helm template`
(`render_chart`), never from a copy of values.yaml.
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# kube-controller-manager defaults: --horizontal-pod-autoscaler-tolerance and --horizontal-pod-autoscaler-sync-period.
TOLERANCE = 0.1
SYNC_PERIOD_S = 15
# KEDA's defaults for fields a ScaledObject leaves out.
KEDA_DEFAULT_MAX_REPLICAS = 100
KEDA_DEFAULT_POLLING_S = 30
KEDA_DEFAULT_COOLDOWN_S = 300
KEDA_DEFAULT_LAG_THRESHOLD = 10

COMPONENT_LABEL = "app.kubernetes.io/component"
HPA_COMPONENTS = ("customer-facing", "customer-management-api")
KEDA_COMPONENT = "customer-management-worker"
LAG_METRIC = "kafka-lag"


@dataclass(frozen=True)
class Policy:
    """One HPAScalingPolicy: change by `value` pods or percent within `period_s` seconds."""

    type: str
    value: int
    period_s: int


@dataclass(frozen=True)
class ScalingRules:
    """One direction of an HPA's behavior (HPAScalingRules)."""

    stabilization_window_s: int
    select_policy: str
    policies: tuple[Policy, ...]
    tolerance: float | None = None


# The API server's defaults (autoscaling/v2 SetDefaults_HorizontalPodAutoscalerBehavior).
DEFAULT_SCALE_UP = ScalingRules(0, "Max", (Policy("Percent", 100, 15), Policy("Pods", 4, 15)))
DEFAULT_SCALE_DOWN = ScalingRules(300, "Max", (Policy("Percent", 100, 15),))


def scaling_rules(spec: Mapping[str, Any] | None, default: ScalingRules) -> ScalingRules:
    """Return a direction's rules, each field the API server leaves unset taken from `default`."""
    if not spec:
        return default
    policies = spec.get("policies")
    return ScalingRules(
        stabilization_window_s=int(spec.get("stabilizationWindowSeconds", default.stabilization_window_s)),
        select_policy=str(spec.get("selectPolicy", default.select_policy)),
        policies=(
            tuple(Policy(str(p["type"]), int(p["value"]), int(p["periodSeconds"])) for p in policies)
            if policies
            else default.policies
        ),
        tolerance=float(parse_quantity(spec["tolerance"])) if "tolerance" in spec else default.tolerance,
    )


_SUFFIXES = {
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
}


def parse_quantity(value: str | float) -> float:
    """Return a Kubernetes quantity ("500m", "4", "1Gi") as a number."""
    if isinstance(value, int | float):
        return float(value)
    match = re.fullmatch(r"\s*([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)\s*([A-Za-z]*)\s*", value)
    if not match or (match.group(2) and match.group(2) not in _SUFFIXES):
        raise ValueError(f"not a Kubernetes quantity: {value!r}")
    return float(match.group(1)) * _SUFFIXES.get(match.group(2), 1.0)


@dataclass(frozen=True)
class MetricSpec:
    """One entry of an HPA's metrics: where the value comes from, its name and its target."""

    source: str
    name: str
    target_type: str
    target: float


@dataclass(frozen=True)
class HpaSpec:
    """The parts of a HorizontalPodAutoscaler the algorithm reads."""

    name: str
    component: str
    min_replicas: int
    max_replicas: int
    metrics: tuple[MetricSpec, ...]
    scale_up: ScalingRules = DEFAULT_SCALE_UP
    scale_down: ScalingRules = DEFAULT_SCALE_DOWN


def _metric_spec(entry: Mapping[str, Any]) -> MetricSpec:
    source = str(entry["type"])
    body = entry[source[0].lower() + source[1:]]
    name = body["name"] if source in ("Resource", "ContainerResource") else body["metric"]["name"]
    target = body["target"]
    target_type = str(target["type"])
    if target_type == "Utilization":
        value = float(target["averageUtilization"])
    elif target_type == "AverageValue":
        value = parse_quantity(target["averageValue"])
    else:
        value = parse_quantity(target["value"])
    return MetricSpec(source=source, name=str(name), target_type=target_type, target=value)


def hpa_from_manifest(obj: Mapping[str, Any]) -> HpaSpec:
    """Read an autoscaling/v2 HorizontalPodAutoscaler object."""
    spec = obj["spec"]
    behavior = spec.get("behavior") or {}
    return HpaSpec(
        name=obj["metadata"]["name"],
        component=obj["metadata"].get("labels", {}).get(COMPONENT_LABEL, ""),
        min_replicas=int(spec.get("minReplicas", 1)),
        max_replicas=int(spec["maxReplicas"]),
        metrics=tuple(_metric_spec(m) for m in spec.get("metrics", [])),
        scale_up=scaling_rules(behavior.get("scaleUp"), DEFAULT_SCALE_UP),
        scale_down=scaling_rules(behavior.get("scaleDown"), DEFAULT_SCALE_DOWN),
    )


@dataclass(frozen=True)
class KafkaTrigger:
    """The keda.sh kafka trigger's metadata that changes the metric or the activation."""

    topic: str
    consumer_group: str
    lag_threshold: int = KEDA_DEFAULT_LAG_THRESHOLD
    activation_lag_threshold: int = 0
    offset_reset_policy: str = "latest"
    allow_idle_consumers: bool = False
    limit_to_partitions_with_lag: bool = False
    scale_to_zero_on_invalid_offset: bool = False


@dataclass(frozen=True)
class ScaledObjectSpec:
    """The parts of a keda.sh/v1alpha1 ScaledObject with one kafka trigger that the preview reads."""

    name: str
    component: str
    min_replica_count: int
    max_replica_count: int
    polling_interval_s: int
    cooldown_period_s: int
    trigger: KafkaTrigger
    scale_up: ScalingRules = DEFAULT_SCALE_UP
    scale_down: ScalingRules = DEFAULT_SCALE_DOWN

    def hpa(self) -> HpaSpec:
        """Return the HPA KEDA creates for this ScaledObject (External metric, AverageValue = lagThreshold)."""
        return HpaSpec(
            name=f"keda-hpa-{self.name}",
            component=self.component,
            # KEDA owns 0 <-> 1; the HPA it creates never goes below one replica.
            min_replicas=max(1, self.min_replica_count),
            max_replicas=self.max_replica_count,
            metrics=(MetricSpec("External", LAG_METRIC, "AverageValue", float(self.trigger.lag_threshold)),),
            scale_up=self.scale_up,
            scale_down=self.scale_down,
        )


def _flag(value: Any) -> bool:
    return str(value).strip().lower() == "true"


def scaled_object_from_manifest(obj: Mapping[str, Any]) -> ScaledObjectSpec:
    """Read a ScaledObject whose first kafka trigger drives the preview."""
    spec = obj["spec"]
    triggers = [t for t in spec.get("triggers", []) if t.get("type") == "kafka"]
    if not triggers:
        raise ValueError(f"ScaledObject {obj['metadata']['name']} has no kafka trigger")
    meta = triggers[0]["metadata"]
    behavior = (spec.get("advanced") or {}).get("horizontalPodAutoscalerConfig", {}).get("behavior") or {}
    return ScaledObjectSpec(
        name=obj["metadata"]["name"],
        component=obj["metadata"].get("labels", {}).get(COMPONENT_LABEL, ""),
        min_replica_count=int(spec.get("minReplicaCount", 0)),
        max_replica_count=int(spec.get("maxReplicaCount", KEDA_DEFAULT_MAX_REPLICAS)),
        polling_interval_s=int(spec.get("pollingInterval", KEDA_DEFAULT_POLLING_S)),
        cooldown_period_s=int(spec.get("cooldownPeriod", KEDA_DEFAULT_COOLDOWN_S)),
        trigger=KafkaTrigger(
            topic=str(meta.get("topic", "")),
            consumer_group=str(meta["consumerGroup"]),
            lag_threshold=int(meta.get("lagThreshold", KEDA_DEFAULT_LAG_THRESHOLD)),
            activation_lag_threshold=int(meta.get("activationLagThreshold", 0)),
            offset_reset_policy=str(meta.get("offsetResetPolicy", "latest")),
            allow_idle_consumers=_flag(meta.get("allowIdleConsumers", "false")),
            limit_to_partitions_with_lag=_flag(meta.get("limitToPartitionsWithLag", "false")),
            scale_to_zero_on_invalid_offset=_flag(meta.get("scaleToZeroOnInvalidOffset", "false")),
        ),
        scale_up=scaling_rules(behavior.get("scaleUp"), DEFAULT_SCALE_UP),
        scale_down=scaling_rules(behavior.get("scaleDown"), DEFAULT_SCALE_DOWN),
    )


@dataclass(frozen=True)
class Autoscaling:
    """The autoscalers of the rendered chart, and each component's CPU request per pod (cores)."""

    hpas: dict[str, HpaSpec]
    scaled_object: ScaledObjectSpec | None
    cpu_requests: dict[str, float]


def autoscaling_from_manifests(objects: Iterable[Mapping[str, Any]]) -> Autoscaling:
    """Pick the HPAs, the worker's ScaledObject and the Deployments' CPU requests, matched by component label."""
    hpas: dict[str, HpaSpec] = {}
    scaled_object = None
    cpu_requests: dict[str, float] = {}
    for obj in objects:
        component = obj.get("metadata", {}).get("labels", {}).get(COMPONENT_LABEL)
        kind = obj.get("kind")
        if kind == "HorizontalPodAutoscaler" and component in HPA_COMPONENTS:
            hpas[component] = hpa_from_manifest(obj)
        elif kind == "ScaledObject" and component == KEDA_COMPONENT:
            scaled_object = scaled_object_from_manifest(obj)
        elif kind == "Deployment" and component:
            containers = obj["spec"]["template"]["spec"]["containers"]
            # Utilization is usage over the sum of the pod's container requests.
            cpu_requests[component] = sum(
                parse_quantity(c.get("resources", {}).get("requests", {}).get("cpu", 0)) for c in containers
            )
    return Autoscaling(hpas=hpas, scaled_object=scaled_object, cpu_requests=cpu_requests)


def render_chart(chart: Path, helm: Path, kube_version: str = "1.33.0") -> list[dict[str, Any]]:
    """Render `chart` with helm from a temporary copy without its remote dependencies; return the objects.

    `helm template` refuses to render while a dependency in Chart.yaml is missing from charts/, and the remote
    subcharts cannot be fetched here, so the copy drops `dependencies` and Chart.lock (as tests/chart does).
    KEDA's API is announced so the guarded ScaledObject renders.
    """
    with tempfile.TemporaryDirectory(prefix="buylist-chart-") as tmp:
        copy = Path(tmp) / chart.name
        shutil.copytree(chart, copy, ignore=shutil.ignore_patterns("charts", "*.tgz"))
        meta = yaml.safe_load((copy / "Chart.yaml").read_text())
        meta.pop("dependencies", None)
        (copy / "Chart.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))
        (copy / "Chart.lock").unlink(missing_ok=True)
        done = subprocess.run(
            [
                str(helm),
                "template",
                "buylist",
                str(copy),
                "--kube-version",
                kube_version,
                "--api-versions",
                "keda.sh/v1alpha1/ScaledObject",
                "--api-versions",
                "keda.sh/v1alpha1/TriggerAuthentication",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"helm template failed: {done.stderr.strip()}")
    return [d for d in yaml.safe_load_all(done.stdout) if d]


# --- the algorithm --------------------------------------------------------------------------------------------


def within_tolerance(ratio: float, tolerance: float, down_tolerance: float | None = None) -> bool:
    """Return whether a usage ratio is close enough to 1 that the HPA leaves the replicas alone."""
    down = tolerance if down_tolerance is None else down_tolerance
    return (1.0 - down) <= ratio <= (1.0 + tolerance)


def metric_proposal(
    metric: MetricSpec,
    current: int,
    total: float,
    cpu_request: float | None = None,
    up_tolerance: float = TOLERANCE,
    down_tolerance: float = TOLERANCE,
) -> tuple[int, float]:
    """Return (replicas, usageRatio) one metric proposes; `total` is the metric summed over all pods.

    For CPU `total` is cores in use and `cpu_request` the cores one pod requests.
    """
    if metric.target_type == "Utilization":
        if not cpu_request:
            raise ValueError(f"{metric.name}: Utilization needs the pods' {metric.name} request")
        # The controller sums usage (rounded up to millicores, as Quantity.MilliValue does) and requests, then
        # takes an integer percentage; rounding to microcores first drops float noise such as 0.209 * 1000.
        used_milli = math.ceil(round(total * 1e6) / 1000)
        utilization = used_milli * 100 // round(cpu_request * 1000 * current)
        ratio = utilization / metric.target
        proposal = math.ceil(ratio * current)
    elif metric.source == "External" and metric.target_type == "AverageValue":
        ratio = total / (metric.target * current)
        proposal = math.ceil(total / metric.target)
    elif metric.target_type == "AverageValue":
        # Per-pod average in integer milli-units, as GetMetricUsageRatio computes it.
        ratio = (round(total * 1000) // current) / (metric.target * 1000)
        proposal = math.ceil(ratio * current)
    else:
        ratio = total / metric.target
        proposal = math.ceil(ratio * current)
    if within_tolerance(ratio, up_tolerance, down_tolerance):
        return current, ratio
    return proposal, ratio


def pods_worth(metric: MetricSpec, total: float, cpu_request: float | None = None) -> float:
    """Return how many pods running exactly at the target `total` fills: one metric's ask before rounding and rules."""
    if metric.target_type == "Utilization":
        return total / ((cpu_request or math.inf) * metric.target / 100)
    return total / metric.target


def period_start(
    current: int,
    up_events: Iterable[tuple[float, int]],
    down_events: Iterable[tuple[float, int]],
    period_s: int,
    now: float,
) -> int:
    """Return the replicas at the start of a policy's period: current minus what was added, plus what was removed."""
    added = sum(change for t, change in up_events if t > now - period_s)
    removed = sum(change for t, change in down_events if t > now - period_s)
    return current - added + removed


def scale_up_limit(
    current: int,
    up_events: list[tuple[float, int]],
    down_events: list[tuple[float, int]],
    rules: ScalingRules,
    now: float,
) -> int:
    """Return the most replicas the scale-up policies allow now (calculateScaleUpLimitWithScalingRules)."""
    if rules.select_policy == "Disabled":
        return current
    proposals = []
    for policy in rules.policies:
        start = period_start(current, up_events, down_events, policy.period_s, now)
        if policy.type == "Pods":
            proposals.append(start + policy.value)
        else:
            # Rounded up, or a small Percent could never add a pod.
            proposals.append(math.ceil(start * (1 + policy.value / 100)))
    return min(proposals) if rules.select_policy == "Min" else max(proposals)


def scale_down_limit(
    current: int,
    up_events: list[tuple[float, int]],
    down_events: list[tuple[float, int]],
    rules: ScalingRules,
    now: float,
) -> int:
    """Return the fewest replicas the scale-down policies allow now (calculateScaleDownLimitWithBehaviors)."""
    if rules.select_policy == "Disabled":
        return current
    proposals = []
    for policy in rules.policies:
        start = period_start(current, up_events, down_events, policy.period_s, now)
        if policy.type == "Pods":
            proposals.append(start - policy.value)
        else:
            # Go's int32(float64) truncates toward zero.
            proposals.append(int(start * (1 - policy.value / 100)))
    # "Min" selects the policy that removes the fewest pods, i.e. the highest floor.
    return max(proposals) if rules.select_policy == "Min" else min(proposals)


@dataclass
class Decision:
    """One reconcile: what each metric proposed, what stabilization and the policies made of it."""

    t: float
    current: int
    readings: dict[str, float | None]
    proposals: dict[str, int | None]
    recommendation: int
    stabilized: int
    desired: int
    reason: str


@dataclass
class HpaSimulator:
    """The HPA controller's loop for one HPA, with time passed in so runs and tests replay exactly."""

    spec: HpaSpec
    tolerance: float = TOLERANCE
    cpu_request: float | None = None
    recommendations: list[tuple[float, int]] = field(default_factory=list)
    up_events: list[tuple[float, int]] = field(default_factory=list)
    down_events: list[tuple[float, int]] = field(default_factory=list)
    started: bool = False

    def assume_steady(self, now: float, replicas: int, sync_period_s: float = SYNC_PERIOD_S) -> None:
        """Start as an HPA that has recommended `replicas` at every sync for longer than its windows.

        A cluster's HPA exists long before a load test starts; without this history the preview would start with
        the controller's first-sync state, which blocks scale-ups for the whole scale-up window.
        """
        span = max(self.spec.scale_up.stabilization_window_s, self.spec.scale_down.stabilization_window_s)
        syncs = math.ceil(span / sync_period_s)
        self.recommendations = [(now - i * sync_period_s, replicas) for i in range(syncs, 0, -1)]
        self.started = True

    def _tolerances(self) -> tuple[float, float]:
        up = self.spec.scale_up.tolerance
        down = self.spec.scale_down.tolerance
        return (self.tolerance if up is None else up), (self.tolerance if down is None else down)

    def metric_recommendation(
        self, current: int, readings: Mapping[str, float | None]
    ) -> tuple[int | None, dict[str, int | None], str]:
        """Return the largest proposal over the metrics (None: no decision), each proposal, and why.

        As computeReplicasForMetrics: an unreadable metric may hide load, so with one missing the controller
        does not scale down, and with all missing it does nothing.
        """
        up_tol, down_tol = self._tolerances()
        proposals: dict[str, int | None] = {}
        for metric in self.spec.metrics:
            total = readings.get(metric.name)
            if total is None:
                proposals[metric.name] = None
                continue
            proposals[metric.name] = metric_proposal(metric, current, total, self.cpu_request, up_tol, down_tol)[0]
        valid = [p for p in proposals.values() if p is not None]
        invalid = len(proposals) - len(valid)
        best = max(valid, default=current)
        if invalid == len(proposals) or (invalid and best < current):
            return None, proposals, "metrics missing: no change"
        winner = max((n for n, p in proposals.items() if p == best), default="")
        return best, proposals, f"{winner} proposes {best}"

    def stabilize(self, now: float, current: int, recommendation: int) -> int:
        """Apply both stabilization windows and record the recommendation (stabilizeRecommendationWithBehaviors)."""
        up_cutoff = now - self.spec.scale_up.stabilization_window_s
        down_cutoff = now - self.spec.scale_down.stabilization_window_s
        up = min([r for t, r in self.recommendations if t > up_cutoff] + [recommendation])
        down = max([r for t, r in self.recommendations if t > down_cutoff] + [recommendation])
        stabilized = min(max(current, up), down)
        oldest_kept = min(up_cutoff, down_cutoff)
        self.recommendations = [(t, r) for t, r in self.recommendations if t > oldest_kept]
        self.recommendations.append((now, recommendation))
        return stabilized

    def limit_rate(self, now: float, current: int, desired: int) -> tuple[int, str]:
        """Apply the scaling policies and min/max (convertDesiredReplicasWithBehaviorRate)."""
        spec = self.spec
        if desired > current:
            limit = max(current, scale_up_limit(current, self.up_events, self.down_events, spec.scale_up, now))
            allowed = min(spec.max_replicas, limit)
            if desired > allowed:
                return allowed, ("ScaleUpLimit" if limit < spec.max_replicas else "TooManyReplicas")
        elif desired < current:
            limit = min(current, scale_down_limit(current, self.up_events, self.down_events, spec.scale_down, now))
            allowed = max(spec.min_replicas, limit)
            if desired < allowed:
                return allowed, ("ScaleDownLimit" if limit > spec.min_replicas else "TooFewReplicas")
        return desired, "DesiredWithinRange"

    def reconcile(self, now: float, current: int, readings: Mapping[str, float | None]) -> Decision:
        """Run one sync of the controller at time `now` (seconds) with metric totals over all pods."""
        if not self.started:
            # recordInitialRecommendation: the current size counts as a recommendation from the first sync on.
            self.recommendations.append((now, current))
            self.started = True
        spec = self.spec
        proposals: dict[str, int | None] = {}
        if current == 0 and spec.min_replicas != 0:
            return Decision(now, current, dict(readings), proposals, 0, 0, 0, "scaling disabled at 0 replicas")
        if current > spec.max_replicas:
            recommendation = stabilized = desired = spec.max_replicas
            reason = "above maxReplicas"
        elif current < spec.min_replicas:
            recommendation = stabilized = desired = spec.min_replicas
            reason = "below minReplicas"
        else:
            proposed, proposals, reason = self.metric_recommendation(current, readings)
            if proposed is None:
                # The controller returns before stabilization: nothing is recorded and nothing changes.
                return Decision(now, current, dict(readings), proposals, current, current, current, reason)
            recommendation = proposed
            stabilized = self.stabilize(now, current, recommendation)
            desired, limit_reason = self.limit_rate(now, current, stabilized)
            if stabilized != recommendation:
                reason += f"; stabilized to {stabilized}"
            if limit_reason != "DesiredWithinRange":
                reason += f"; {limit_reason} {desired}"
        if desired > current:
            self.up_events.append((now, desired - current))
        elif desired < current:
            self.down_events.append((now, current - desired))
        # Events older than the longest policy period can no longer limit anything.
        horizon = now - max((p.period_s for p in (*spec.scale_up.policies, *spec.scale_down.policies)), default=0)
        self.up_events = [e for e in self.up_events if e[0] > horizon]
        self.down_events = [e for e in self.down_events if e[0] > horizon]
        return Decision(now, current, dict(readings), proposals, recommendation, stabilized, desired, reason)

    def scale_down_blocked_until(self, floor: int) -> float | None:
        """Return when the last recommendation above `floor` leaves the scale-down window, None if none is left."""
        high = [t for t, r in self.recommendations if r > floor]
        return max(high) + self.spec.scale_down.stabilization_window_s if high else None


@dataclass(frozen=True)
class PartitionOffsets:
    """One partition's committed offset of the group (None when never committed) and its end offset."""

    committed: int | None
    end: int


def kafka_lag(trigger: KafkaTrigger, partitions: Mapping[int, PartitionOffsets]) -> tuple[int, int]:
    """Return (the metric KEDA reports, the total lag for activation), as kafka_scaler.go getTotalLag does."""
    total = 0
    with_lag = 0
    for offsets in partitions.values():
        if offsets.committed is None or offsets.committed < 0:
            if trigger.scale_to_zero_on_invalid_offset:
                lag = 0
            elif trigger.offset_reset_policy == "latest":
                lag = 1
            else:
                lag = offsets.end
        else:
            lag = offsets.end - offsets.committed
        total += lag
        with_lag += lag > 0
    metric = total
    if not trigger.allow_idle_consumers or trigger.limit_to_partitions_with_lag:
        upper = with_lag if trigger.limit_to_partitions_with_lag else len(partitions)
        # Integer division, as in Go: a lag just over upper * threshold is not capped (maxReplicaCount still is).
        if metric // trigger.lag_threshold > upper:
            metric = upper * trigger.lag_threshold
    return metric, total


@dataclass
class KedaSimulator:
    """KEDA's ScaledObject loop: activation (0 <-> 1) by KEDA, 1 <-> N by the HPA it creates."""

    spec: ScaledObjectSpec
    tolerance: float = TOLERANCE
    hpa: HpaSimulator = field(init=False)
    last_active: float | None = None

    def __post_init__(self) -> None:
        self.hpa = HpaSimulator(self.spec.hpa(), tolerance=self.tolerance)

    def assume_steady(self, now: float, replicas: int, sync_period_s: float = SYNC_PERIOD_S) -> None:
        """Start as a ScaledObject that has held `replicas` for longer than its windows."""
        self.hpa.assume_steady(now, replicas, sync_period_s)

    def reconcile(self, now: float, current: int, partitions: Mapping[int, PartitionOffsets]) -> Decision:
        """Run one sync at `now` with the group's offsets per partition."""
        metric, total = kafka_lag(self.spec.trigger, partitions)
        active = total > self.spec.trigger.activation_lag_threshold
        if active:
            self.last_active = now
        readings: dict[str, float | None] = {LAG_METRIC: float(metric), "lag": float(total)}
        if current == 0:
            desired = max(1, self.spec.min_replica_count) if active else 0
            threshold = self.spec.trigger.activation_lag_threshold
            reason = "activated" if active else f"inactive (lag {total} <= activationLagThreshold {threshold})"
            return Decision(now, current, readings, {}, desired, desired, desired, reason)
        idle_since = self.last_active if self.last_active is not None else now
        if self.spec.min_replica_count == 0 and not active and now - idle_since >= self.spec.cooldown_period_s:
            return Decision(now, current, readings, {}, 0, 0, 0, "cooldown over: deactivated to 0")
        decision = self.hpa.reconcile(now, current, readings)
        decision.reason = ("active; " if active else "not active; ") + decision.reason
        return decision
