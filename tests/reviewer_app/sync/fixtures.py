"""Sync test fixtures (used here and by tests/integration/test_sync.py): a reference server
over real HTTP on 127.0.0.1 with its DICOM cache warmed (rendering is the server's cost,
not the sync's), a memory vault, and a session signed in through the real OAuth flow."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from demo_server.server import RunningServer, start
from reviewer_app.exchange import PlatformSession
from reviewer_app.vault import Vault
from tests.reviewer_app.sync.helpers import memory_vault, server_content, signed_in


@pytest.fixture(scope="session")
def warmed_storage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A server storage with 3 cases whose DICOM instances are already rendered."""
    storage = tmp_path_factory.mktemp("warm-srv")
    running = start(cases=3, seed=1, storage=storage, ct_slices=4)
    server_content(running)
    running.stop()
    return storage


@pytest.fixture
def server(warmed_storage: Path, tmp_path: Path) -> Iterator[RunningServer]:
    """A server of its own (3 cases, tiny CT) from a copy of the warmed storage."""
    storage = tmp_path / "srv"
    shutil.copytree(warmed_storage, storage)
    running = start(cases=3, seed=1, storage=storage, ct_slices=4)
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
