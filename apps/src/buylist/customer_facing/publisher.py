"""Publish purchase events to Kafka, answering only once the broker acknowledged them."""

from __future__ import annotations

import logging
import threading
from typing import Any

from kafka import KafkaAdminClient, KafkaProducer
from kafka.errors import KafkaError

from buylist.common.metrics import PRODUCE_FAILURES, PRODUCED
from buylist.common.schema import SCHEMA_VERSION, encode_event
from buylist.common.settings import Settings
from buylist.customer_facing.circuit import CircuitBreaker

log = logging.getLogger(__name__)


class PublishFailed(Exception):
    """Kafka did not acknowledge the event in time; the caller should answer 503."""

    def __init__(self, reason: str, retry_after: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def producer_options(settings: Settings) -> dict[str, Any]:
    """Return the KafkaProducer options customer-facing publishes with (`make bench`'s baseline uses them too)."""
    timeout_ms = int(settings.publish_timeout_s * 1000)
    return {
        **settings.kafka_client_options,
        "client_id": f"{settings.component}",
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": settings.kafka_linger_ms,
        "compression_type": None,
        # kafka-python's own sensors: nobody reads them (our Prometheus counters are), and they cost 2-3% of a
        # customer-facing worker under load (py-spy, README "Where the time goes").
        "metrics_enabled": False,
        # A record either reaches the broker within the request budget or expires; it is never
        # delivered later behind the caller's back after we already answered 503.
        "request_timeout_ms": max(timeout_ms - 500, 500),
        "delivery_timeout_ms": timeout_ms,
        "max_block_ms": max(timeout_ms - 500, 500),
        # The constructor contacts the broker to learn its version; never for longer than a request may wait.
        "bootstrap_timeout_ms": max(timeout_ms - 500, 500),
        "retry_backoff_ms": 100,
        "reconnect_backoff_max_ms": 1000,
    }


class PurchasePublisher:
    """One idempotent, acks=all producer per process, replaced after a failed delivery.

    kafka-python keeps an idempotent producer's partition blocked after a batch expires in flight,
    so a fresh producer (new producer id) is the reliable way back once the broker returns.
    After a failure a circuit breaker answers at once instead of queueing more requests behind a dead
    broker, and lets one request at a time find out whether it is back.
    """

    def __init__(self, settings: Settings, cooldown_s: float = 1.0) -> None:
        self._settings = settings
        self._circuit = CircuitBreaker(cooldown_s)
        self._lock = threading.Lock()
        self._producer: KafkaProducer | None = None
        self._connecting = False
        self._connected = threading.Condition(self._lock)
        self._admin: KafkaAdminClient | None = None
        self._admin_lock = threading.Lock()

    def _get_producer(self) -> KafkaProducer:
        with self._connected:
            while self._connecting and not self._circuit.cooling_down:
                # Another request is connecting; wait for it (bounded by bootstrap_timeout_ms).
                self._connected.wait()
            if self._producer is not None:
                return self._producer
            if self._connecting or self._circuit.cooling_down:
                # The broker failed moments ago: answer now instead of queueing behind a dead connection.
                raise PublishFailed("Kafka failed moments ago", retry_after=1)
            self._connecting = True
        producer: KafkaProducer | None = None
        try:
            producer = KafkaProducer(**producer_options(self._settings))
        except KafkaError as exc:
            self._circuit.failed()
            PRODUCE_FAILURES.labels(self._settings.kafka_topic, "no_broker").inc()
            raise PublishFailed(f"cannot reach Kafka: {type(exc).__name__}", retry_after=2) from exc
        finally:
            with self._connected:
                self._connecting = False
                self._producer = producer
                self._connected.notify_all()
        return producer

    def _discard(self, producer: KafkaProducer) -> None:
        with self._lock:
            if self._producer is producer:
                self._producer = None
        # close() waits on the dead broker; never make a request wait for it.
        threading.Thread(target=producer.close, kwargs={"timeout": 0}, daemon=True).start()

    def publish(self, event: dict[str, Any], request_id: str) -> None:
        """Send one event keyed by user id and block until all in-sync replicas have it."""
        topic = self._settings.kafka_topic
        if not self._circuit.allow():
            PRODUCE_FAILURES.labels(topic, "circuit_open").inc()
            raise PublishFailed("Kafka failed moments ago; not queueing more requests", retry_after=1)
        headers = [
            ("schema-version", SCHEMA_VERSION.encode()),
            ("purchase-id", event["id"].encode()),
            ("request-id", request_id.encode()),
            ("content-type", b"application/json"),
        ]
        producer = self._get_producer()
        try:
            future = producer.send(topic, value=encode_event(event), key=event["userid"].encode(), headers=headers)
            # The producer's own delivery timeout fires first; this bound only guards against a hang.
            future.get(timeout=self._settings.publish_timeout_s + 0.5)
        except KafkaError as exc:
            reason = type(exc).__name__
            PRODUCE_FAILURES.labels(topic, reason).inc()
            log.warning("kafka did not acknowledge the purchase", extra={"reason": reason, "error": str(exc)})
            self._circuit.failed()
            self._discard(producer)
            raise PublishFailed(reason, retry_after=2) from exc
        self._circuit.succeeded()
        PRODUCED.labels(topic).inc()

    def ready(self) -> bool:
        """Return whether publishing is expected to work: no recent failure and the broker describes our topic."""
        if self._circuit.is_open:
            return False
        # The producer's metadata is a cache; a describe round trip proves the broker answers now.
        try:
            with self._admin_lock:
                if self._admin is None:
                    self._admin = KafkaAdminClient(
                        **self._settings.kafka_client_options,
                        client_id=f"{self._settings.component}-probe",
                        request_timeout_ms=1500,
                        bootstrap_timeout_ms=1500,
                    )
                admin = self._admin
            topics = admin.describe_topics([self._settings.kafka_topic])
        except KafkaError:
            return False
        return bool(topics) and topics[0].get("error_code") == 0

    def close(self, timeout_s: float = 5.0) -> None:
        """Flush what is buffered and close the producer."""
        with self._lock:
            producer, self._producer = self._producer, None
        with self._admin_lock:
            admin, self._admin = self._admin, None
        if admin is not None:
            admin.close()
        if producer is not None:
            producer.close(timeout=timeout_s)
