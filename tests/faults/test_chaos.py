"""Repeated, overlapping faults under continuous load: every accepted purchase is stored exactly once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.chaos import run_chaos
from tests.support.stack import Stack

pytestmark = pytest.mark.faults


@pytest.fixture
def private(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = Stack.start(tmp_path_factory.mktemp("chaos"))
    try:
        yield stack
    finally:
        stack.stop()


def test_kills_of_worker_broker_store_and_gunicorn_lose_and_duplicate_nothing(private: Stack, chaos_report):
    outcome = run_chaos(private, scale=1)
    chaos_report.append(outcome.table())
    assert outcome.accepted >= 1800
    assert len(outcome.faults) == 5
    assert outcome.lost == 0, outcome.table()
    assert outcome.duplicated == 0, outcome.table()
    assert outcome.stored == outcome.accepted, outcome.table()
