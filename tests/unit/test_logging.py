"""Log lines are JSON carrying the request and purchase ids."""

import json
import logging

import pytest

from buylist.common.logging import JsonFormatter, purchase_id_var, request_id_var

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
