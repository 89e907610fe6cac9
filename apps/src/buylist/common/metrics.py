"""Metric definitions (names fixed by the design) and their wiring into Flask apps."""

from __future__ import annotations

import os
from time import perf_counter

from flask import Flask, Response, g, request
from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter(
    "http_requests_total", "HTTP requests answered, by route template", ["method", "route", "status"]
)
HTTP_DURATION = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency, by route template",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
# livesum: the HPA reads the sum over live gunicorn workers; dead workers' values are dropped.
HTTP_IN_FLIGHT = Gauge("http_requests_in_flight", "HTTP requests being served right now", multiprocess_mode="livesum")

PRODUCED = Counter("kafka_producer_messages_total", "Events acknowledged by Kafka", ["topic"])
PRODUCE_FAILURES = Counter(
    "kafka_producer_failures_total", "Events Kafka did not acknowledge, by reason", ["topic", "reason"]
)
PROCESSED = Counter(
    "kafka_messages_processed_total",
    "Events the worker finished with (committed), by outcome: stored, duplicate or dead_lettered",
    ["topic", "outcome"],
)
PROCESSING_SECONDS = Histogram(
    "kafka_message_processing_seconds",
    "Time from the worker receiving an event to its offset being committed",
    ["topic"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
DEAD_LETTERED = Counter(
    "kafka_messages_dead_lettered_total", "Events sent to the dead-letter topic, by reason", ["reason"]
)
WORKER_FAILURES = Counter(
    "worker_transient_failures_total", "Batches retried because a dependency failed, by dependency", ["dependency"]
)
UPSTREAM_FAILURES = Counter(
    "upstream_request_failures_total", "Calls to another service that failed, by upstream", ["upstream"]
)

UNMATCHED_ROUTE = "<unmatched>"


def init_http_metrics(app: Flask) -> None:
    """Count, time and gauge every request under its route template, and serve /metrics."""

    @app.before_request
    def _start() -> None:
        g.metrics_start = perf_counter()
        HTTP_IN_FLIGHT.inc()

    @app.teardown_request
    def _finish(_exc: BaseException | None) -> None:
        if "metrics_start" not in g:
            return
        HTTP_IN_FLIGHT.dec()
        route = request.url_rule.rule if request.url_rule else UNMATCHED_ROUTE
        HTTP_DURATION.labels(request.method, route).observe(perf_counter() - g.metrics_start)
        HTTP_REQUESTS.labels(request.method, route, str(g.get("status", 500))).inc()

    @app.after_request
    def _remember_status(response: Response) -> Response:
        g.status = response.status_code
        return response

    # Under gunicorn every worker writes to PROMETHEUS_MULTIPROC_DIR and any worker serves the sum.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_flask_exporter.multiprocess import GunicornInternalPrometheusMetrics

        GunicornInternalPrometheusMetrics(app, export_defaults=False)
    else:
        from prometheus_flask_exporter import PrometheusMetrics

        PrometheusMetrics(app, export_defaults=False)
