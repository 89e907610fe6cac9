"""gunicorn server hooks for the web components."""

from __future__ import annotations

from typing import Any


def child_exit(_server: Any, worker: Any) -> None:
    """Drop a dead worker's live gauges (livesum) from the shared metrics directory."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]  # untyped in prometheus_client


def worker_exit(_server: Any, worker: Any) -> None:
    """Flush and close the worker's Kafka producer and MongoDB clients after in-flight requests finished."""
    extensions = getattr(getattr(worker, "wsgi", None), "extensions", {})
    publisher = extensions.get("buylist.publisher")
    if publisher is not None:
        publisher.close(timeout_s=5.0)
    for name in ("buylist.idempotency", "buylist.store"):
        if extensions.get(name) is not None:
            extensions[name].close()
