"""JSON log lines on stdout (plain text on a terminal), carrying request and purchase ids."""

from __future__ import annotations

import contextvars
import json
import logging
import os
import sys
import threading
import time
from typing import Any, TextIO

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


class BatchingStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]  # generic only in typeshed
    """Write log lines in batches: at most `interval_s` after the first pending line, at once for WARNING and above.

    One write per access-log line costs the service a system call and the log collector (supervisord here, the
    container runtime's log pipe in a cluster) a wake-up per line: at 1000 purchases a second supervisord used
    nearly as much CPU as the worker (`make bench`). A batch is written when `interval_s` has passed, when it
    reaches `max_bytes`, when a WARNING or worse arrives (after the lines before it, so the order holds) and at exit
    (logging's atexit flush). What a crash can lose: the INFO lines of the last `interval_s`.
    """

    def __init__(self, stream: TextIO, interval_s: float, max_bytes: int = 64 * 1024) -> None:
        super().__init__(stream)
        self.interval_s = interval_s
        self.max_bytes = max_bytes
        self._pending: list[str] = []
        self._pending_chars = 0
        self._flusher_pid = 0

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + self.terminator
        except Exception:  # noqa: BLE001 - logging's contract: report and carry on
            self.handleError(record)
            return
        with self.lock:  # type: ignore[union-attr]  # created in Handler.__init__
            self._pending.append(line)
            self._pending_chars += len(line)
            urgent = record.levelno >= logging.WARNING or self._pending_chars >= self.max_bytes
            start = self._flusher_pid != os.getpid()
            if start:
                # Per process: a worker forked from a process that logged inherits the lines, not the thread.
                self._flusher_pid = os.getpid()
        if start:
            threading.Thread(target=self._flush_every_interval, name="log-flusher", daemon=True).start()
        if urgent:
            self.flush()

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            if self._pending:
                text, self._pending, self._pending_chars = "".join(self._pending), [], 0
                self.stream.write(text)
            self.stream.flush()

    def _flush_every_interval(self) -> None:
        while True:
            time.sleep(self.interval_s)
            try:
                self.flush()
            except (OSError, ValueError):  # stdout closed or gone: nothing left to write to
                return


def configure_logging(component: str, level: str = "INFO", fmt: str = "auto", flush_interval_ms: int = 0) -> None:
    """Send every logger's records to stdout in the chosen format, replacing earlier handlers.

    flush_interval_ms: batch lines for this long (BatchingStreamHandler); 0 writes each line at once.
    """
    use_json = fmt == "json" or (fmt == "auto" and not sys.stdout.isatty())
    handler: logging.StreamHandler = (  # type: ignore[type-arg]
        BatchingStreamHandler(sys.stdout, flush_interval_ms / 1000)
        if flush_interval_ms > 0
        else logging.StreamHandler(sys.stdout)
    )
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
