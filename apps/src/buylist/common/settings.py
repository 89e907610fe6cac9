"""Typed settings, read once from `BUYLIST_*` environment variables."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Final, Literal

Component = Literal["customer-facing", "customer-management-api", "customer-management-worker"]
COMPONENTS: tuple[Component, ...] = (
    "customer-facing",
    "customer-management-api",
    "customer-management-worker",
)

_FACING: frozenset[Component] = frozenset({"customer-facing"})
_KAFKA: frozenset[Component] = frozenset({"customer-facing", "customer-management-worker"})
# customer-facing keeps its Idempotency-Key records in MongoDB; the purchases themselves go through Kafka.
_MONGO: frozenset[Component] = frozenset(COMPONENTS)


WORKER_CLASSES: Final = ("gevent", "gthread")


class SettingsError(Exception):
    """A required variable is missing or a value cannot be parsed."""


def _meta(env: str, required_by: frozenset[Component] = frozenset(), doc: str = "") -> dict[str, Any]:
    return {"env": env, "required_by": required_by, "doc": doc}


@dataclass(frozen=True, slots=True)
class Settings:
    """Every knob of every component; `load_settings` checks which ones a component needs."""

    component: Component
    log_level: str = field(default="INFO", metadata=_meta("BUYLIST_LOG_LEVEL", doc="DEBUG, INFO, WARNING or ERROR"))
    log_format: str = field(
        default="auto", metadata=_meta("BUYLIST_LOG_FORMAT", doc="json, text, or auto (text on a terminal)")
    )
    log_flush_interval_ms: int = field(
        default=200,
        metadata=_meta(
            "BUYLIST_LOG_FLUSH_INTERVAL_MS",
            doc="write log lines in batches at most this often (WARNING and above at once); 0: every line at once",
        ),
    )
    port: int = field(default=0, metadata=_meta("BUYLIST_PORT", doc="HTTP port; 0 means the component's default"))
    web_workers: int = field(default=2, metadata=_meta("BUYLIST_WEB_WORKERS", doc="gunicorn worker processes"))
    web_worker_class: str = field(
        default="gevent",
        metadata=_meta(
            "BUYLIST_WEB_WORKER_CLASS",
            doc="gunicorn worker class: gevent (one event loop per worker) or gthread (a thread pool per worker)",
        ),
    )
    web_threads: int = field(
        default=8, metadata=_meta("BUYLIST_WEB_THREADS", doc="threads per gunicorn worker (gthread only)")
    )
    web_worker_connections: int = field(
        default=1000,
        metadata=_meta("BUYLIST_WEB_WORKER_CONNECTIONS", doc="most simultaneous connections per gunicorn worker"),
    )
    gil_switch_interval_s: float = field(
        default=0.0005,
        metadata=_meta(
            "BUYLIST_GIL_SWITCH_INTERVAL_SECONDS", doc="sys.setswitchinterval in each gunicorn worker (CPython: 0.005)"
        ),
    )
    kafka_bootstrap: str = field(
        default="", metadata=_meta("BUYLIST_KAFKA_BOOTSTRAP", _KAFKA, "comma-separated host:port list")
    )
    kafka_topic: str = field(
        default="purchases",
        metadata=_meta("BUYLIST_KAFKA_TOPIC", doc="topic purchases are produced to and consumed from"),
    )
    kafka_dlq_topic: str = field(
        default="purchases.dlq",
        metadata=_meta("BUYLIST_KAFKA_DLQ_TOPIC", doc="where the worker puts events it can never store"),
    )
    kafka_group: str = field(
        default="purchase-group",
        metadata=_meta("BUYLIST_KAFKA_GROUP", doc="the worker's consumer group (KEDA reads its lag)"),
    )
    kafka_security_protocol: str = field(
        default="PLAINTEXT", metadata=_meta("BUYLIST_KAFKA_SECURITY_PROTOCOL", doc="PLAINTEXT, SASL_PLAINTEXT, ...")
    )
    kafka_sasl_mechanism: str = field(
        default="", metadata=_meta("BUYLIST_KAFKA_SASL_MECHANISM", doc="PLAIN or SCRAM-SHA-256/512 when SASL is on")
    )
    kafka_sasl_username: str = field(default="", metadata=_meta("BUYLIST_KAFKA_SASL_USERNAME", doc="SASL user"))
    kafka_sasl_password: str = field(
        default="", metadata=_meta("BUYLIST_KAFKA_SASL_PASSWORD", doc="SASL password (from a Secret)")
    )
    publish_timeout_s: float = field(
        default=2.5,
        metadata=_meta("BUYLIST_PUBLISH_TIMEOUT_SECONDS", doc="longest wait for Kafka's acknowledgement"),
    )
    kafka_linger_ms: int = field(
        default=2,
        metadata=_meta("BUYLIST_KAFKA_LINGER_MS", doc="how long the producer waits to batch concurrent events"),
    )
    mongodb_uri: str = field(default="", metadata=_meta("BUYLIST_MONGODB_URI", _MONGO, "mongodb:// connection URI"))
    mongodb_database: str = field(
        default="buylist", metadata=_meta("BUYLIST_MONGODB_DATABASE", doc="database holding the purchases collection")
    )
    mongodb_timeout_ms: int = field(
        default=2000, metadata=_meta("BUYLIST_MONGODB_TIMEOUT_MS", doc="server selection and socket timeout")
    )
    management_url: str = field(
        default="",
        metadata=_meta("BUYLIST_MANAGEMENT_URL", _FACING, "base URL of customer-management-api"),
    )
    management_timeout_s: float = field(
        default=3.0, metadata=_meta("BUYLIST_MANAGEMENT_TIMEOUT_SECONDS", doc="timeout of each call to the API")
    )
    max_body_bytes: int = field(
        default=16384, metadata=_meta("BUYLIST_MAX_BODY_BYTES", doc="larger request bodies get 413")
    )
    worker_batch_size: int = field(
        default=500, metadata=_meta("BUYLIST_WORKER_BATCH_SIZE", doc="most events stored per poll")
    )
    worker_fetch_min_bytes: int = field(
        default=16384,
        metadata=_meta(
            "BUYLIST_WORKER_FETCH_MIN_BYTES", doc="the broker answers a fetch once it has this many bytes (or the wait)"
        ),
    )
    worker_fetch_max_wait_ms: int = field(
        default=50,
        metadata=_meta(
            "BUYLIST_WORKER_FETCH_MAX_WAIT_MS", doc="longest the broker holds a fetch waiting for fetch_min_bytes"
        ),
    )
    worker_max_backoff_s: float = field(
        default=10.0,
        metadata=_meta("BUYLIST_WORKER_MAX_BACKOFF_SECONDS", doc="cap of the retry backoff while a dependency is down"),
    )

    @property
    def http_port(self) -> int:
        """Return the configured port, or the component's local default."""
        defaults: dict[Component, int] = {
            "customer-facing": 3000,
            "customer-management-api": 3001,
            "customer-management-worker": 3002,
        }
        return self.port or defaults[self.component]

    @property
    def kafka_client_options(self) -> dict[str, Any]:
        """Return the connection options shared by every Kafka client of this process."""
        options: dict[str, Any] = {
            "bootstrap_servers": [s.strip() for s in self.kafka_bootstrap.split(",") if s.strip()],
            "security_protocol": self.kafka_security_protocol,
        }
        if self.kafka_sasl_mechanism:
            options |= {
                "sasl_mechanism": self.kafka_sasl_mechanism,
                "sasl_plain_username": self.kafka_sasl_username,
                "sasl_plain_password": self.kafka_sasl_password,
            }
        return options


def _parse_int(raw: str) -> int:
    return int(raw, 10)


def _parse_float(raw: str) -> float:
    value = float(raw)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("not a finite number")
    return value


_PARSERS: dict[str, Callable[[str], Any]] = {"int": _parse_int, "float": _parse_float, "str": str}


def load_settings(component: Component, environ: Mapping[str, str] | None = None) -> Settings:
    """Read the settings for `component`, naming every missing or malformed variable at once."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    problems: list[str] = []
    for f in fields(Settings):
        if f.name == "component":
            continue
        name = f.metadata["env"]
        raw = env.get(name, "").strip()
        if not raw:
            if component in f.metadata["required_by"]:
                problems.append(f"{name} is required by {component} ({f.metadata['doc']})")
            continue
        try:
            value = _PARSERS[str(f.type)](raw)
        except ValueError:
            problems.append(f"{name}={raw!r} is not a valid {f.type}")
            continue
        if isinstance(value, int | float) and value < 0:
            problems.append(f"{name}={raw!r} must not be negative")
            continue
        values[f.name] = value
    if problems:
        raise SettingsError("; ".join(problems))
    settings = Settings(component=component, **values)
    if settings.log_level.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise SettingsError(f"BUYLIST_LOG_LEVEL={settings.log_level!r} must be DEBUG, INFO, WARNING or ERROR")
    if settings.web_worker_class not in WORKER_CLASSES:
        raise SettingsError(f"BUYLIST_WEB_WORKER_CLASS={settings.web_worker_class!r} must be gevent or gthread")
    return settings


def describe() -> list[tuple[str, str, str, str]]:
    """Return (variable, default, required by, meaning) rows for the docs."""
    rows = []
    for f in fields(Settings):
        if f.name == "component":
            continue
        required = ", ".join(sorted(f.metadata["required_by"])) or "-"
        rows.append((f.metadata["env"], repr(f.default), required, f.metadata["doc"]))
    return rows
