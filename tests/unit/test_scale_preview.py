"""The scale preview against the worked examples of the Kubernetes HPA and KEDA documentation.

HPA: https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/#algorithm-details and
#configurable-scaling-behavior; KEDA: https://keda.sh/docs/latest/scalers/apache-kafka/ and
https://keda.sh/docs/latest/concepts/scaling-deployments/.
"""

from __future__ import annotations

from dataclasses import replace
from itertools import pairwise
from typing import Any

import pytest

from loadtests.scale_preview import (
    DEFAULT_SCALE_DOWN,
    DEFAULT_SCALE_UP,
    LAG_METRIC,
    HpaSimulator,
    HpaSpec,
    KafkaTrigger,
    KedaSimulator,
    MetricSpec,
    PartitionOffsets,
    Policy,
    ScaledObjectSpec,
    ScalingRules,
    autoscaling_from_manifests,
    kafka_lag,
    metric_proposal,
    parse_quantity,
    scaling_rules,
)

pytestmark = pytest.mark.unit

IN_FLIGHT = MetricSpec("Pods", "http_requests_in_flight", "AverageValue", 0.1)
CPU = MetricSpec("Resource", "cpu", "Utilization", 75)
NO_WINDOWS = ScalingRules(0, "Max", (Policy("Percent", 1000, 15),))


def hpa(*metrics: MetricSpec, low: int = 1, high: int = 100, **rules: ScalingRules) -> HpaSpec:
    return HpaSpec("web", "customer-facing", low, high, metrics, **rules)


def test_doc_example_double_at_200m_of_100m_and_halve_at_50m() -> None:
    # "if the current metric value is 200m, and the desired value is 100m, the number of replicas will be doubled".
    assert metric_proposal(IN_FLIGHT, current=4, total=4 * 0.2)[0] == 8
    assert metric_proposal(IN_FLIGHT, current=4, total=4 * 0.05)[0] == 2


def test_configurable_tolerance_blog_example_50_pods_at_90_percent_of_75() -> None:
    # Kubernetes v1.33 blog: 50 replicas at 90% CPU with a 75% target -> 50 * 90 / 75 = 60.
    replicas, ratio = metric_proposal(CPU, current=50, total=50 * 0.9, cpu_request=1.0)
    assert (replicas, ratio) == (60, pytest.approx(1.2))


@pytest.mark.parametrize(
    ("per_pod", "expected"),
    [(0.105, 10), (0.110, 10), (0.090, 10), (0.112, 12), (0.088, 9)],
    ids=["+5%", "+10% edge", "-10% edge", "+12%", "-12%"],
)
def test_ratio_within_the_default_tolerance_changes_nothing(per_pod: float, expected: int) -> None:
    assert metric_proposal(IN_FLIGHT, current=10, total=10 * per_pod)[0] == expected


def test_per_direction_tolerance_from_behavior_replaces_the_default() -> None:
    tight_up = replace(DEFAULT_SCALE_UP, tolerance=0.0)
    sim = HpaSimulator(hpa(IN_FLIGHT, scale_up=tight_up))
    assert sim.reconcile(0, 10, {IN_FLIGHT.name: 10 * 0.105}).desired == 11


def test_several_metrics_take_the_largest_proposal() -> None:
    sim = HpaSimulator(hpa(IN_FLIGHT, CPU), cpu_request=1.0)
    decision = sim.reconcile(0, 4, {IN_FLIGHT.name: 4 * 0.15, CPU.name: 4 * 1.5})
    assert decision.proposals == {IN_FLIGHT.name: 6, CPU.name: 8}
    assert decision.desired == 8


def test_an_unreadable_metric_blocks_scale_down_but_not_scale_up() -> None:
    sim = HpaSimulator(hpa(IN_FLIGHT, CPU, scale_down=NO_WINDOWS), cpu_request=1.0)
    assert sim.reconcile(0, 4, {IN_FLIGHT.name: 0.0, CPU.name: None}).desired == 4
    assert sim.reconcile(15, 4, {IN_FLIGHT.name: 4 * 0.2, CPU.name: None}).desired == 8
    nothing = sim.reconcile(30, 8, {IN_FLIGHT.name: None, CPU.name: None})
    assert (nothing.desired, nothing.reason) == (8, "metrics missing: no change")


def test_cpu_utilization_is_an_integer_percentage_of_the_requests() -> None:
    # 3 pods requesting 100m using 209m in all: 69.67% truncated to 69%, inside the 10% tolerance of 70%.
    metric = MetricSpec("Resource", "cpu", "Utilization", 70)
    assert metric_proposal(metric, current=3, total=0.209, cpu_request=0.1) == (3, pytest.approx(69 / 70))
    # 3 pods at 300m each against 70% of 100m: 300% -> ceil(3 * 300 / 70) = 13.
    assert metric_proposal(metric, current=3, total=0.9, cpu_request=0.1)[0] == 13


def test_scale_down_keeps_the_highest_recommendation_of_the_300s_window() -> None:
    sim = HpaSimulator(hpa(MetricSpec("Pods", "q", "AverageValue", 1)))
    replicas = sim.reconcile(0, 10, {"q": 10}).desired
    seen = []
    for t in range(15, 301, 15):
        replicas = sim.reconcile(t, replicas, {"q": 2}).desired
        seen.append((t, replicas))
    assert all(r == 10 for t, r in seen if t < 300), seen
    # Default scale-down policy (100% per 15 s) then lets it drop to the recommendation at once.
    assert seen[-1] == (300, 2)


def test_a_new_hpa_counts_the_current_size_as_its_first_recommendation() -> None:
    # recordInitialRecommendation: even a first sync proposing 2 keeps 10 for the scale-down window.
    sim = HpaSimulator(hpa(MetricSpec("Pods", "q", "AverageValue", 1)))
    assert sim.reconcile(0, 10, {"q": 2}).desired == 10
    assert sim.reconcile(300, 10, {"q": 2}).desired == 2


def test_scale_up_window_takes_the_lowest_recommendation() -> None:
    # An HPA idle at 2 for a long time; load arrives at t=0. The idle recommendation of t=-15 holds the 60 s
    # scale-up window at 2 until it is older than 60 s.
    up = ScalingRules(60, "Max", DEFAULT_SCALE_UP.policies)
    sim = HpaSimulator(hpa(MetricSpec("Pods", "q", "AverageValue", 1), low=2, scale_up=up))
    sim.assume_steady(0, 2)
    assert [sim.reconcile(t, 2, {"q": 6}).desired for t in (0, 15, 30)] == [2, 2, 2]
    assert sim.reconcile(45, 2, {"q": 6}).desired == 6


def test_default_scale_up_policy_is_4_pods_or_double_per_15s() -> None:
    sim = HpaSimulator(hpa(MetricSpec("Pods", "q", "AverageValue", 1)))
    assert sim.reconcile(0, 1, {"q": 50}).desired == 5  # max(1 + 4, 1 * 2)
    assert sim.reconcile(5, 5, {"q": 50}).desired == 5  # the 15 s period still holds the +4
    assert sim.reconcile(15, 5, {"q": 50}).desired == 10  # max(5 + 4, 5 * 2)
    assert sim.reconcile(30, 10, {"q": 50}).desired == 20  # max(10 + 4, 10 * 2)


def test_doc_scale_down_policies_80_replicas_lose_8_then_8_then_4_at_a_time_below_40() -> None:
    # The doc's example: Pods 4 and Percent 10 per 60 s, highest change selected.
    down = ScalingRules(0, "Max", (Policy("Pods", 4, 60), Policy("Percent", 10, 60)))
    sim = HpaSimulator(hpa(MetricSpec("Pods", "q", "AverageValue", 1), scale_down=down))
    replicas, steps = 80, []
    for t in range(0, 600, 15):
        replicas = sim.reconcile(t, replicas, {"q": 10}).desired
        steps.append(replicas)
    changes = [b for a, b in pairwise([80, *steps]) if a != b]
    assert changes[:2] == [72, 64]  # 8 removed, then 7.2 rounded up to 8
    below_40 = [b for a, b in pairwise(changes) if a <= 40]
    assert below_40[:3] == [36, 32, 28]
    assert steps[1:4] == [72, 72, 72]  # one change per 60 s period


def test_select_policy_min_picks_the_smallest_change_and_disabled_none() -> None:
    up = ScalingRules(0, "Min", (Policy("Pods", 4, 60), Policy("Percent", 100, 60)))
    sim = HpaSimulator(hpa(MetricSpec("Pods", "q", "AverageValue", 1), scale_up=up))
    assert sim.reconcile(0, 10, {"q": 100}).desired == 14
    frozen = HpaSimulator(hpa(MetricSpec("Pods", "q", "AverageValue", 1), scale_down=ScalingRules(0, "Disabled", ())))
    assert frozen.reconcile(0, 10, {"q": 1}).desired == 10


def test_min_and_max_replicas_bound_every_decision() -> None:
    sim = HpaSimulator(hpa(MetricSpec("Pods", "q", "AverageValue", 1), low=2, high=6, scale_down=NO_WINDOWS))
    assert sim.reconcile(0, 4, {"q": 100}).desired == 6
    assert sim.reconcile(15, 6, {"q": 0}).desired == 2


def test_chart_style_behavior_fills_unset_fields_from_the_defaults() -> None:
    rules = scaling_rules({"stabilizationWindowSeconds": 30}, DEFAULT_SCALE_UP)
    assert rules == ScalingRules(30, "Max", DEFAULT_SCALE_UP.policies)
    assert scaling_rules(None, DEFAULT_SCALE_DOWN) == DEFAULT_SCALE_DOWN


def offsets(lags: list[int]) -> dict[int, PartitionOffsets]:
    return {p: PartitionOffsets(committed=100, end=100 + lag) for p, lag in enumerate(lags)}


def spread(total: int, partitions: int = 12) -> list[int]:
    return [total // partitions + (1 if p < total % partitions else 0) for p in range(partitions)]


def keda(trigger: KafkaTrigger, low: int = 1, high: int = 100, **rules: ScalingRules) -> KedaSimulator:
    spec = ScaledObjectSpec("worker", "customer-management-worker", low, high, 15, 300, trigger, **rules)
    return KedaSimulator(spec)


TRIGGER = KafkaTrigger("purchases", "purchase-group", lag_threshold=10)
FAST = ScalingRules(0, "Max", (Policy("Percent", 10000, 15),))


def test_keda_lag_100_threshold_10_asks_for_10() -> None:
    assert kafka_lag(TRIGGER, offsets(spread(100))) == (100, 100)
    assert keda(TRIGGER, scale_up=FAST).reconcile(0, 1, offsets(spread(100))).desired == 10


def test_keda_caps_at_the_partition_count_unless_idle_consumers_are_allowed() -> None:
    assert kafka_lag(TRIGGER, offsets(spread(500))) == (120, 500)
    assert keda(TRIGGER, scale_up=FAST).reconcile(0, 1, offsets(spread(500))).desired == 12
    idle = replace(TRIGGER, allow_idle_consumers=True)
    assert keda(idle, scale_up=FAST).reconcile(0, 1, offsets(spread(500))).desired == 50
    assert keda(idle, high=30, scale_up=FAST).reconcile(0, 1, offsets(spread(500))).desired == 30


def test_keda_cap_uses_integer_division_as_the_scaler_does() -> None:
    # 125 // 10 == 12 is not above 12 partitions, so the metric stays 125 and the HPA asks for 13.
    assert kafka_lag(TRIGGER, offsets(spread(125))) == (125, 125)


def test_keda_limit_to_partitions_with_lag() -> None:
    only_three = replace(TRIGGER, limit_to_partitions_with_lag=True)
    assert kafka_lag(only_three, offsets([100, 100, 100] + [0] * 9)) == (30, 300)


def test_keda_invalid_offsets_follow_offset_reset_policy() -> None:
    never = {0: PartitionOffsets(committed=None, end=40), 1: PartitionOffsets(committed=None, end=0)}
    assert kafka_lag(TRIGGER, never)[1] == 2  # latest: 1 per partition so the consumer starts
    assert kafka_lag(replace(TRIGGER, offset_reset_policy="earliest"), never)[1] == 40
    assert kafka_lag(replace(TRIGGER, scale_to_zero_on_invalid_offset=True), never)[1] == 0


def test_keda_activation_decides_zero_to_one_only() -> None:
    trigger = replace(TRIGGER, activation_lag_threshold=5)
    sim = keda(trigger, low=0)
    assert sim.reconcile(0, 0, offsets([5])).desired == 0
    assert sim.reconcile(15, 0, offsets([6])).desired == 1
    # Above zero the HPA scales on the value even below the activation threshold (min 1 replica).
    assert keda(trigger, low=1).reconcile(0, 1, offsets([0])).desired == 1


def test_keda_scales_to_zero_only_after_the_cooldown() -> None:
    sim = keda(TRIGGER, low=0, scale_down=FAST)
    assert sim.reconcile(0, 1, offsets([3])).desired == 1
    assert sim.reconcile(150, 1, offsets([0])).desired == 1
    assert sim.reconcile(300, 1, offsets([0])).desired == 0


def test_keda_behavior_limits_scale_up_like_the_chart_worker() -> None:
    four_per_30 = ScalingRules(0, "Max", (Policy("Pods", 4, 30),))
    sim = keda(replace(TRIGGER, lag_threshold=100), high=12, scale_up=four_per_30)
    replicas = 1
    seen = []
    for t in range(0, 121, 15):
        replicas = sim.reconcile(t, replicas, offsets(spread(5000))).desired
        seen.append(replicas)
    assert seen[:5] == [5, 5, 9, 9, 12]


@pytest.mark.parametrize(("text", "value"), [("500m", 0.5), ("4", 4.0), ("1.5", 1.5), ("1Gi", 2**30), (3, 3.0)])
def test_parse_quantity(text: Any, value: float) -> None:
    assert parse_quantity(text) == value


def test_parse_quantity_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="quantity"):
        parse_quantity("4 pods")


HPA_MANIFEST: dict[str, Any] = {
    "apiVersion": "autoscaling/v2",
    "kind": "HorizontalPodAutoscaler",
    "metadata": {"name": "r-customer-facing", "labels": {"app.kubernetes.io/component": "customer-facing"}},
    "spec": {
        "minReplicas": 2,
        "maxReplicas": 10,
        "metrics": [
            {
                "type": "Pods",
                "pods": {
                    "metric": {"name": "http_requests_in_flight"},
                    "target": {"type": "AverageValue", "averageValue": "4"},
                },
            },
            {
                "type": "Resource",
                "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}},
            },
        ],
        "behavior": {
            "scaleUp": {
                "stabilizationWindowSeconds": 30,
                "policies": [{"type": "Pods", "value": 4, "periodSeconds": 30}],
            },
            "scaleDown": {"selectPolicy": "Min", "policies": [{"type": "Percent", "value": 50, "periodSeconds": 60}]},
        },
    },
}
SCALED_OBJECT: dict[str, Any] = {
    "apiVersion": "keda.sh/v1alpha1",
    "kind": "ScaledObject",
    "metadata": {"name": "r-worker", "labels": {"app.kubernetes.io/component": "customer-management-worker"}},
    "spec": {
        "minReplicaCount": 1,
        "maxReplicaCount": 12,
        "advanced": {"horizontalPodAutoscalerConfig": {"behavior": {"scaleDown": {"stabilizationWindowSeconds": 60}}}},
        "triggers": [
            {
                "type": "kafka",
                "metadata": {
                    "consumerGroup": "purchase-group",
                    "topic": "purchases",
                    "lagThreshold": "100",
                    "activationLagThreshold": "0",
                    "allowIdleConsumers": "false",
                },
            }
        ],
    },
}
DEPLOYMENT: dict[str, Any] = {
    "kind": "Deployment",
    "metadata": {"name": "r-customer-facing", "labels": {"app.kubernetes.io/component": "customer-facing"}},
    "spec": {"template": {"spec": {"containers": [{"name": "app", "resources": {"requests": {"cpu": "100m"}}}]}}},
}


def test_reads_autoscalers_of_the_standard_shapes_by_component_label() -> None:
    found = autoscaling_from_manifests([HPA_MANIFEST, SCALED_OBJECT, DEPLOYMENT, {"kind": "Service", "metadata": {}}])
    facing = found.hpas["customer-facing"]
    assert (facing.min_replicas, facing.max_replicas) == (2, 10)
    assert facing.metrics == (
        MetricSpec("Pods", "http_requests_in_flight", "AverageValue", 4.0),
        MetricSpec("Resource", "cpu", "Utilization", 70.0),
    )
    assert facing.scale_up == ScalingRules(30, "Max", (Policy("Pods", 4, 30),))
    assert facing.scale_down == ScalingRules(300, "Min", (Policy("Percent", 50, 60),))
    assert found.cpu_requests == {"customer-facing": 0.1}
    so = found.scaled_object
    assert so is not None
    assert (so.min_replica_count, so.max_replica_count, so.trigger.lag_threshold) == (1, 12, 100)
    assert so.scale_down.stabilization_window_s == 60
    assert so.hpa().metrics == (MetricSpec("External", LAG_METRIC, "AverageValue", 100.0),)
    # Fields the ScaledObject leaves out take KEDA's defaults.
    assert (so.polling_interval_s, so.cooldown_period_s) == (30, 300)
