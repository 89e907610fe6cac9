"""The circuit breaker fails fast after a failure and lets one trial through after the cooldown."""

import pytest

from buylist.customer_facing.circuit import CircuitBreaker

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_closed_until_a_failure_then_open_for_the_cooldown():
    clock = Clock()
    breaker = CircuitBreaker(2.0, clock)
    assert breaker.allow()
    assert not breaker.is_open
    breaker.failed()
    assert breaker.is_open
    assert not breaker.allow()
    clock.now += 1.9
    assert not breaker.allow()


def test_after_the_cooldown_exactly_one_trial_goes_through():
    clock = Clock()
    breaker = CircuitBreaker(2.0, clock)
    breaker.failed()
    clock.now += 2.0
    assert breaker.allow()
    assert not breaker.allow()  # a second caller waits for the trial's outcome
    assert breaker.is_open


def test_a_successful_trial_closes_and_a_failed_one_reopens():
    clock = Clock()
    breaker = CircuitBreaker(2.0, clock)
    breaker.failed()
    clock.now += 2.0
    assert breaker.allow()
    breaker.failed()
    assert not breaker.allow()
    clock.now += 2.0
    assert breaker.allow()
    breaker.succeeded()
    assert not breaker.is_open
    assert breaker.allow()
    assert breaker.allow()


def test_cooling_down_covers_the_cooldown_but_not_the_trial():
    clock = Clock()
    breaker = CircuitBreaker(2.0, clock)
    assert not breaker.cooling_down
    breaker.failed()
    assert breaker.cooling_down
    clock.now += 2.0
    assert not breaker.cooling_down
    assert breaker.allow()
