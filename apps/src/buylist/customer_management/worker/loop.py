"""The worker loop: poll a batch, hand it to `handle`, commit only after it is stored."""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import CommitFailedError, KafkaError
from kafka.structs import OffsetAndMetadata

from buylist.common.metrics import DEAD_LETTERED, PROCESSED, PROCESSING_SECONDS, WORKER_FAILURES
from buylist.common.settings import Settings
from buylist.customer_management.store import PurchaseStore, StoreUnavailable
from buylist.customer_management.worker.handler import BatchResult, Record, Rejected, handle, header

log = logging.getLogger(__name__)

IDLE_PING_INTERVAL_S = 5.0


class DeadLetterUnavailable(Exception):
    """The dead-letter topic did not acknowledge; retry the batch later."""


class WorkerState:
    """What the probes report: readiness and the time the loop last made progress."""

    def __init__(self) -> None:
        self.ready = False
        self.last_tick = time.monotonic()
        self.reason = "starting"

    def tick(self, ready: bool, reason: str = "") -> None:
        """Record that the loop is alive and whether it can do its work."""
        self.last_tick = time.monotonic()
        self.ready = ready
        self.reason = reason


class Worker:
    """Consume `purchases` in the purchase group and store every event exactly once by id."""

    def __init__(self, settings: Settings, store: PurchaseStore, state: WorkerState | None = None) -> None:
        self.settings = settings
        self.store = store
        self.state = state or WorkerState()
        self._stopping = threading.Event()
        self._dlq: KafkaProducer | None = None
        self._backoff_s = 0.0
        self._last_ping = 0.0

    def stop(self) -> None:
        """Ask the loop to finish its batch, commit and leave the group (safe from a signal handler)."""
        self._stopping.set()

    def _consumer_for(self) -> KafkaConsumer:
        return KafkaConsumer(
            self.settings.kafka_topic,
            **self.settings.kafka_client_options,
            client_id=f"{self.settings.component}",
            group_id=self.settings.kafka_group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self.settings.worker_batch_size,
            fetch_min_bytes=self.settings.worker_fetch_min_bytes,
            fetch_max_wait_ms=self.settings.worker_fetch_max_wait_ms,
            session_timeout_ms=10000,
            heartbeat_interval_ms=3000,
            max_poll_interval_ms=300000,
            request_timeout_ms=30000,
            reconnect_backoff_max_ms=2000,
            bootstrap_timeout_ms=10000,
            # kafka-python's own sensors: nobody reads them; the lag the autoscaler uses comes from the broker.
            metrics_enabled=False,
        )

    def _dead_letter(self, rejected: list[Rejected]) -> None:
        if self._dlq is None:
            try:
                self._dlq = KafkaProducer(
                    **self.settings.kafka_client_options,
                    client_id=f"{self.settings.component}-dlq",
                    acks="all",
                    enable_idempotence=True,
                    delivery_timeout_ms=10000,
                    request_timeout_ms=5000,
                    max_block_ms=5000,
                    bootstrap_timeout_ms=5000,
                    metrics_enabled=False,
                )
            except KafkaError as exc:
                raise DeadLetterUnavailable(str(exc)) from exc
        futures = []
        for item in rejected:
            rec = item.record
            headers = [(k, v) for k, v in rec.headers or () if v is not None] + [
                ("dlq-reason", item.reason.encode()),
                ("dlq-error", item.error[:1000].encode()),
                ("dlq-source-topic", rec.topic.encode()),
                ("dlq-source-partition", str(rec.partition).encode()),
                ("dlq-source-offset", str(rec.offset).encode()),
                ("dlq-failed-at", str(int(time.time() * 1000)).encode()),
            ]
            futures.append(self._dlq.send(self.settings.kafka_dlq_topic, value=rec.value, headers=headers))
        try:
            for future in futures:
                future.get(timeout=15)
        except KafkaError as exc:
            producer, self._dlq = self._dlq, None
            threading.Thread(target=producer.close, kwargs={"timeout": 0}, daemon=True).start()
            raise DeadLetterUnavailable(str(exc)) from exc
        for item in rejected:
            DEAD_LETTERED.labels(item.reason).inc()
            log.warning(
                "event dead-lettered",
                extra={
                    "reason": item.reason,
                    "error": item.error,
                    "partition": item.record.partition,
                    "offset": item.record.offset,
                    "purchase_id": header(item.record, "purchase-id"),
                },
            )

    def _wait(self, seconds: float) -> None:
        self._stopping.wait(seconds)

    def _prepare_store(self) -> None:
        while not self._stopping.is_set():
            try:
                self.store.ensure_indexes()
                return
            except StoreUnavailable as exc:
                self._fail("mongodb", exc)

    def _fail(self, dependency: str, exc: Exception) -> None:
        """Mark the worker unready and back off, capped, before the batch is tried again."""
        WORKER_FAILURES.labels(dependency).inc()
        self._backoff_s = min(max(self._backoff_s * 2, 0.5), self.settings.worker_max_backoff_s)
        self.state.tick(False, f"{dependency} unavailable")
        log.warning(
            "dependency unavailable, retrying without committing",
            extra={"dependency": dependency, "error": str(exc)[:300], "backoff_s": self._backoff_s},
        )
        self._wait(self._backoff_s)

    def run(self) -> None:
        """Loop until stopped; on return the last stored batch is committed and the group left."""
        self._prepare_store()
        consumer = self._connect()
        if consumer is None:
            self.store.close()
            return
        log.info("worker consuming", extra={"topic": self.settings.kafka_topic, "group": self.settings.kafka_group})
        try:
            while not self._stopping.is_set():
                polled = consumer.poll(timeout_ms=1000)
                batch: list[Any] = [rec for records in polled.values() for rec in records]
                if not batch:
                    self._idle()
                    continue
                self._process(consumer, batch)
        finally:
            log.info("worker stopping: leaving the group")
            consumer.close(autocommit=False)
            if self._dlq is not None:
                self._dlq.close(timeout=5)
            self.store.close()

    def _connect(self) -> KafkaConsumer | None:
        """Create the consumer, retrying while the broker is unreachable; None if stopped first."""
        while not self._stopping.is_set():
            try:
                return self._consumer_for()
            except KafkaError as exc:
                self._fail("kafka", exc)
        return None

    def _idle(self) -> None:
        now = time.monotonic()
        if now - self._last_ping >= IDLE_PING_INTERVAL_S or not self.state.ready:
            self._last_ping = now
            up = self.store.ping()
            self.state.tick(up, "" if up else "mongodb unavailable")
        else:
            self.state.tick(self.state.ready, self.state.reason)

    def _process(self, consumer: KafkaConsumer, batch: list[Record]) -> None:
        received = time.monotonic()
        try:
            result = handle(batch, self.store, self._dead_letter)
        except (StoreUnavailable, DeadLetterUnavailable) as exc:
            self._rewind(consumer, batch)
            self._fail("mongodb" if isinstance(exc, StoreUnavailable) else "kafka", exc)
            return
        offsets = self._next_offsets(batch)
        try:
            consumer.commit(offsets)
        except CommitFailedError as exc:
            # The group rebalanced: the new owner re-reads these events and the _id makes that harmless.
            log.warning("commit refused after a rebalance; events will be redelivered", extra={"error": str(exc)})
        except KafkaError as exc:
            self._fail("kafka", exc)
            return
        self._backoff_s = 0.0
        self.state.tick(True)
        self._record(result, time.monotonic() - received, offsets)

    @staticmethod
    def _rewind(consumer: KafkaConsumer, batch: list[Record]) -> None:
        first: dict[TopicPartition, int] = {}
        for rec in batch:
            tp = TopicPartition(rec.topic, rec.partition)
            first[tp] = min(first.get(tp, rec.offset), rec.offset)
        for tp, offset in first.items():
            consumer.seek(tp, offset)

    @staticmethod
    def _next_offsets(batch: list[Record]) -> dict[TopicPartition, OffsetAndMetadata]:
        last: dict[TopicPartition, int] = defaultdict(lambda: -1)
        for rec in batch:
            tp = TopicPartition(rec.topic, rec.partition)
            last[tp] = max(last[tp], rec.offset)
        return {tp: OffsetAndMetadata(offset + 1, "", -1) for tp, offset in last.items()}

    def _record(self, result: BatchResult, seconds: float, offsets: dict[TopicPartition, OffsetAndMetadata]) -> None:
        topic = self.settings.kafka_topic
        PROCESSED.labels(topic, "stored").inc(result.stored)
        PROCESSED.labels(topic, "duplicate").inc(result.duplicates)
        PROCESSED.labels(topic, "dead_lettered").inc(len(result.rejected))
        processing = PROCESSING_SECONDS.labels(topic)
        for _ in range(len(result.accepted) + len(result.rejected)):
            processing.observe(seconds)
        for item in result.accepted:
            log.info(
                "purchase persisted",
                extra={
                    "purchase_id": item.event["id"],
                    "request_id": header(item.record, "request-id"),
                    "userid": item.event["userid"],
                    "partition": item.record.partition,
                    "offset": item.record.offset,
                },
            )
        log.info(
            "batch committed",
            extra={
                "events": len(result.accepted) + len(result.rejected),
                "stored": result.stored,
                "duplicates": result.duplicates,
                "dead_lettered": len(result.rejected),
                "partitions": sorted(tp.partition for tp in offsets),
                "seconds": round(seconds, 4),
            },
        )
