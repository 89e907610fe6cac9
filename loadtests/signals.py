"""The live signals a load run samples: Prometheus queries, the consumer group's offsets, process CPU from /proc."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
import yaml
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from loadtests.scale_preview import PartitionOffsets

# Produced minus what the worker finished (stored or dead-lettered; a duplicate was finished before).
LAG_PROXY_QUERY = 'sum(kafka_producer_messages_total) - sum(kafka_messages_processed_total{outcome!="duplicate"})'
# The two counters are scraped at different instants, so over time the difference jitters by about rate x scrape
# interval and can dip below zero; the chart clamps it at 0, the end-of-run cross-check reads it unclamped.
LAG_PROXY_SERIES = f"clamp_min({LAG_PROXY_QUERY}, 0)"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


class Prometheus:
    """The few Prometheus HTTP API calls a run needs."""

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()

    def _get(self, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        body = self.session.get(f"{self.url}{path}", params=params, timeout=self.timeout).json()
        if body.get("status") != "success":
            raise RuntimeError(f"Prometheus {path} {params.get('query')!r}: {body.get('error', body)}")
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def query(self, expr: str) -> list[dict[str, Any]]:
        """Return an instant vector."""
        return self._get("/api/v1/query", {"query": expr})

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
        """Return a range matrix."""
        return self._get("/api/v1/query_range", {"query": expr, "start": start, "end": end, "step": step})

    def by_job(self, expr: str) -> dict[str, float]:
        """Return an instant query's value per `job` label."""
        return {r["metric"].get("job", ""): float(r["value"][1]) for r in self.query(expr)}

    def series(self, expr: str, start: float, end: float, step: float = 1.0) -> list[tuple[float, float]]:
        """Return the single series of a range query as (unix time, value), empty when there is none."""
        result = self.query_range(expr, start, end, step)
        return [(float(t), float(v)) for t, v in result[0]["values"]] if result else []

    def target_ports(self) -> dict[str, int]:
        """Return the port of each job's static target on this machine, read from Prometheus's loaded config.

        The config, not /api/v1/targets: target discovery publishes its first targets seconds after start.
        """
        body = self.session.get(f"{self.url}/api/v1/status/config", timeout=self.timeout).json()
        config = yaml.safe_load(body["data"]["yaml"]) or {}
        ports: dict[str, int] = {}
        for job in config.get("scrape_configs") or []:
            for static in job.get("static_configs") or []:
                for target in static.get("targets") or []:
                    split = urlsplit(f"//{target}")
                    if split.hostname in LOCAL_HOSTS and split.port:
                        ports[job["job_name"]] = split.port
        return ports


@dataclass
class GroupOffsets:
    """Reads a consumer group's committed offsets and the topic's end offsets, as KEDA's kafka scaler does."""

    bootstrap: str
    topic: str
    group: str
    admin: KafkaAdminClient = field(init=False)
    consumer: KafkaConsumer = field(init=False)
    partitions: list[TopicPartition] = field(init=False)

    def __post_init__(self) -> None:
        self.admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=5000)
        self.consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None, enable_auto_commit=False)
        ids = self.consumer.partitions_for_topic(self.topic) or set()
        if not ids:
            raise RuntimeError(f"topic {self.topic} has no partitions on {self.bootstrap}")
        self.partitions = [TopicPartition(self.topic, p) for p in sorted(ids)]

    def read(self) -> dict[int, PartitionOffsets]:
        """Return each partition's committed offset (None if the group never committed one) and end offset."""
        committed = self.admin.list_group_offsets(self.group).get(self.group, {})
        ends = self.consumer.end_offsets(self.partitions)
        result = {}
        for tp in self.partitions:
            meta = committed.get(tp)
            offset = meta.offset if meta is not None and meta.offset >= 0 else None
            result[tp.partition] = PartitionOffsets(committed=offset, end=int(ends[tp]))
        return result

    def lag(self) -> int:
        """Return the group's total lag over the topic (never-committed partitions count from offset 0)."""
        return sum(o.end - (o.committed or 0) for o in self.read().values())

    def close(self) -> None:
        """Close both clients."""
        self.admin.close()
        self.consumer.close()


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            # State 0A is LISTEN; the port is the hex after the colon.
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                inodes.add(inode)
    return inodes


def pids_listening(port: int) -> set[int]:
    """Return the processes holding a listening socket on `port` (a gunicorn master and all its workers)."""
    inodes = _listening_inodes(port)
    pids = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                target = os.readlink(fd)
                match = re.fullmatch(r"socket:\[(\d+)\]", target)
                if match and match.group(1) in inodes:
                    pids.add(int(proc.name))
                    break
        except OSError:
            continue  # gone, or not ours to read
    return pids


def cpu_seconds(pids: set[int]) -> float:
    """Return the user+system CPU seconds the processes have used so far (exited ones count nothing)."""
    total = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        # Fields after the parenthesised command; utime and stime are fields 14 and 15.
        fields = stat.rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS
