"""The dead-letter CLI: show what was dead-lettered and replay it once to where it came from."""

from __future__ import annotations

import uuid

import pytest
from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from buylist.admin import dlq_replay, dlq_show
from tests.support.stack import Stack

pytestmark = pytest.mark.integration


def test_show_and_replay_send_each_event_back_once_without_dlq_headers(stack: Stack, capsys):
    bootstrap = stack.kafka.bootstrap
    dlq, target = f"dlq-{uuid.uuid4().hex[:8]}", f"target-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(dlq, 1, 1), NewTopic(target, 1, 1)])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for n, reason in enumerate(["unknown_schema_version", "not_json", "unknown_schema_version"]):
        headers = [
            ("schema-version", b"2"),
            ("purchase-id", f"p{n}".encode()),
            ("dlq-reason", reason.encode()),
            ("dlq-error", b"because"),
            ("dlq-source-topic", target.encode()),
            ("dlq-source-partition", b"0"),
            ("dlq-source-offset", str(n).encode()),
        ]
        producer.send(dlq, f"event-{n}".encode(), headers=headers).get(10)
    producer.close()

    assert dlq_show(bootstrap, dlq, limit=10) == 3
    shown = capsys.readouterr().out
    assert '"reason": "not_json"' in shown
    assert f'"source": "{target}/0@1"' in shown

    assert dlq_replay(bootstrap, dlq, "unknown_schema_version", limit=10, dry_run=True) == 2
    assert dlq_replay(bootstrap, dlq, "unknown_schema_version", limit=10, dry_run=False) == 2
    assert dlq_replay(bootstrap, dlq, "unknown_schema_version", limit=10, dry_run=False) == 0

    consumer = KafkaConsumer(
        target, bootstrap_servers=bootstrap, auto_offset_reset="earliest", consumer_timeout_ms=4000
    )
    replayed = [(r.value, dict(r.headers)) for r in consumer]
    consumer.close()
    assert [value for value, _ in replayed] == [b"event-0", b"event-2"]
    for _, headers in replayed:
        assert headers["schema-version"] == b"2"
        assert not any(key.startswith("dlq-") for key in headers)
