"""The real components a test needs, each on its own free ports and state directory."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from kafka import KafkaAdminClient
from pymongo import MongoClient

from buylist.admin import create_topics
from tests.support.processes import SCRIPTS, VENV_BIN, Process, free_port, port_open

PARTITIONS = 12


@dataclass
class Kafka:
    """A single-node KRaft broker started from the Maven jars."""

    root: Path
    port: int = field(default_factory=free_port)
    controller_port: int = field(default_factory=free_port)
    process: Process | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> Kafka:
        """Start (or restart, keeping data) the broker and wait until topics exist."""
        self.process = Process(
            "kafka",
            [str(SCRIPTS / "run-kafka.sh"), str(self.root / "kafka"), str(self.port), str(self.controller_port)],
            self.root,
        ).start()
        self.process.wait_ready(lambda: port_open(self.port), timeout=90)
        create_topics(self.bootstrap, "purchases", "purchases.dlq", PARTITIONS, wait_s=60)
        return self

    def committed_offsets(self, group: str = "purchase-group") -> dict[int, int]:
        """Return the group's committed offset per partition of `purchases`."""
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=5000)
        try:
            offsets = admin.list_group_offsets(group)[group]
        finally:
            admin.close()
        return {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == "purchases"}


@dataclass
class Mongo:
    """FerretDB on SQLite, speaking the MongoDB wire protocol."""

    root: Path
    port: int = field(default_factory=free_port)
    process: Process | None = None

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/"

    def start(self) -> Mongo:
        """Start (or restart, keeping data) FerretDB and wait until it answers a ping."""
        self.process = Process(
            "ferretdb", [str(SCRIPTS / "run-ferretdb.sh"), str(self.root / "ferretdb"), str(self.port)], self.root
        ).start()
        self.process.wait_ready(self.ping, timeout=60)
        return self

    def ping(self) -> bool:
        client: MongoClient[dict[str, Any]] = MongoClient(self.uri, serverSelectionTimeoutMS=1000)
        try:
            return bool(client.admin.command("ping").get("ok"))
        finally:
            client.close()

    def purchases(self, database: str, **query: Any) -> list[dict[str, Any]]:
        """Return stored purchase documents matching `query`."""
        client: MongoClient[dict[str, Any]] = MongoClient(self.uri, serverSelectionTimeoutMS=5000, tz_aware=True)
        try:
            return list(client[database]["purchases"].find(query))
        finally:
            client.close()


def _ready(url: str) -> bool:
    return requests.get(url, timeout=2).status_code == 200


@dataclass
class Services:
    """customer-facing, customer-management-api and the worker, run by the `buylist` command."""

    root: Path
    kafka: Kafka
    mongo: Mongo
    database: str = field(default_factory=lambda: f"buylist_{uuid.uuid4().hex[:8]}")
    facing_port: int = field(default_factory=free_port)
    api_port: int = field(default_factory=free_port)
    worker_port: int = field(default_factory=free_port)
    processes: dict[str, Process] = field(default_factory=dict)

    @property
    def facing_url(self) -> str:
        return f"http://127.0.0.1:{self.facing_port}"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def worker_url(self) -> str:
        return f"http://127.0.0.1:{self.worker_port}"

    def env(self, component: str, port: int) -> dict[str, str]:
        """Return the environment a component runs with."""
        env = {
            "BUYLIST_PORT": str(port),
            "BUYLIST_LOG_FORMAT": "json",
            "BUYLIST_KAFKA_BOOTSTRAP": self.kafka.bootstrap,
            "BUYLIST_MONGODB_URI": self.mongo.uri,
            "BUYLIST_MONGODB_DATABASE": self.database,
            "BUYLIST_MANAGEMENT_URL": self.api_url,
            "BUYLIST_WORKER_MAX_BACKOFF_SECONDS": "2",
        }
        if component != "customer-management-worker":
            env["PROMETHEUS_MULTIPROC_DIR"] = str(self.root / "metrics" / component)
        return env

    def start_component(self, component: str, name: str | None = None, port: int | None = None) -> Process:
        """Start one component and wait until /health answers."""
        ports = {
            "customer-facing": self.facing_port,
            "customer-management-api": self.api_port,
            "customer-management-worker": self.worker_port,
        }
        port = port or ports[component]
        process = Process(
            name or component, [str(VENV_BIN / "buylist"), component], self.root, self.env(component, port)
        )
        process.start()
        process.wait_ready(lambda: _ready(f"http://127.0.0.1:{port}/health"), timeout=60)
        self.processes[name or component] = process
        return process

    def start(self) -> Services:
        """Start all three and wait until each is ready."""
        for component in ("customer-management-api", "customer-management-worker", "customer-facing"):
            self.start_component(component)
        for url in (self.api_url, self.worker_url, self.facing_url):
            self.processes["customer-facing"].wait_ready(lambda u=url: _ready(f"{u}/ready"), timeout=60)
        return self

    def stop(self) -> None:
        """Stop every component (SIGTERM, then SIGKILL)."""
        for process in self.processes.values():
            process.stop()

    def logs(self, name: str) -> list[dict[str, Any]]:
        """Return a component's JSON log lines."""
        lines = []
        for raw in self.processes[name].log_path.read_text(errors="replace").split("\n"):
            if raw.startswith("{"):
                lines.append(json.loads(raw))
        return lines


@dataclass
class LocalServer:
    """A server in front of the services, on its own free port and state directory."""

    root: Path
    services: Services
    port: int = field(default_factory=free_port)
    process: Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Prometheus(LocalServer):
    """Prometheus scraping the three services every second."""

    def start(self) -> Prometheus:
        s = self.services
        self.process = Process(
            "prometheus",
            [
                str(SCRIPTS / "run-prometheus.sh"),
                str(self.root / "prometheus"),
                str(self.port),
                f"127.0.0.1:{s.facing_port}",
                f"127.0.0.1:{s.api_port}",
                f"127.0.0.1:{s.worker_port}",
            ],
            self.root,
            {"PROMETHEUS_SCRAPE_INTERVAL": "1s"},
        ).start()
        self.process.wait_ready(lambda: _ready(f"{self.url}/-/ready"), timeout=60)
        return self

    def query(self, expr: str) -> list[dict[str, Any]]:
        """Run an instant query and return the result vector."""
        body = requests.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=5).json()
        assert body["status"] == "success", body
        result: list[dict[str, Any]] = body["data"]["result"]
        return result


@dataclass
class Frontend(LocalServer):
    """nginx serving the UI and proxying /api to customer-facing."""

    def start(self) -> Frontend:
        self.process = Process(
            "user-buy-frontend",
            [str(SCRIPTS / "run-frontend.sh"), str(self.root / "frontend"), str(self.port), self.services.facing_url],
            self.root,
        ).start()
        self.process.wait_ready(lambda: _ready(f"{self.url}/"), timeout=30)
        return self


@dataclass
class Stack:
    """A whole pipeline: Kafka, FerretDB and the three services."""

    kafka: Kafka
    mongo: Mongo
    services: Services

    @classmethod
    def start(cls, root: Path) -> Stack:
        kafka = Kafka(root)
        mongo = Mongo(root)
        stack = cls(kafka, mongo, Services(root, kafka, mongo))
        kafka.start()
        mongo.start()
        stack.services.start()
        return stack

    def stop(self) -> None:
        self.services.stop()
        for node in (self.kafka, self.mongo):
            if node.process is not None:
                node.process.stop()
