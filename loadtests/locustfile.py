"""Locust personas for buylist: a buyer who buys then lists, a reader who only lists, a burst buyer.

Run it with `make load PROFILE=smoke` (loadtests/run.py), or directly:

    locust -f loadtests/locustfile.py --headless --load-profile smoke --host http://127.0.0.1:3000

Self-contained for the chart's ConfigMap: locust, the standard library and `profiles.py` beside this file.
The host comes from --host, else BUYLIST_LOAD_HOST, else the local platform's customer-facing.
"""

from __future__ import annotations

import logging
import os
import random
import uuid
from collections import deque
from typing import Any

from locust import HttpUser, LoadTestShape, between, events, task
from locust.env import Environment
from locust.runners import WorkerRunner
from profiles import PROFILES, Profile, Stage, Thresholds

log = logging.getLogger("buylist.load")

DEFAULT_HOST = "http://127.0.0.1:3000"
LIST_NAME = "/getAllUserBuys/[userid]"
PAGE_SIZE = 10

# User ids bought for in this process, so readers list users that have purchases; bounded so a soak stays flat.
KNOWN_USERIDS: deque[str] = deque(maxlen=1000)


def new_userid() -> str:
    """Return a user id of the load test's own, valid for the purchase schema."""
    return f"load-{uuid.uuid4().hex[:12]}"


def new_purchase(userid: str) -> dict[str, Any]:
    """Return a valid purchase body for `userid`."""
    return {"username": "Load Tester", "userid": userid, "price": round(random.uniform(1, 500), 2)}  # noqa: S311 - test data


def check_purchase(status: int, body: Any, sent: dict[str, Any]) -> str | None:
    """Return why a POST /buy answer is wrong, or None when it is a 201 carrying the purchase sent."""
    if status != 201:
        code = body.get("error") if isinstance(body, dict) else None
        return f"expected 201, got {status}" + (f" ({code})" if code else "")
    purchase = body.get("purchase") if isinstance(body, dict) else None
    if not isinstance(purchase, dict):
        return "201 without a purchase object"
    if not isinstance(purchase.get("id"), str) or not purchase["id"]:
        return "201 without purchase.id"
    for field in ("userid", "username", "price"):
        if purchase.get(field) != sent[field]:
            return f"purchase.{field} is {purchase.get(field)!r}, sent {sent[field]!r}"
    return None


def check_replay(status: int, headers: dict[str, str], body: Any, sent: dict[str, Any], first_id: str) -> str | None:
    """Return why a repeated Idempotency-Key answer is wrong, or None when it replays the first purchase."""
    problem = check_purchase(status, body, sent)
    if problem:
        return problem
    if headers.get("Idempotent-Replayed") != "true":
        return "repeated Idempotency-Key without Idempotent-Replayed: true"
    if body["purchase"]["id"] != first_id:
        return f"repeated Idempotency-Key gave purchase {body['purchase']['id']}, first was {first_id}"
    return None


def check_listing(status: int, body: Any, userid: str) -> str | None:
    """Return why a GET /getAllUserBuys answer is wrong, or None when it is a JSON array of this user's purchases."""
    if status != 200:
        return f"expected 200, got {status}"
    if not isinstance(body, list):
        return f"expected a JSON array, got {type(body).__name__}"
    for item in body:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            return "array item without an id"
        if item.get("userid") != userid:
            return f"listed a purchase of {item.get('userid')!r} for {userid!r}"
    return None


def json_or_none(response: Any) -> Any:
    """Return the response's JSON, or None when the body is not JSON."""
    try:
        return response.json()
    except ValueError:
        return None


class BuylistUser(HttpUser):
    """What every persona shares: the host and the two calls with their checks."""

    abstract = True
    host = os.environ.get("BUYLIST_LOAD_HOST", DEFAULT_HOST)

    def buy(self, userid: str, key: str | None = None, name: str = "/buy") -> tuple[dict[str, Any], str | None]:
        """POST a purchase (under `key` when given); return the body sent and the purchase id, None if it failed."""
        sent = new_purchase(userid)
        headers = {"Idempotency-Key": key} if key else {}
        with self.client.post("/buy", json=sent, headers=headers, name=name, catch_response=True) as response:
            body = json_or_none(response)
            problem = check_purchase(response.status_code, body, sent)
            if problem:
                response.failure(problem)
                return sent, None
            response.success()
            KNOWN_USERIDS.append(userid)
            return sent, str(body["purchase"]["id"])

    def list_purchases(self, userid: str, cursor: str | None = None) -> str | None:
        """GET one page of a user's purchases and check it; return the next page's cursor."""
        params: dict[str, Any] = {"limit": PAGE_SIZE}
        if cursor:
            params["cursor"] = cursor
        name = f"{LIST_NAME}?cursor" if cursor else LIST_NAME
        with self.client.get(f"/getAllUserBuys/{userid}", params=params, name=name, catch_response=True) as response:
            problem = check_listing(response.status_code, json_or_none(response), userid)
            if problem:
                response.failure(problem)
                return None
            response.success()
            cursor = response.headers.get("X-Next-Cursor")
            return str(cursor) if cursor else None


class Buyer(BuylistUser):
    """Buys, then looks at what they bought; every purchase carries its own Idempotency-Key."""

    weight = 3
    wait_time = between(0.5, 2.0)

    def on_start(self) -> None:
        self.userid = new_userid()

    @task(3)
    def buy_then_list(self) -> None:
        self.buy(self.userid, key=str(uuid.uuid4()))
        self.list_purchases(self.userid)

    @task(1)
    def list_mine(self) -> None:
        self.list_purchases(self.userid)


class Reader(BuylistUser):
    """Only lists: users the buyers created (paging on when there is more), sometimes a user with no purchases."""

    weight = 5
    wait_time = between(0.2, 1.0)

    @task(4)
    def list_known_user(self) -> None:
        userid = random.choice(KNOWN_USERIDS) if KNOWN_USERIDS else new_userid()  # noqa: S311 - test data
        cursor = self.list_purchases(userid)
        if cursor and random.random() < 0.5:  # noqa: S311 - test data
            self.list_purchases(userid, cursor)

    @task(1)
    def list_unknown_user(self) -> None:
        self.list_purchases(new_userid())


class BurstBuyer(BuylistUser):
    """Buys five times in a row without pausing, repeats one Idempotency-Key once, then rests."""

    weight = 1
    wait_time = between(3.0, 6.0)
    burst = 5

    def on_start(self) -> None:
        self.userid = new_userid()

    @task
    def burst_of_buys(self) -> None:
        for _ in range(self.burst):
            self.buy(self.userid, key=str(uuid.uuid4()))
        self.replay_once()

    def replay_once(self) -> None:
        """Buy under a key, send the same request again and expect the first purchase back."""
        key = str(uuid.uuid4())
        sent, first_id = self.buy(self.userid, key=key)
        if first_id is None:
            return
        with self.client.post(
            "/buy", json=sent, headers={"Idempotency-Key": key}, name="/buy (replay)", catch_response=True
        ) as response:
            problem = check_replay(response.status_code, dict(response.headers), json_or_none(response), sent, first_id)
            if problem:
                response.failure(problem)
            else:
                response.success()


@events.init_command_line_parser.add_listener
def add_profile_option(parser: Any) -> None:
    """Add --load-profile (env LOCUST_LOAD_PROFILE); locust's own --profile means something else."""
    parser.add_argument(
        "--load-profile",
        choices=sorted(PROFILES),
        default="smoke",
        env_var="LOCUST_LOAD_PROFILE",
        help="stage table and thresholds from loadtests/profiles.py",
    )


def selected_profile(environment: Environment) -> Profile:
    """Return the profile --load-profile names (smoke when locust runs without parsed options)."""
    options = environment.parsed_options
    return PROFILES[getattr(options, "load_profile", None) or "smoke"]


class ProfileShape(LoadTestShape):
    """Follow the selected profile's stage table; stop when it ends."""

    profile: Profile | None = None

    def current_profile(self) -> Profile:
        """Return the profile set on the shape, else the one the command line selects."""
        if self.profile is not None:
            return self.profile
        assert self.runner is not None
        return selected_profile(self.runner.environment)

    def tick(self) -> tuple[int, float] | None:
        stage: Stage | None = self.current_profile().stage_at(self.get_run_time())
        if stage is None:
            return None
        return stage.users, stage.spawn_rate


def threshold_problems(thresholds: Thresholds, requests: int, failure_ratio: float, p95_ms: float) -> list[str]:
    """Return each threshold the run broke, empty when it passed."""
    problems = []
    if requests == 0:
        problems.append("no requests were made")
    if failure_ratio > thresholds.max_failure_ratio:
        problems.append(f"failure ratio {failure_ratio:.2%} > {thresholds.max_failure_ratio:.2%}")
    if p95_ms > thresholds.max_p95_ms:
        problems.append(f"p95 {p95_ms:.0f} ms > {thresholds.max_p95_ms:.0f} ms")
    return problems


@events.quitting.add_listener
def apply_thresholds(environment: Environment, **_kwargs: Any) -> None:
    """Set the exit code from the profile's thresholds: 0 within them, 1 otherwise."""
    if isinstance(environment.runner, WorkerRunner):
        return  # only the master (or a local runner) holds the aggregated statistics
    profile = selected_profile(environment)
    total = environment.stats.total
    p95 = total.get_response_time_percentile(0.95) if total.num_requests else 0
    problems = threshold_problems(profile.thresholds, total.num_requests, total.fail_ratio, p95)
    for problem in problems:
        log.error("threshold broken (%s): %s", profile.name, problem)
    if not problems:
        log.info("thresholds of %s met: failure ratio %.2f%%, p95 %d ms", profile.name, total.fail_ratio * 100, p95)
    environment.process_exit_code = 1 if problems else 0
