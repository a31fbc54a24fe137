"""Sync test fixtures (used here and by tests/integration/test_sync.py): a reference server
over real HTTP on 127.0.0.1 with its DICOM cache warmed (rendering is the server's cost,
not the sync's), a memory vault, and a session signed in through the real OAuth flow."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from demo_server.server import RunningServer, start
from reviewer_app.exchange import PlatformSession
from reviewer_app.vault import Vault
from tests.reviewer_app.sync.helpers import memory_vault, server_content, signed_in


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    """A server of its own (3 cases, tiny CT), cache warmed."""
    running = start(cases=3, seed=1, storage=tmp_path / "srv", ct_slices=4)
    server_content(running)
    yield running
    running.stop()


@pytest.fixture
def vault(tmp_path: Path) -> Iterator[Vault]:
    opened, _ = memory_vault(tmp_path / "profile")
    yield opened
    opened.close()


@pytest.fixture
def session(server: RunningServer) -> Iterator[PlatformSession]:
    with signed_in(server) as opened:
        yield opened
