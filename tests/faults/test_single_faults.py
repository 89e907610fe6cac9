"""Single faults against a private stack: a killed worker, a stopped broker, a stopped document store."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator

import pytest
import requests
from kafka import KafkaAdminClient

from tests.integration.helpers import buy, new_userid, wait_listed
from tests.support.processes import wait_until
from tests.support.stack import Stack

pytestmark = pytest.mark.faults


@pytest.fixture(scope="module")
def private(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack of its own, so breaking it never disturbs the shared one."""
    stack = Stack.start(tmp_path_factory.mktemp("faults"))
    try:
        yield stack
    finally:
        stack.stop()


def ready(url: str) -> int:
    return requests.get(f"{url}/ready", timeout=5).status_code


def test_worker_killed_mid_stream_loses_and_duplicates_nothing(private: Stack):
    s = private.services
    userid = new_userid("kill")
    accepted: list[str] = []
    stop = threading.Event()

    def load() -> None:
        price = 1
        while not stop.is_set():
            response = buy(s.facing_url, userid, price=price)
            if response.status_code == 201:
                accepted.append(response.json()["purchase"]["id"])
            price += 1

    threads = [threading.Thread(target=load) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        wait_until(lambda: len(accepted) >= 100, 60, what="100 purchases accepted before the kill")
        s.processes["customer-management-worker"].kill()
        wait_until(lambda: len(accepted) >= 250, 60, what="purchases accepted while the worker is dead")
        s.start_component("customer-management-worker")
        wait_until(lambda: len(accepted) >= 400, 60, what="purchases accepted after the restart")
    finally:
        stop.set()
        for t in threads:
            t.join()

    listed = wait_listed(s.facing_url, userid, len(accepted), timeout=60)
    stored = private.mongo.purchases(s.database, userid=userid)
    stored_ids = [doc["_id"] for doc in stored]
    assert len(stored_ids) == len(set(stored_ids)), "a purchase was stored twice"
    assert set(stored_ids) == set(accepted), "accepted and stored purchases differ"
    assert sorted(p["id"] for p in listed) == sorted(accepted)


def test_kafka_down_gives_fast_503_and_recovers_without_a_restart(private: Stack):
    s, kafka = private.services, private.kafka
    userid = new_userid("kafka")
    assert buy(s.facing_url, userid).status_code == 201
    assert kafka.process is not None
    kafka.process.kill()
    try:
        for _ in range(3):
            started = time.monotonic()
            response = buy(s.facing_url, userid, timeout=10)
            elapsed = time.monotonic() - started
            assert response.status_code == 503, response.text
            assert elapsed < 3.0, f"503 took {elapsed:.2f}s"
            assert response.headers.get("Retry-After")
            assert response.json()["error"] == "unavailable"
        wait_until(lambda: ready(s.facing_url) == 503, 10, what="customer-facing reports not ready")
    finally:
        kafka.start()

    def accepted_again() -> bool:
        return buy(s.facing_url, userid).status_code == 201

    wait_until(accepted_again, 60, interval=0.5, what="POST /buy accepted again after Kafka returned")
    wait_until(lambda: ready(s.facing_url) == 200, 30, what="customer-facing ready again")
    for process in s.processes.values():
        assert process.running(), f"{process.name} died during the Kafka outage"
    # The first purchase and the one after recovery; none of the refused ones.
    assert len(wait_listed(s.facing_url, userid, 2)) == 2


def test_store_down_commits_nothing_and_the_worker_catches_up(private: Stack):
    s, mongo, kafka = private.services, private.mongo, private.kafka
    userid = new_userid("mongo")
    assert buy(s.facing_url, userid).status_code == 201
    wait_listed(s.facing_url, userid, 1)
    wait_until(lambda: sum(kafka.committed_offsets().values()) > 0, 10, what="offsets committed")
    assert mongo.process is not None
    mongo.process.signal(signal.SIGKILL)
    mongo.process.popen.wait(10)  # type: ignore[union-attr]
    try:
        committed_before = kafka.committed_offsets()
        ids = [buy(s.facing_url, userid, price=p).json()["purchase"]["id"] for p in (2, 3, 4, 5, 6)]
        wait_until(lambda: ready(s.worker_url) == 503, 20, what="worker reports not ready")
        wait_until(lambda: ready(s.api_url) == 503, 20, what="API reports not ready")
        time.sleep(3)  # several retry rounds of the worker
        assert kafka.committed_offsets() == committed_before, "the worker committed while MongoDB was down"
        response = requests.get(f"{s.facing_url}/getAllUserBuys/{userid}", timeout=10)
        assert response.status_code == 503
    finally:
        mongo.start()

    stored = wait_listed(s.facing_url, userid, 6, timeout=60)
    assert {p["id"] for p in stored} >= set(ids)
    wait_until(lambda: ready(s.worker_url) == 200, 20, what="worker ready again")
    assert sum(kafka.committed_offsets().values()) == sum(committed_before.values()) + 5
    assert s.processes["customer-management-worker"].running()


def test_sigterm_finishes_commits_and_leaves_the_group(private: Stack):
    s, kafka = private.services, private.kafka
    userid = new_userid("term")
    for price in range(1, 21):
        assert buy(s.facing_url, userid, price=price).status_code == 201
    worker = s.processes["customer-management-worker"]
    worker.signal(signal.SIGTERM)
    assert worker.popen is not None
    assert worker.popen.wait(20) == 0
    messages = [line.get("message") for line in s.logs("customer-management-worker")]
    assert "worker stopping: leaving the group" in messages
    assert messages[-1] == "worker stopped"

    admin = KafkaAdminClient(bootstrap_servers=kafka.bootstrap, request_timeout_ms=5000)
    try:
        group = admin.describe_groups(["purchase-group"])["purchase-group"]
    finally:
        admin.close()
    # Left, not timed out: no member lingers for the session timeout.
    assert group["members"] == []
    # Whatever it stored it committed: a new worker finds the rest and stores each purchase once.
    s.start_component("customer-management-worker")
    assert len(wait_listed(s.facing_url, userid, 20)) == 20
    assert len(private.mongo.purchases(s.database, userid=userid)) == 20
