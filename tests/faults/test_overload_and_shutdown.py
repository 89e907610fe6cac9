"""A stalled broker, SIGTERM under load, and two workers sharing the partitions."""

from __future__ import annotations

import signal
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from kafka import KafkaAdminClient

from tests.integration.helpers import buy, new_userid, wait_listed
from tests.support.chaos import Load
from tests.support.processes import free_port, wait_until
from tests.support.stack import Stack

pytestmark = pytest.mark.faults


@pytest.fixture(scope="module")
def private(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = Stack.start(tmp_path_factory.mktemp("overload"))
    try:
        yield stack
    finally:
        stack.stop()


def timed_buy(base: str, userid: str) -> tuple[int, float, str | None]:
    started = time.monotonic()
    response = buy(base, userid, timeout=15)
    return response.status_code, time.monotonic() - started, response.headers.get("Retry-After")


def test_a_stalled_broker_gets_bounded_503s_not_a_pile_up(private: Stack):
    s, kafka = private.services, private.kafka
    userid = new_userid("stall")
    assert buy(s.facing_url, userid).status_code == 201
    assert kafka.process is not None
    kafka.process.signal(signal.SIGSTOP)  # alive but silent: connections open, nothing answers
    try:
        with ThreadPoolExecutor(20) as pool:
            results = list(pool.map(lambda _: timed_buy(s.facing_url, userid), range(60)))
        statuses = {status for status, _, _ in results}
        slowest = max(seconds for _, seconds, _ in results)
        assert statuses == {503}, results
        assert all(retry_after for _, _, retry_after in results)
        # The publish budget (2.5 s) plus the guard: nobody waits behind the others.
        assert slowest < 4.5, f"slowest 503 took {slowest:.2f}s"
        wait_until(lambda: requests.get(f"{s.facing_url}/ready", timeout=5).status_code == 503, 15, what="unready")
    finally:
        kafka.process.signal(signal.SIGCONT)
    resumed = time.monotonic()
    streak = 0

    def recovered() -> bool:
        # Both gunicorn workers must be back: twenty acceptances in a row, not one lucky one.
        nonlocal streak
        streak = streak + 1 if buy(s.facing_url, userid).status_code == 201 else 0
        return streak >= 20

    wait_until(recovered, 60, interval=0.1, what="twenty purchases in a row accepted after the stall")
    print(f"recovered {time.monotonic() - resumed:.1f}s after SIGCONT")
    wait_until(lambda: requests.get(f"{s.facing_url}/ready", timeout=5).status_code == 200, 30, what="ready")


def test_sigterm_under_load_finishes_in_flight_requests_and_loses_nothing(private: Stack):
    s = private.services
    userid = new_userid("drain")
    statuses: list[int] = []
    accepted: list[str] = []
    stop = threading.Event()

    def client() -> None:
        while not stop.is_set():
            try:
                # A new connection per request, as a load balancer's would be.
                response = requests.post(
                    f"{s.facing_url}/buy",
                    json={"username": "drain", "userid": userid, "price": 2},
                    headers={"Connection": "close"},
                    timeout=10,
                )
            except requests.ConnectionError:
                time.sleep(0.05)  # the listener is gone: what a client sees during a rollout
                continue
            statuses.append(response.status_code)
            if response.status_code == 201:
                accepted.append(response.json()["purchase"]["id"])

    threads = [threading.Thread(target=client) for _ in range(8)]
    for t in threads:
        t.start()
    try:
        wait_until(lambda: len(accepted) >= 100, 60, what="load running")
        facing = s.processes["customer-facing"]
        facing.signal(signal.SIGTERM)
        assert facing.popen is not None
        assert facing.popen.wait(30) == 0
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert [code for code in statuses if code >= 500] == []
    assert set(statuses) == {201}
    s.start_component("customer-facing")
    listed = wait_listed(s.facing_url, userid, len(accepted), timeout=60)
    assert sorted(p["id"] for p in listed) == sorted(accepted)


def group_members(bootstrap: str) -> list[dict]:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    try:
        return admin.describe_groups(["purchase-group"])["purchase-group"]["members"]
    finally:
        admin.close()


def test_two_workers_share_partitions_and_killing_one_loses_and_duplicates_nothing(private: Stack):
    s = private.services
    second = s.start_component("customer-management-worker", name="worker-2", port=free_port())
    wait_until(lambda: len(group_members(private.kafka.bootstrap)) == 2, 60, what="two members in the group")
    userid = f"rebalance-{uuid.uuid4().hex[:8]}"
    load = Load(s.facing_url, userid, threads=6).start()
    try:
        load.wait_for(300)
        second.kill()
        load.wait_for(900)
    finally:
        load.stop()
    wait_until(lambda: len(group_members(private.kafka.bootstrap)) == 1, 60, what="the dead member expired")
    accepted = dict(load.accepted)
    docs = wait_until(
        lambda: (d := private.mongo.purchases(s.database, userid=userid)) and len(d) >= len(accepted) and d,
        90,
        interval=1,
        what="all accepted purchases stored",
    )
    by_key: dict[str, list[str]] = {}
    for doc in docs:  # type: ignore[union-attr]
        by_key.setdefault(doc["username"], []).append(doc["_id"])
    assert {key: ids for key, ids in by_key.items() if len(ids) > 1} == {}, "duplicated"
    assert [key for key in accepted if key not in by_key] == [], "lost"
    assert all(by_key[key] == [pid] for key, pid in accepted.items())


def test_sigterm_while_kafka_is_down_exits_promptly(private: Stack):
    """A broker that is gone must not keep a stopping customer-facing alive: its workers hold producers to it."""
    s, kafka = private.services, private.kafka
    userid = new_userid("down-term")
    assert buy(s.facing_url, userid).status_code == 201  # each answering worker now holds a connected producer
    assert kafka.process is not None
    kafka.process.kill()
    facing = s.processes["customer-facing"]
    try:
        # No request in between: the workers still hold producers connected to a broker that is gone.
        started = time.monotonic()
        facing.signal(signal.SIGTERM)
        assert facing.popen is not None
        # worker_exit waits at most 5 s for the producer to flush; gunicorn's graceful timeout is 20 s.
        assert facing.popen.wait(15) == 0
        print(f"customer-facing exited {time.monotonic() - started:.1f}s after SIGTERM with Kafka down")
    finally:
        kafka.start()
        if not facing.running():
            s.start_component("customer-facing")
    wait_until(lambda: buy(s.facing_url, userid).status_code == 201, 60, interval=0.5, what="accepted again")
