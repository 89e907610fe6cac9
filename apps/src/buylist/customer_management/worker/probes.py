"""The worker's side port: /health, /ready and /metrics."""

from __future__ import annotations

import threading
import time

from flask import Flask, Response, jsonify
from prometheus_flask_exporter import PrometheusMetrics
from werkzeug.serving import make_server

from buylist.customer_management.worker.loop import WorkerState

# The loop ticks at least once per poll (1 s) or per backoff (capped); silence this long means it is stuck.
STUCK_AFTER_S = 120.0


def create_probe_app(state: WorkerState) -> Flask:
    """Build the probe app reading the loop's state."""
    app = Flask(__name__)

    @app.get("/health")
    def health() -> tuple[Response, int]:
        silent = time.monotonic() - state.last_tick
        if silent > STUCK_AFTER_S:
            return jsonify({"error": "stuck", "message": f"loop silent for {silent:.0f}s"}), 503
        return jsonify({"status": "ok"}), 200

    @app.get("/ready")
    def ready() -> tuple[Response, int]:
        if state.ready:
            return jsonify({"status": "ready"}), 200
        return jsonify({"error": "unavailable", "message": state.reason or "not ready"}), 503

    PrometheusMetrics(app, export_defaults=False)
    return app


def serve_probes(state: WorkerState, host: str, port: int) -> threading.Thread:
    """Serve the probe app on a daemon thread."""
    server = make_server(host, port, create_probe_app(state), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="probes", daemon=True)
    thread.start()
    return thread
