"""Session fixtures that start real components on free ports, never touching a `make up` instance."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.stack import Frontend, Prometheus, Stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Kafka, FerretDB and the three services shared by the tests that do not break them."""
    root: Path = tmp_path_factory.mktemp("stack")
    started = Stack.start(root)
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="session")
def prometheus(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    """Prometheus scraping the shared stack every second."""
    node = Prometheus(tmp_path_factory.mktemp("prometheus"), stack.services).start()
    try:
        yield node
    finally:
        assert node.process is not None
        node.process.stop()


@pytest.fixture(scope="session")
def frontend_url(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The UI, served by nginx and proxying /api to the shared stack's customer-facing."""
    node = Frontend(tmp_path_factory.mktemp("frontend"), stack.services).start()
    try:
        yield node.url
    finally:
        assert node.process is not None
        node.process.stop()
