"""Collect the chaos tables and print them in pytest's summary."""

from __future__ import annotations

import pytest

_REPORTS: list[str] = []


@pytest.fixture
def chaos_report() -> list[str]:
    return _REPORTS


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for table in _REPORTS:
        terminalreporter.write_sep("-", "chaos run")
        terminalreporter.write_line(table)
