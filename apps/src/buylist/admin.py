"""Operator commands: `python -m buylist.admin create-topics ...`."""

from __future__ import annotations

import argparse
import sys
import time

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError


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
    args = parser.parse_args(argv)
    created = create_topics(args.bootstrap, args.topic, args.dlq_topic, args.partitions, args.replication)
    print("created: " + (", ".join(created) if created else "nothing (topics exist)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
