"""JSON log lines on stdout (plain text on a terminal), carrying request and purchase ids."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
purchase_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("purchase_id", default=None)

# Attributes every LogRecord has; anything else passed through `extra=` is emitted as a field.
_RESERVED = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object per line."""

    def __init__(self, component: str) -> None:
        super().__init__()
        self.component = component

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "component": self.component,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, var in (("request_id", request_id_var), ("purchase_id", purchase_id_var)):
            value = var.get()
            if value is not None:
                entry[key] = value
        entry.update({k: v for k, v in vars(record).items() if k not in _RESERVED})
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
    # kafka-python logs every reconnect attempt at WARNING/ERROR; our own code reports outages once.
    logging.getLogger("kafka").setLevel(logging.DEBUG if level.upper() == "DEBUG" else logging.CRITICAL)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
