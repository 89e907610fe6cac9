"""Run customer-management-worker: `python -m buylist.customer_management.worker`."""

from __future__ import annotations

import logging
import signal
import sys
from types import FrameType

from buylist.common.logging import configure_logging
from buylist.common.settings import SettingsError, load_settings
from buylist.customer_management.store import PurchaseStore
from buylist.customer_management.worker.loop import Worker
from buylist.customer_management.worker.probes import serve_probes

log = logging.getLogger("buylist.worker")


def main() -> int:
    """Start the probes, then consume until SIGTERM or SIGINT."""
    try:
        settings = load_settings("customer-management-worker")
    except SettingsError as exc:
        print(f"customer-management-worker: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.component, settings.log_level, settings.log_format, settings.log_flush_interval_ms)
    store = PurchaseStore(
        settings.mongodb_uri, settings.mongodb_database, settings.mongodb_timeout_ms, settings.component
    )
    worker = Worker(settings, store)

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal received, finishing the batch", extra={"signal": signal.Signals(signum).name})
        worker.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    serve_probes(worker.state, "0.0.0.0", settings.http_port)
    worker.run()
    log.info("worker stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
