"""Per-request costs inside customer-facing, one piece at a time: `python -m tests.bench.micro`.

Prints a markdown table of microseconds per call (the median of five timeit repeats), with the previous way beside
the one in use where a change replaced it. No service has to run. Compare with the CPU a whole purchase costs in
customer-facing (`make bench`: about 800-1200 us) to see what a piece is worth.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import tempfile
import timeit
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="buylist-micro-"))

# Imported after the metrics directory is chosen: prometheus_client reads it at import.
from buylist.common import schema
from buylist.common.logging import _RESERVED, JsonFormatter, configure_logging
from buylist.common.metrics import HTTP_DURATION, HTTP_IN_FLIGHT, HTTP_REQUESTS

BODY = {"username": "bench", "userid": "bench-user", "price": 9.99}


def per_call_us(fn: Callable[[], object], number: int = 20000) -> float:
    """Median over five repeats of the time one call takes, in microseconds."""
    return statistics.median(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


class PreviousJsonFormatter(logging.Formatter):
    """The access-log formatter before the change, kept here only to time against."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "component": "customer-facing",
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _RESERVED})
        return json.dumps(entry, default=str, ensure_ascii=True)


def access_record() -> logging.LogRecord:
    record = logging.LogRecord("buylist.http", logging.INFO, __file__, 1, "%s %s %s", ("POST", "/buy", 201), None)
    record.__dict__.update(route="/buy", status=201, duration_ms=1.23)
    return record


def logger_info_us(*, gather_caller: bool) -> float:
    """One access-log line through the configured logging (format and write to /dev/null).

    gather_caller: put back what configure_logging turns off (caller's file and line, thread and process ids).
    """
    defaults = (logging._srcfile, logging.logThreads, logging.logProcesses, logging.logMultiprocessing)
    with open(os.devnull, "w") as sink:
        configure_logging("customer-facing", "INFO", "json")
        if gather_caller:
            logging._srcfile, logging.logThreads, logging.logProcesses, logging.logMultiprocessing = defaults
        handler = logging.getLogger().handlers[0]
        assert isinstance(handler, logging.StreamHandler)
        handler.setStream(sink)
        log = logging.getLogger("buylist.http")
        extra = {"route": "/buy", "status": 201, "duration_ms": 1.23}
        try:
            return per_call_us(lambda: log.info("%s %s %s", "POST", "/buy", 201, extra=extra))
        finally:
            logging._srcfile, logging.logThreads, logging.logProcesses, logging.logMultiprocessing = defaults


def rows() -> list[tuple[str, str, str]]:
    validator = schema._validator("request")
    event = schema.new_event(BODY)
    raw = json.dumps(BODY).encode()
    record = access_record()
    current, previous = JsonFormatter("customer-facing"), PreviousJsonFormatter()

    def metrics() -> None:
        HTTP_IN_FLIGHT.inc()
        HTTP_IN_FLIGHT.dec()
        HTTP_DURATION.labels("POST", "/buy").observe(0.01)
        HTTP_REQUESTS.labels("POST", "/buy", "201").inc()

    return [
        (
            "validate a valid POST /buy body",
            f"{per_call_us(lambda: list(validator.iter_errors(BODY))):.1f} (jsonschema)",
            f"{per_call_us(lambda: schema.request_problems(BODY)):.1f} (fastjsonschema first)",
        ),
        (
            "validate a valid event (worker)",
            f"{per_call_us(lambda: list(schema._validator('event').iter_errors(event))):.1f} (jsonschema)",
            f"{per_call_us(lambda: schema.event_problems(event)):.1f} (fastjsonschema first)",
        ),
        (
            "format one access-log line",
            f"{per_call_us(lambda: previous.format(record)):.1f}",
            f"{per_call_us(lambda: current.format(record)):.1f}",
        ),
        (
            "log one access-log line (logger.info to /dev/null)",
            f"{logger_info_us(gather_caller=True):.1f}",
            f"{logger_info_us(gather_caller=False):.1f}",
        ),
        ("parse the body (strict JSON)", "", f"{per_call_us(lambda: schema.parse_json(raw)):.1f}"),
        ("new event (uuid4, timestamp)", "", f"{per_call_us(lambda: schema.new_event(BODY)):.1f}"),
        ("encode the event", "", f"{per_call_us(lambda: schema.encode_event(event)):.1f}"),
        ("HTTP metrics of one request (multiprocess files)", "", f"{per_call_us(metrics):.1f}"),
    ]


def main() -> None:
    print("| piece | before, us | now, us |")
    print("|---|---|---|")
    for name, before, now in rows():
        print(f"| {name} | {before} | {now} |")


if __name__ == "__main__":
    main()
