"""Log lines are JSON carrying the request and purchase ids."""

import io
import json
import logging
import subprocess
import sys
import time

import pytest

from buylist.common.logging import (
    BatchingStreamHandler,
    JsonFormatter,
    configure_logging,
    purchase_id_var,
    request_id_var,
)

pytestmark = pytest.mark.unit


def test_json_line_carries_context_ids_and_extras():
    record = logging.LogRecord("buylist.test", logging.INFO, __file__, 1, "stored %s", ("x",), None)
    record.partition = 3
    request_token, purchase_token = request_id_var.set("req-9"), purchase_id_var.set("pur-7")
    try:
        line = json.loads(JsonFormatter("customer-facing").format(record))
    finally:
        request_id_var.reset(request_token)
        purchase_id_var.reset(purchase_token)
    assert line["message"] == "stored x"
    assert line["component"] == "customer-facing"
    assert (line["request_id"], line["purchase_id"], line["partition"]) == ("req-9", "pur-7", 3)


def test_a_json_line_stays_one_line_whatever_the_message_contains():
    record = logging.LogRecord("buylist.test", logging.INFO, __file__, 1, "GET /x/%s", ("a\u2028b\x85c\nd",), None)
    line = JsonFormatter("customer-facing").format(record)
    assert len(line.splitlines()) == 1
    assert json.loads(line)["message"] == "GET /x/a\u2028b\x85c\nd"


def _record(level: int, message: str) -> logging.LogRecord:
    return logging.LogRecord("buylist.test", level, __file__, 1, message, (), None)


def _batching(interval_s: float, **options) -> tuple[io.StringIO, BatchingStreamHandler]:
    stream = io.StringIO()
    handler = BatchingStreamHandler(stream, interval_s=interval_s, **options)
    handler.setFormatter(logging.Formatter("%(message)s"))
    return stream, handler


def test_batching_handler_holds_info_lines_and_writes_them_within_the_interval():
    stream, handler = _batching(0.2)
    handler.handle(_record(logging.INFO, "one"))
    handler.handle(_record(logging.INFO, "two"))
    assert stream.getvalue() == ""  # no write per line
    deadline = time.monotonic() + 5
    while stream.getvalue() == "" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert stream.getvalue() == "one\ntwo\n"  # one batch, in order


def test_batching_handler_writes_a_warning_at_once_after_the_lines_before_it():
    stream, handler = _batching(60)
    handler.handle(_record(logging.INFO, "before"))
    handler.handle(_record(logging.WARNING, "kafka did not acknowledge"))
    assert stream.getvalue() == "before\nkafka did not acknowledge\n"


def test_batching_handler_writes_when_the_batch_is_full_and_when_flushed():
    stream, handler = _batching(60, max_bytes=100)
    for n in range(9):
        handler.handle(_record(logging.INFO, f"line {n:03d} ".ljust(11)))
    assert stream.getvalue().count("\n") == 9  # 9 x 12 characters passed 100
    handler.handle(_record(logging.INFO, "last"))
    assert "last" not in stream.getvalue()
    handler.flush()
    assert stream.getvalue().endswith("last\n")


def test_a_process_that_exits_normally_writes_its_pending_lines(tmp_path):
    """The worker's last line ("worker stopped") comes just before exit: logging's atexit flush must write it."""
    script = (
        "import logging, sys\n"
        "from buylist.common.logging import configure_logging\n"
        "configure_logging('customer-management-worker', 'INFO', 'json', flush_interval_ms=60000)\n"
        "logging.getLogger('buylist.test').info('worker stopped')\n"
        "sys.exit(0)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(out.stdout.strip())["message"] == "worker stopped"


def test_a_zero_interval_writes_every_line_at_once():
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("customer-facing", "INFO", "json", flush_interval_ms=0)
        assert type(root.handlers[0]) is logging.StreamHandler
        configure_logging("customer-facing", "INFO", "json", flush_interval_ms=200)
        assert isinstance(root.handlers[0], BatchingStreamHandler)
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
