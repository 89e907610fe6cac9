"""JSON log lines on stdout (plain text on a terminal), carrying request and purchase ids."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
from typing import Any

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
purchase_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("purchase_id", default=None)

# Attributes every LogRecord has; anything else passed through `extra=` is emitted as a field.
_RESERVED = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object per line.

    Written for the access log's rate (one line per request): the UTC second is formatted once per second and the
    extras are found by set difference (`python -m tests.bench.micro` times it against the straightforward way).
    """

    def __init__(self, component: str) -> None:
        super().__init__()
        self.component = component
        self._second = -1
        self._second_text = ""

    def _time(self, created: float) -> str:
        second = int(created)
        if second != self._second:
            self._second_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        return f"{self._second_text}.{int((created - second) * 1000):03d}+00:00"

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self._time(record.created),
            "level": record.levelname,
            "component": self.component,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id, purchase_id = request_id_var.get(), purchase_id_var.get()
        if request_id is not None:
            entry["request_id"] = request_id
        if purchase_id is not None:
            entry["purchase_id"] = purchase_id
        fields = record.__dict__
        for key in sorted(fields.keys() - _RESERVED):
            entry[key] = fields[key]
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        # ASCII only: a raw U+2028 or U+0085 in a user-supplied path would split the line for log shippers.
        return json.dumps(entry, default=str, ensure_ascii=True)


class TextFormatter(logging.Formatter):
    """Format a record for a human at a terminal, extras appended as key=value."""

    def format(self, record: logging.LogRecord) -> str:
        extras = {k: v for k, v in vars(record).items() if k not in _RESERVED}
        for key, var in (("request_id", request_id_var), ("purchase_id", purchase_id_var)):
            if var.get() is not None:
                extras[key] = var.get()
        line = f"{record.levelname:<7} {record.name}: {record.getMessage()}"
        if extras:
            line += " " + " ".join(f"{k}={v}" for k, v in extras.items())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure_logging(component: str, level: str = "INFO", fmt: str = "auto") -> None:
    """Send every logger's records to stdout in the chosen format, replacing earlier handlers."""
    use_json = fmt == "json" or (fmt == "auto" and not sys.stdout.isatty())
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(component) if use_json else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # No formatter here prints the caller's file and line, thread or process: skip gathering them for every record
    # (the "Optimization" section of Python's logging HOWTO; `python -m tests.bench.micro` times the difference).
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    # kafka-python logs every reconnect attempt at WARNING/ERROR; our own code reports outages once.
    logging.getLogger("kafka").setLevel(logging.DEBUG if level.upper() == "DEBUG" else logging.CRITICAL)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
