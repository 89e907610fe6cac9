"""Operator commands: `python -m buylist.admin create-topics|dlq-show|dlq-replay ...`."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError
from kafka.structs import OffsetAndMetadata

REPLAY_GROUP = "buylist-dlq-replay"


def create_topics(
    bootstrap: str, topic: str, dlq_topic: str, partitions: int, replication: int = 1, wait_s: float = 60.0
) -> list[str]:
    """Create the purchases topic and its dead-letter topic if missing; return the names created."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            admin = KafkaAdminClient(bootstrap_servers=bootstrap.split(","), client_id="buylist-admin")
            break
        except KafkaError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
    created = []
    try:
        existing = set(admin.list_topics())
        wanted = [
            # The dead-letter topic keeps poison events for inspection longer than the main topic.
            NewTopic(dlq_topic, 3, replication, topic_configs={"retention.ms": str(30 * 24 * 3600 * 1000)}),
            NewTopic(topic, partitions, replication, topic_configs={"min.insync.replicas": str(min(2, replication))}),
        ]
        for new in wanted:
            if new.name in existing:
                continue
            try:
                admin.create_topics([new])
                created.append(new.name)
            except TopicAlreadyExistsError:
                pass
    finally:
        admin.close()
    return created


def _headers(record: Any) -> dict[str, str]:
    return {k: (v or b"").decode("utf-8", "replace") for k, v in record.headers or ()}


def dead_letters(bootstrap: str, dlq_topic: str, group: str | None, idle_ms: int = 3000) -> Iterator[tuple[Any, Any]]:
    """Yield (consumer, record) for the dead-letter topic, from the group's position or the beginning."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap.split(","),
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        consumer_timeout_ms=idle_ms,
    )
    try:
        if group is None:
            partitions = [TopicPartition(dlq_topic, p) for p in sorted(consumer.partitions_for_topic(dlq_topic) or ())]
            consumer.assign(partitions)
            consumer.seek_to_beginning(*partitions)
        else:
            consumer.subscribe([dlq_topic])
        for record in consumer:
            yield consumer, record
    finally:
        consumer.close(autocommit=False)


def dlq_show(bootstrap: str, dlq_topic: str, limit: int) -> int:
    """Print dead-lettered events as JSON lines: where they came from, why, and the raw value."""
    shown = 0
    for _consumer, record in dead_letters(bootstrap, dlq_topic, None):
        headers = _headers(record)
        print(
            json.dumps(
                {
                    "dlq_partition": record.partition,
                    "dlq_offset": record.offset,
                    "reason": headers.get("dlq-reason"),
                    "error": headers.get("dlq-error"),
                    "source": f"{headers.get('dlq-source-topic')}/{headers.get('dlq-source-partition')}"
                    f"@{headers.get('dlq-source-offset')}",
                    "purchase_id": headers.get("purchase-id"),
                    "value": (record.value or b"").decode("utf-8", "replace")[:2000],
                },
                ensure_ascii=False,
            )
        )
        shown += 1
        if shown >= limit:
            break
    print(f"{shown} dead-lettered event(s) shown", file=sys.stderr)
    return shown


def dlq_replay(bootstrap: str, dlq_topic: str, reason: str | None, limit: int, dry_run: bool) -> int:
    """Send dead-lettered events back to their source topic with their original headers.

    Progress is kept by the consumer group `buylist-dlq-replay`, so each event is replayed once. Replay after
    the cause is fixed (a worker that now understands the schema version, say); an event that is still
    invalid simply returns to the dead-letter topic.
    """
    producer = None if dry_run else KafkaProducer(bootstrap_servers=bootstrap.split(","), acks="all")
    replayed = 0
    try:
        for consumer, record in dead_letters(bootstrap, dlq_topic, None if dry_run else REPLAY_GROUP):
            headers = _headers(record)
            if reason is None or headers.get("dlq-reason") == reason:
                target = headers.get("dlq-source-topic") or "purchases"
                original = [(k, v) for k, v in record.headers or () if not k.startswith("dlq-") and v is not None]
                print(
                    f"replay {dlq_topic}/{record.partition}@{record.offset} -> {target} ({headers.get('dlq-reason')})"
                )
                if producer is not None:
                    producer.send(target, value=record.value, headers=original).get(timeout=15)
                replayed += 1
            if producer is not None:
                tp = TopicPartition(record.topic, record.partition)
                consumer.commit({tp: OffsetAndMetadata(record.offset + 1, "", -1)})
            if replayed >= limit:
                break
    finally:
        if producer is not None:
            producer.close()
    print(f"{replayed} event(s) {'would be ' if dry_run else ''}replayed", file=sys.stderr)
    return replayed


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run one operator command."""
    parser = argparse.ArgumentParser(prog="python -m buylist.admin")
    sub = parser.add_subparsers(dest="command", required=True)
    topics = sub.add_parser("create-topics", help="create the purchases and dead-letter topics if missing")
    topics.add_argument("--bootstrap", required=True)
    topics.add_argument("--topic", default="purchases")
    topics.add_argument("--dlq-topic", default="purchases.dlq")
    topics.add_argument("--partitions", type=int, default=12)
    topics.add_argument("--replication", type=int, default=1)
    show = sub.add_parser("dlq-show", help="print dead-lettered events as JSON lines")
    show.add_argument("--bootstrap", required=True)
    show.add_argument("--dlq-topic", default="purchases.dlq")
    show.add_argument("--limit", type=int, default=100)
    replay = sub.add_parser("dlq-replay", help="send dead-lettered events back to their source topic")
    replay.add_argument("--bootstrap", required=True)
    replay.add_argument("--dlq-topic", default="purchases.dlq")
    replay.add_argument("--reason", help="only events dead-lettered for this reason, e.g. unknown_schema_version")
    replay.add_argument("--limit", type=int, default=1000)
    replay.add_argument("--dry-run", action="store_true", help="list what would be replayed; commit nothing")
    args = parser.parse_args(argv)
    if args.command == "create-topics":
        created = create_topics(args.bootstrap, args.topic, args.dlq_topic, args.partitions, args.replication)
        print("created: " + (", ".join(created) if created else "nothing (topics exist)"))
    elif args.command == "dlq-show":
        dlq_show(args.bootstrap, args.dlq_topic, args.limit)
    else:
        dlq_replay(args.bootstrap, args.dlq_topic, args.reason, args.limit, args.dry_run)
    return 0


if __name__ == "__main__":
    sys.exit(main())
