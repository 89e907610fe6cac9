"""The locustfile's answer checks, stage tables, persona mix and thresholds, without sending a request."""

from __future__ import annotations

import importlib.util
import os
from argparse import Namespace
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from loadtests.profiles import PERSONA_SET, PROFILES, Profile

pytestmark = pytest.mark.unit

LOCUSTFILE = Path(__file__).resolve().parents[2] / "loadtests" / "locustfile.py"
PURCHASE = {"username": "Load Tester", "userid": "load-1", "price": 12.5}


@pytest.fixture(scope="module")
def locustfile() -> ModuleType:
    """Import the locustfile as locust does (its directory on sys.path), without gevent patching this process.

    `import locust` monkey-patches the whole interpreter unless LOCUST_SKIP_MONKEY_PATCH is set; pytest runs every
    tier in one process, so the flag is set just for the import and removed again (the integration tier starts
    locust in its own process, where patching is wanted).
    """
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LOCUST_SKIP_MONKEY_PATCH", "1")
        mp.syspath_prepend(str(LOCUSTFILE.parent))
        spec = importlib.util.spec_from_file_location("locustfile", LOCUSTFILE)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    assert "LOCUST_SKIP_MONKEY_PATCH" not in os.environ
    return module


def created(**purchase: Any) -> dict[str, Any]:
    return {"message": "Purchase recorded", "purchase": {"id": "p-1", "timestamp": "t", **PURCHASE, **purchase}}


def test_a_201_with_the_purchase_sent_passes(locustfile: ModuleType) -> None:
    assert locustfile.check_purchase(201, created(), PURCHASE) is None


@pytest.mark.parametrize(
    ("status", "body", "problem"),
    [
        (503, {"error": "unavailable", "message": "…"}, "expected 201, got 503 (unavailable)"),
        (200, created(), "expected 201, got 200"),
        (201, None, "201 without a purchase object"),
        (201, {"message": "Purchase recorded"}, "201 without a purchase object"),
        (201, created(id=""), "201 without purchase.id"),
        (201, created(id=None), "201 without purchase.id"),
        (201, created(price=13), "purchase.price is 13, sent 12.5"),
        (201, created(userid="other"), "purchase.userid is 'other', sent 'load-1'"),
    ],
    ids=["503", "200", "not JSON", "no purchase", "empty id", "null id", "other price", "other user"],
)
def test_a_wrong_buy_answer_is_named(locustfile: ModuleType, status: int, body: Any, problem: str) -> None:
    assert locustfile.check_purchase(status, body, PURCHASE) == problem


def test_a_replay_must_carry_the_header_and_the_first_id(locustfile: ModuleType) -> None:
    replayed = {"Idempotent-Replayed": "true"}
    assert locustfile.check_replay(201, replayed, created(), PURCHASE, "p-1") is None
    assert "Idempotent-Replayed" in locustfile.check_replay(201, {}, created(), PURCHASE, "p-1")
    assert "first was p-0" in locustfile.check_replay(201, replayed, created(), PURCHASE, "p-0")
    assert locustfile.check_replay(409, replayed, {"error": "request_in_progress"}, PURCHASE, "p-1").startswith(
        "expected 201"
    )


@pytest.mark.parametrize(
    ("status", "body", "problem"),
    [
        (200, [], None),
        (200, [{"id": "a", "userid": "u"}, {"id": "b", "userid": "u"}], None),
        (200, {"purchases": []}, "expected a JSON array, got dict"),
        (200, None, "expected a JSON array, got NoneType"),
        (200, [{"userid": "u"}], "array item without an id"),
        (200, ["a"], "array item without an id"),
        (200, [{"id": "a", "userid": "v"}], "listed a purchase of 'v' for 'u'"),
        (503, {"error": "unavailable"}, "expected 200, got 503"),
    ],
    ids=["empty", "two", "object", "not JSON", "no id", "not objects", "other user", "503"],
)
def test_listing_must_be_an_array_of_this_users_purchases(
    locustfile: ModuleType, status: int, body: Any, problem: str | None
) -> None:
    assert locustfile.check_listing(status, body, "u") == problem


def test_json_or_none_tolerates_a_body_that_is_not_json(locustfile: ModuleType) -> None:
    class NotJson:
        def json(self) -> Any:
            raise ValueError("Expecting value")

    class Json:
        def json(self) -> Any:
            return [1]

    assert locustfile.json_or_none(NotJson()) is None
    assert locustfile.json_or_none(Json()) == [1]


def test_new_userids_are_valid_for_the_schema_and_distinct(locustfile: ModuleType) -> None:
    ids = {locustfile.new_userid() for _ in range(100)}
    assert len(ids) == 100
    assert all(len(i) <= 64 and i.replace("-", "").isalnum() for i in ids)


def shape_ticks(locustfile: ModuleType, profile: Profile, step: float = 0.5) -> list[tuple[float, Any]]:
    shape = locustfile.ProfileShape()
    shape.profile = profile
    ticks = []
    t = 0.0
    while t <= profile.duration_s + 2:
        shape.get_run_time = lambda t=t: t
        ticks.append((t, shape.tick()))
        t += step
    return ticks


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_each_profile_runs_its_stages_in_order_and_ends(locustfile: ModuleType, name: str) -> None:
    profile = PROFILES[name]
    ends = [s.until_s for s in profile.stages]
    assert ends == sorted(ends)
    assert len(set(ends)) == len(ends), "two stages end at the same time"
    assert all(s.users > 0 and s.spawn_rate > 0 for s in profile.stages)
    ticks = shape_ticks(locustfile, profile)
    running = [(t, tick) for t, tick in ticks if tick is not None]
    stopped = [t for t, tick in ticks if tick is None]
    assert stopped, "the shape never ends"
    assert min(stopped) == profile.duration_s
    assert max(t for t, _ in running) < profile.duration_s
    assert {tick for _, tick in running} == {(s.users, s.spawn_rate) for s in profile.stages}


def test_the_shape_follows_the_command_line_profile(locustfile: ModuleType) -> None:
    class Runner:
        environment = Namespace(parsed_options=Namespace(load_profile="spike"))

    shape = locustfile.ProfileShape()
    shape.runner = Runner()
    shape.get_run_time = lambda: 45.0
    spike = PROFILES["spike"].stage_at(45.0)
    assert spike is not None
    assert shape.tick() == (spike.users, spike.spawn_rate)


def test_smallest_run_has_every_persona(locustfile: ModuleType) -> None:
    from locust.dispatch import UsersDispatcher
    from locust.runners import WorkerNode

    classes = [locustfile.Buyer, locustfile.Reader, locustfile.BurstBuyer]
    dispatcher = UsersDispatcher(worker_nodes=[WorkerNode("local")], user_classes=classes)
    dispatcher.new_dispatch(target_user_count=PERSONA_SET, spawn_rate=PERSONA_SET)
    dispatched: dict[str, int] = {}
    for dispatch in dispatcher:
        dispatched = dispatch["local"]
    assert dispatched == {"Buyer": 3, "Reader": 5, "BurstBuyer": 1}


@pytest.mark.parametrize(
    ("requests", "ratio", "p95", "problems"),
    [
        (100, 0.0, 100, []),
        (100, 0.02, 100, ["failure ratio 2.00% > 1.00%"]),
        (100, 0.0, 1200, ["p95 1200 ms > 1000 ms"]),
        (0, 0.0, 0, ["no requests were made"]),
    ],
    ids=["within", "failures", "slow", "nothing sent"],
)
def test_threshold_problems(
    locustfile: ModuleType, requests: int, ratio: float, p95: float, problems: list[str]
) -> None:
    assert locustfile.threshold_problems(PROFILES["step"].thresholds, requests, ratio, p95) == problems


def environment(locustfile: ModuleType, profile: str) -> Any:
    from locust.env import Environment

    return Environment(user_classes=[locustfile.Buyer], parsed_options=Namespace(load_profile=profile))


def test_thresholds_set_the_exit_code(locustfile: ModuleType) -> None:
    env = environment(locustfile, "smoke")
    for _ in range(20):
        env.stats.log_request("GET", "/getAllUserBuys/[userid]", 12, 100)
    locustfile.apply_thresholds(env)
    assert env.process_exit_code == 0
    env.stats.log_request("POST", "/buy", 30, 100)
    env.stats.log_error("POST", "/buy", "expected 201, got 503")
    locustfile.apply_thresholds(env)
    assert env.process_exit_code == 1  # smoke allows no failure


def test_slow_answers_break_the_p95_threshold(locustfile: ModuleType) -> None:
    env = environment(locustfile, "smoke")
    for ms in [10] * 90 + [900] * 10:
        env.stats.log_request("GET", "/getAllUserBuys/[userid]", ms, 100)
    locustfile.apply_thresholds(env)
    assert env.process_exit_code == 1
