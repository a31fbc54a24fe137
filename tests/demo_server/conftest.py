"""Fixtures for the demo server tests: servers over real HTTP on 127.0.0.1, a signed-in
client, and a real Orthanc (tests/fixtures/orthanc.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from demo_server.server import RunningServer, start
from tests.demo_server.helpers import admin_client, api_client
from tests.fixtures.orthanc import orthanc  # noqa: F401 - re-exported fixture


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server shared by a module's read-only tests (3 cases, tiny CT)."""
    running = start(cases=3, seed=1, storage=tmp_path_factory.mktemp("srv"), ct_slices=4)
    yield running
    running.stop()


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[RunningServer]:
    """A server of its own for a test that changes state."""
    running = start(cases=3, seed=1, storage=tmp_path / "srv", ct_slices=4, unassigned=1)
    yield running
    running.stop()


@pytest.fixture
def api(server: RunningServer) -> Iterator[httpx.Client]:
    """A signed-in client of the shared server."""
    with api_client(server) as client:
        yield client


@pytest.fixture
def admin(server: RunningServer) -> Iterator[httpx.Client]:
    """The admin endpoint of the shared server; clears faults afterwards."""
    with admin_client(server) as client:
        yield client
        client.delete("/faults").raise_for_status()
