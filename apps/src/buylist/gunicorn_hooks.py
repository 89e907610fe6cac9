"""gunicorn server hooks for the web components."""

from __future__ import annotations

from typing import Any


def child_exit(_server: Any, worker: Any) -> None:
    """Drop a dead worker's live gauges (livesum) from the shared metrics directory."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]  # untyped in prometheus_client


def worker_exit(_server: Any, worker: Any) -> None:
    """Flush and close the worker's Kafka producer after in-flight requests finished."""
    app = getattr(worker, "wsgi", None)
    publisher = getattr(app, "extensions", {}).get("buylist.publisher") if app is not None else None
    if publisher is not None:
        publisher.close(timeout_s=5.0)
